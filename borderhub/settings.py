"""Settings, read from environment variables (prefix ``BORDERHUB_``) with defaults that work
on the local stack. One settings class; each service reads the part it needs."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent


def _default_state_dir() -> Path:
    # In a checkout the state lives beside the code (ignored by git); installed elsewhere, in
    # the user's state directory.
    if (SOURCE_ROOT / "pyproject.toml").exists():
        return SOURCE_ROOT / "state"
    return Path.home() / ".local" / "state" / "borderhub"


def _default_schemas_dir() -> Path:
    for candidate in (SOURCE_ROOT / "schemas", Path("/app/schemas")):
        if candidate.is_dir():
            return candidate
    return SOURCE_ROOT / "schemas"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BORDERHUB_", extra="ignore")

    state_dir: Path = Field(default_factory=_default_state_dir, description="Data, logs, pid files and API keys.")
    schemas_dir: Path = Field(default_factory=_default_schemas_dir, description="Directory of the Avro schemas.")

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers, comma separated.")
    es_url: str = Field("http://localhost:9200", description="Elasticsearch URL.")
    schema_registry_url: str | None = Field(
        None, description="Confluent-compatible schema registry; when set, producers use Confluent framing.")

    # Local JVM stack (borderhub stack up)
    kafka_port: int = Field(9092, description="Port of the local Kafka broker.")
    kafka_controller_port: int = Field(9093, description="Port of the local KRaft controller.")
    kafka_heap: str = Field("1g", description="Heap of the local Kafka JVM.")
    es_port: int = Field(9200, description="HTTP port of the local Elasticsearch.")
    es_transport_port: int = Field(9300, description="Transport port of the local Elasticsearch.")
    es_heap: str = Field("1g", description="Heap of the local Elasticsearch JVM.")
    es_run_user: str = Field("borderhub", description="Unprivileged user that runs Elasticsearch when started as root.")
    java_home: Path | None = Field(None, description="JDK used for Kafka and Elasticsearch (default: java on PATH).")
    stack_start_timeout: float = Field(180.0, description="Seconds to wait for Kafka and Elasticsearch to answer.")

    # Topics
    topic_partitions: int = Field(6, description="Partitions of the event topics (bounds worker parallelism).")
    topic_replication: int = Field(1, description="Replicas per partition (3 on a production cluster).")

    # Ingest gateway
    ingest_host: str = Field("127.0.0.1", description="Bind address of the ingest gateway.")
    ingest_port: int = Field(8081, description="Port of the ingest gateway.")
    ingest_max_body_bytes: int = Field(32 * 1024 * 1024, description="Largest request body accepted.")
    ingest_max_batch_records: int = Field(20_000, description="Most records in one batch request.")
    ingest_produce_timeout: float = Field(30.0, description="Seconds to wait for Kafka to acknowledge a write.")

    # Correlation workers
    correlate_offset_reset: str = Field("earliest", description="Where a new worker group starts: earliest or latest.")
    correlate_app_id: str = Field(
        "borderhub-correlate", description="Consumer group of the workers on the event topics; their rules run as the "
                                           "faust app (and group) <id>-rules.")
    correlate_watchlist_topic: str = Field(
        "watchlist.entries.v1", description="Compacted topic a worker loads its watchlist from (another for a "
                                            "staging list or the stream bench's million entries).")
    correlate_flood_window: int = Field(1000, description="Records watched by the dead-letter flood guard.")
    correlate_flood_ratio: float = Field(0.5, description="Share of dead letters in the window that stops a worker.")
    correlate_flood_min: int = Field(200, description="Fewest dead letters in the window before the guard may trip.")
    correlate_batch_size: int = Field(500, description="Most event records a worker takes (and matches) at once.")
    correlate_batch_wait: float = Field(
        0.05, description="Seconds a worker waits for records when none are buffered.")
    correlate_retro_hunt_days: int = Field(30, description="Days of past events screened against a newly listed entry.")
    correlate_retro_hunt_index_wait: float = Field(
        10.0, description="Seconds a retro-hunt waits for the indexer to commit past the event topics' ends "
                          "before it reads the events not yet indexed from Kafka.")
    correlate_link_days: int = Field(30, description="Days of links a worker's graph is rebuilt from at start.")
    correlate_snapshot_interval: float = Field(
        900.0, description="Seconds between snapshots of the watchlist and the link graph while records "
                           "arrive (0: no snapshots); a restarted worker restores them and reads the topics on.")
    correlate_snapshot_dir: Path | None = Field(None, description="Where a worker's snapshots go "
                                                                  "(default: <state_dir>/snapshots).")
    correlate_metrics_host: str = Field("127.0.0.1", description="Bind address of a worker's /metrics.")
    correlate_metrics_port: int = Field(9101, description="Port of a worker's Prometheus /metrics.")

    # Elasticsearch indices and the indexer
    es_shards: int = Field(1, description="Primary shards per index (more on a multi-node cluster).")
    es_replicas: int = Field(0, description="Replicas per shard (0 on one node).")
    es_index_prefix: str = Field(
        "bh", pattern=r"^[a-z][a-z0-9_-]*$",
        description="First part of every index and alias name (bh-events, bh-alerts...); the search bench and "
                    "a second hub on the same cluster use another.")
    indexer_group_id: str = Field("borderhub-indexer", description="Consumer group of the indexers.")
    indexer_batch_size: int = Field(2000, description="Most documents in one bulk request.")
    indexer_flush_interval: float = Field(0.5, description="Seconds before a partial bulk is sent.")
    indexer_metrics_host: str = Field("127.0.0.1", description="Bind address of the indexer's /metrics.")
    indexer_metrics_port: int = Field(9102, description="Port of the indexer's Prometheus /metrics.")

    # Search API
    api_host: str = Field("127.0.0.1", description="Bind address of the search API.")
    api_port: int = Field(8080, description="Port of the search API.")
    api_rate_limit_per_minute: int = Field(600, description="Requests per minute per API key.")

    api_keys_file: Path | None = Field(None, description="API key store (default: STATE_DIR/api_keys.json).")

    @property
    def keys_file(self) -> Path:
        return self.api_keys_file or self.state_dir / "api_keys.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
