"""Kafka topics of the hub: names ``<domain>.<entity>.v<major>``, partitions and configs."""

from __future__ import annotations

from dataclasses import dataclass, field

from borderhub.settings import Settings

CROSSINGS = "poe.crossings.v1"
SEIZURES = "poe.seizures.v1"
BIOMETRICS = "poe.biometrics.v1"
WATCHLIST = "watchlist.entries.v1"
ALERTS = "hub.alerts.v1"
DEADLETTER = "hub.deadletter.v1"
LINKS = "hub.links.v1"

# Event kind (URL path and record short name) -> topic.
EVENT_TOPICS = {"crossings": CROSSINGS, "seizures": SEIZURES, "biometrics": BIOMETRICS}

_WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    events = settings.topic_partitions
    # With replicas, acks=all waits for at least two copies; with one broker, one is all there is.
    durable = {"min.insync.replicas": str(min(2, settings.topic_replication)), "compression.type": "producer"}
    return [
        # Events are kept 30 days so retro-hunts can replay them from Kafka.
        TopicSpec(CROSSINGS, events, {**durable, "retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(SEIZURES, max(1, events // 2), {**durable, "retention.ms": str(365 * 24 * 3600 * 1000)}),
        TopicSpec(BIOMETRICS, events, {**durable, "retention.ms": str(30 * 24 * 3600 * 1000),
                                       "max.message.bytes": str(2 * 1024 * 1024)}),
        # Latest value per entry id; a tombstone deletes, and is itself dropped after a day.
        TopicSpec(WATCHLIST, max(1, events // 2), {**durable, "cleanup.policy": "compact",
                                                   "delete.retention.ms": str(24 * 3600 * 1000),
                                                   "min.cleanable.dirty.ratio": "0.1",
                                                   "max.message.bytes": str(4 * 1024 * 1024)}),
        TopicSpec(ALERTS, max(1, events // 2), {**durable, "retention.ms": str(365 * 24 * 3600 * 1000)}),
        # Edges for the link graph; workers rebuild their graph from the last 30 days.
        TopicSpec(LINKS, events, {**durable, "retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(DEADLETTER, 1, {**durable, "retention.ms": str(90 * 24 * 3600 * 1000),
                                  "max.message.bytes": str(40 * 1024 * 1024)}),
    ]


def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics; returns the names created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="borderhub-topics")
    try:
        existing = set(admin.list_topics())
        missing = [s for s in topic_specs(settings) if s.name not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(s.name, s.partitions, settings.topic_replication, topic_configs=s.configs)
                                     for s in missing])
            except TopicAlreadyExistsError:  # another process created them meanwhile
                pass
        return [s.name for s in missing]
    finally:
        admin.close()
