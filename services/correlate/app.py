"""The correlation worker: every crossing, seizure and biometric capture is matched against the
live watchlist; hits go to ``hub.alerts.v1``, undecodable or invalid records to
``hub.deadletter.v1`` with their original bytes.

Shape of a worker: a faust-streaming app (its worker, services, timers, and the rules' agent and
changelog-backed state table) plus the event topics' batch consumer (``pipeline.py``), which
matches a partition's events a batch at a time and forwards the events the rules need to the
rules' state partitions in batches (``rules/routing.py``).

Delivery: an input record's offset is committed only after the alerts, link records, rule
inputs and dead letters it produced were acknowledged by Kafka: nothing is lost. Alert ids are
deterministic, so a record processed twice after a crash yields the same alert ids, which
consumers collapse (the indexer stores one document per alert id). Batches are bounded, so a
slow matcher slows consumption instead of growing memory."""


from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import socket
import time
import uuid

import faust
import mode
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from borderhub.avro import AvroCodec, DecodeError, SchemaCatalog, SchemaRegistryClient
from borderhub.domain.entities import event_entities
from borderhub.domain.events import CHECKS
from borderhub.gc_tuning import freeze_start_up_objects
from borderhub.settings import Settings
from borderhub.topics import ALERTS, DEADLETTER, EVENT_TOPICS, LINKS, SEIZURES
from services.correlate import outputs
from services.correlate import retro_hunt as hunting
from services.correlate.follower import TopicFollower, snapshot_policy
from services.correlate.links import LinkGraph, ListedKeys, edges_of, link_set, network_alert
from services.correlate.pipeline import BatchConsumer, Outbox
from services.correlate.rules import RULES, rule_alert
from services.correlate.rules.routing import RuleInputBatcher, split_state_key, state_keys
from services.correlate.rules.seizure_reappearance import SeizedKeys, SeizureReappearance
from services.correlate.watchlist_feed import WatchlistFeed
from services.correlate.snapshots import run_with_installation_hash_seed, tombstone_safe_age

log = logging.getLogger("borderhub.correlate")

VALIDATED_HEADER = "borderhub-validated"
WORKER_HEADER = "borderhub-worker"  # on link records: the worker whose graph already has them
RETRO_HUNTERS = 2  # retro-hunts run at once per worker
RETRO_HUNT_BATCH = 100  # past events scored together (Matcher.match_events)
RETRO_HUNT_PAUSE = 0.005  # seconds a hunt yields after each batch
KIND_OF_TOPIC = {topic: kind for kind, topic in EVENT_TOPICS.items()}

EVENTS = Counter("borderhub_correlate_events_total", "Events correlated", ["topic", "outcome"])
ALERTS_TOTAL = Counter("borderhub_alerts_total", "Alerts raised", ["list", "severity"])
MATCH_SECONDS = Histogram("borderhub_correlate_match_seconds", "Time to match one event",
                          buckets=(.0005, .001, .002, .005, .01, .02, .05, .1, .5))
# CPU, not wall time: the share of a worker's CPU that matching takes (the rest is the pipeline).
MATCH_CPU_SECONDS = Counter("borderhub_correlate_match_cpu_seconds", "CPU time spent matching events")
WATCHLIST_SIZE = Gauge("borderhub_watchlist_entries", "Entries in the worker's watchlist index")
READY = Gauge("borderhub_correlate_ready", "1 once the watchlist is loaded and partitions are assigned")


def rules_app_id(app_id: str) -> str:
    """The faust app (and consumer group) of the rules: the event topics' group is ``app_id``."""
    return f"{app_id}-rules"


def create_app(settings: Settings, matcher=None) -> faust.App:
    if matcher is None:
        from services.correlate.matching.engine import Matcher
        matcher = Matcher()
    registry = SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir), registry)
    guard = outputs.FloodGuard(window=settings.correlate_flood_window, max_ratio=settings.correlate_flood_ratio,
                               min_count=settings.correlate_flood_min)
    worker_id = uuid.uuid4().hex.encode()

    datadir = settings.state_dir / "faust" / socket.gethostname()
    datadir.mkdir(parents=True, exist_ok=True)
    rules_id = rules_app_id(settings.correlate_app_id)
    app = faust.App(
        rules_id,
        broker=f"kafka://{settings.kafka_bootstrap.replace(',', ';kafka://')}",
        store="memory://",
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        # At-least-once with deterministic alert ids: a record replayed after a crash yields the
        # same alert ids, and every consumer (the indexer) keeps one document per id. faust's
        # exactly_once mode was measured to still emit replayed alerts after kill -9 here.
        processing_guarantee="at_least_once",
        stream_buffer_maxsize=200,             # backpressure: each record carries a batch of events
        stream_ack_exceptions=False,           # an unexpected crash must not ack the record
        broker_commit_every=50,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",  # rule inputs are never skipped
        # A killed worker's partitions move to the survivors after this long, not a minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        topic_partitions=settings.topic_partitions,
        web_enabled=False,
    )
    alerts_topic = app.topic(ALERTS, value_serializer="raw", key_serializer="raw", internal=False)
    # Rules keep state per rule key (a document, a route, a travel group), not per traveller:
    # events are forwarded to the partition of their keys (routing.py) on an internal topic
    # co-partitioned with the rules' state table, whose changelog restores it after a restart.
    rule_inputs = app.topic(f"{rules_id}-inputs", internal=True, partitions=settings.topic_partitions,
                            key_serializer="raw", value_serializer="raw")
    rule_state = app.Table("rule-state", default=None, partitions=settings.topic_partitions,
                           key_type=bytes, value_type=bytes)  # values: JSON of the rule state
    rules = {rule.name: rule for rule in RULES}
    dead_topic = app.topic(DEADLETTER, value_serializer="raw", key_serializer="raw", internal=False)
    graph, listed = LinkGraph(), ListedKeys()

    def dead_letter(reason: str, record, problems=None) -> dict:
        return outputs.dead_letter("correlate", reason, record.value, key=record.key, topic=record.topic,
                                   partition=record.partition, offset=record.offset, problems=problems)

    def on_bad_watchlist_record(record, reason: str) -> None:
        letter = dead_letter(reason, record)
        app.loop.create_task(dead_topic.send(key=record.key or b"", value=codec.encode("deadletters", letter)))

    hunts: collections.deque[tuple[dict, float]] = collections.deque()  # (new listing, when) waiting
    hunters: set[asyncio.Task] = set()
    past = hunting.PastEvents(settings, codec, biometric_thresholds=getattr(getattr(matcher, "gallery", None),
                                                                              "thresholds", None))

    def upsert(entry: dict) -> None:
        # A new listing after start-up is hunted for in the recent past; at start-up the
        # whole table loads and was hunted for when it was first listed.
        new_listing = feed.ready.is_set() and matcher.get(entry["entry_id"]) is None
        matcher.upsert(entry)
        listed.upsert(entry)
        WATCHLIST_SIZE.set(len(matcher))
        if new_listing and settings.correlate_retro_hunt_days > 0:
            start_hunt(entry)

    def start_hunt(entry: dict) -> None:
        # A queue and a few hunters, not a task per listing: a feed adding thousands of entries
        # at once must not open thousands of searches and consumers together.
        hunts.append((entry, time.monotonic()))
        if len(hunters) < RETRO_HUNTERS:
            task = asyncio.get_running_loop().create_task(hunt_queued())
            hunters.add(task)
            task.add_done_callback(hunters.discard)

    async def hunt_queued() -> None:
        while hunts:
            entry, listed_at = hunts.popleft()
            try:
                await retro_hunt(entry, listed_at)
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed hunt must not stop the others (nor the worker)
                log.exception("retro-hunt for %s failed", entry["entry_id"])

    async def hunts_here(entry_id: str) -> bool:
        """Every worker reads the whole watchlist topic, so every worker sees a new listing;
        exactly one hunts it: the owner of the crossings partition the entry id hashes to
        (``hunting.hunt_partition``, Kafka's default partitioner), once the group's assignment
        has settled. The hunt itself covers every partition: Elasticsearch is not split by
        partition, and the Kafka reads use their own group-less consumer."""
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            events = pipeline.instance
            if events is not None and not events.rebalancing and events.assignment():
                break
            await asyncio.sleep(0.5)
        owner = await past.owner_partition(entry_id)
        return any((tp.topic, tp.partition) == (owner.topic, owner.partition) for tp in pipeline().assignment())

    async def retro_hunt(entry: dict, listed_at: float) -> None:
        """Past events that could match the entry (Elasticsearch, else Kafka: ``retro_hunt.py``),
        scored by the live matching code, hits raised with the live alerts' ids."""
        if not await hunts_here(entry["entry_id"]):
            return
        one = hunting.one_entry_matcher(matcher, entry)
        now = dt.datetime.now(dt.timezone.utc)
        since = now - dt.timedelta(days=settings.correlate_retro_hunt_days)
        stats = hunting.HuntStats()
        outbox = Outbox(pipeline().producer)
        raised, hits = set(), collections.Counter()
        batches: dict[str, list[tuple[str, dict]]] = {}  # kind -> (source, datum), scored together

        async def score(kind: str) -> None:
            batch = batches.pop(kind, [])
            for (source, datum), matches in zip(batch, one.match_events(kind, [d for _, d in batch])):
                for match in matches:
                    alert = outputs.watchlist_alert(kind, datum, match, now, alert_type="RETRO_HUNT")
                    if alert["alert_id"] in raised:  # read twice (indexed during the hunt, or a fallback)
                        continue
                    raised.add(alert["alert_id"])
                    await outbox.send(ALERTS, codec.encode("alerts", alert), alert["alert_id"].encode())
                    ALERTS_TOTAL.labels(match.source_list, alert["severity"]).inc()
                    hits[source] += 1
            # The hunt shares the process with live traffic and the consumer's heartbeats: a real
            # pause (not sleep(0)) lets them have the interpreter after every batch.
            await asyncio.sleep(RETRO_HUNT_PAUSE)

        async for source, kind, datum in past.candidates(entry, since, stats, listed_at):
            batches.setdefault(kind, []).append((source, datum))
            if len(batches[kind]) >= RETRO_HUNT_BATCH:
                await score(kind)
        for kind in list(batches):
            await score(kind)
        await outbox.flush()
        hunting.record_hunt(entry["entry_id"], stats, hits)

    def remove(entry_id: str) -> None:
        matcher.remove(entry_id)
        listed.remove(entry_id)
        WATCHLIST_SIZE.set(len(matcher))

    def load(entries: list[dict]) -> None:  # the topic's history at start-up, in chunks
        matcher.load(entries)
        for entry in entries:
            listed.upsert(entry)
        WATCHLIST_SIZE.set(len(matcher))

    def capture() -> tuple[dict, int]:
        return {"matcher": matcher.state(), "listed": listed}, len(matcher)

    def restore(state: dict, same_hashes: bool) -> None:
        matcher.restore(state["matcher"], same_hashes=same_hashes)
        listed.adopt(state["listed"])
        WATCHLIST_SIZE.set(len(matcher))

    feed = WatchlistFeed(settings, codec, upsert, remove, on_bad_watchlist_record, load=load,
                         snapshots=snapshot_policy(settings, settings.correlate_watchlist_topic, capture, restore,
                                                   max_age=tombstone_safe_age))

    def apply_links(record) -> None:
        if (WORKER_HEADER, worker_id) in (record.headers or ()):
            return  # this worker's own events: their edges joined the graph when it correlated them
        try:
            linkset = codec.decode(record.value, "links")
        except DecodeError:
            return
        graph.add_edges([(e["source"], e["target"]) for e in linkset["edges"]], linkset["occurred_at"])

    # Every worker's graph holds the whole recent network (events are partitioned by traveller).
    # A snapshot of the graph spares a restart reading every link record of those days again; one
    # older than those days would hold links a graph built afresh no longer has.
    link_snapshots = snapshot_policy(settings, LINKS, capture=lambda: (graph, len(graph)),
                                     restore=lambda restored, _same_hashes: graph.adopt(restored),
                                     max_age=lambda _identity: settings.correlate_link_days * 86400.0)
    links_feed = TopicFollower(settings, LINKS, apply_links, since=lambda: dt.datetime.now(dt.timezone.utc)
                               - dt.timedelta(days=settings.correlate_link_days), snapshots=link_snapshots)
    reappearance = rules[SeizureReappearance.name]
    seized = SeizedKeys(reappearance)

    def apply_seizure(record) -> None:
        try:
            seized.add(codec.decode(record.value, reader="seizures"))
        except DecodeError:  # the event consumer dead-letters it
            pass

    seizures_feed = TopicFollower(settings, SEIZURES, apply_seizure, since=lambda: dt.datetime.now(dt.timezone.utc)
                                  - dt.timedelta(days=reappearance.window_days))

    def wanted(rule_name: str, kind: str, key: str) -> bool:
        # A crossing only reads this rule's state, which only seized entities have.
        return rule_name != SeizureReappearance.name or kind != "crossings" or key in seized

    app.borderhub_feed = feed
    app.borderhub_matcher = matcher

    class WatchlistService(mode.Service):
        """Follows the watchlist topic for the worker's whole life (not restarted on rebalance)."""

        @mode.Service.task
        async def _follow(self) -> None:
            try:
                await asyncio.gather(feed.run(), links_feed.run(), seizures_feed.run())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # without the watchlist the worker must not process events
                log.exception("watchlist feed failed")
                await app.crash(exc)

    app.service(WatchlistService)

    def network_alerts(kind: str, datum: dict, refs: list, edges: list, now: dt.datetime) -> list[dict]:
        """Paths of one or two hops from what the event mentions to a listed entity; then the
        event's own edges join the graph."""
        found = []
        for path in graph.paths_to_listed([r.key for r in refs], listed):
            entry = next(filter(None, map(matcher.get, listed.entries(path[-1]))), None)
            if entry is not None:
                found.append(network_alert(kind, datum, path, entry, now))
        graph.add_edges(edges, outputs.event_time(kind, datum))
        return found

    @app.timer(1.0)
    async def report_readiness() -> None:
        events = pipeline.instance
        ready = all(f.ready.is_set() for f in (feed, links_feed, seizures_feed)) and events is not None \
            and events.assignment()
        READY.set(1 if ready else 0)

    async def admit(kind: str, record, outbox: Outbox) -> dict | None:
        """The event's datum; None when it was dead-lettered instead."""
        try:
            datum = codec.decode(record.value, reader=kind)
        except DecodeError as exc:
            await outbox.send(DEADLETTER, codec.encode("deadletters", dead_letter(str(exc), record)),
                              record.key or b"")
            EVENTS.labels(record.topic, "dead_letter").inc()
            guard.record(True)
            return None
        if not any(name == VALIDATED_HEADER for name, _ in record.headers or ()):
            problems = CHECKS[kind](datum)  # published straight to Kafka, not through the gateway
            if problems:
                letter = dead_letter(f"{len(problems)} problem(s): {problems[0].message}", record, problems)
                await outbox.send(DEADLETTER, codec.encode("deadletters", letter), record.key or b"")
                EVENTS.labels(record.topic, "dead_letter").inc()
                guard.record(True)
                return None
        guard.record(False)
        return datum

    async def correlate(kind: str, records: list, outbox: Outbox, forward: RuleInputBatcher) -> None:
        """One kind's records of a batch: matched together (one index lookup for them all),
        their outputs sent in order."""
        admitted = []
        for record in records:
            datum = await admit(kind, record, outbox)
            if datum is not None:
                refs = event_entities(kind, datum)  # once per event: rules, graph search, graph, link record
                admitted.append((record, datum, refs))
                if kind == "seizures":  # before the crossings of the same batch are forwarded
                    seized.add(datum)
                keys = state_keys(rules.values(), kind, datum, refs, wanted)
                if keys:
                    forward.add(kind, record.value, keys)
        if not admitted:
            return
        started, cpu_started = time.perf_counter(), time.process_time()
        all_matches = matcher.match_events(kind, [datum for _, datum, _ in admitted])
        per_event = (time.perf_counter() - started) / len(admitted)
        MATCH_CPU_SECONDS.inc(time.process_time() - cpu_started)
        now = dt.datetime.now(dt.timezone.utc)
        headers = [(WORKER_HEADER, worker_id)]
        for (record, datum, refs), matches in zip(admitted, all_matches):
            MATCH_SECONDS.observe(per_event)
            alerts = [outputs.watchlist_alert(kind, datum, match, now) for match in matches]
            edges = edges_of(kind, datum, refs)
            alerts += network_alerts(kind, datum, refs, edges, now)
            for alert in alerts:
                await outbox.send(ALERTS, codec.encode("alerts", alert), alert["alert_id"].encode())
                ALERTS_TOTAL.labels(alert["source_list"] or alert["alert_type"], alert["severity"]).inc()
            await outbox.send(LINKS, codec.encode("links", link_set(kind, datum, refs, edges)),
                              datum["event_id"].encode(), headers=headers)
            EVENTS.labels(record.topic, "alerted" if matches else "clear").inc()

    async def correlate_batch(batch: dict, outbox: Outbox) -> None:
        """A batch of the event topics (records by partition): each kind matched at once, the
        rule inputs forwarded in one record per rules partition."""
        forward = RuleInputBatcher(settings.topic_partitions)
        by_kind: dict[str, list] = {}
        for tp, records in batch.items():
            by_kind.setdefault(KIND_OF_TOPIC[tp.topic], []).extend(records)
        try:
            # Seizures first: a crossing in the same batch may carry what they seized.
            for kind in sorted(by_kind, key=lambda k: k != "seizures"):
                await correlate(kind, by_kind[kind], outbox, forward)
        except outputs.DeadLetterFlood as exc:
            log.critical("stopping: %s", exc)
            raise
        for partition, datum in forward.batches():
            await outbox.send(rule_inputs.get_topic_name(), codec.encode("ruleinputs", datum), partition=partition)

    async def inputs_ready() -> None:
        for follower in (feed, links_feed, seizures_feed):
            await follower.ready.wait()
        await rule_inputs.maybe_declare()  # forwarded batches need the topic before faust's agent reads it

    class EventPipeline(BatchConsumer):
        """The event topics' consumer group (``correlate_app_id``), started with the app."""

        def __init__(self, **kwargs):
            super().__init__(bootstrap=settings.kafka_bootstrap, group_id=settings.correlate_app_id,
                             topics=EVENT_TOPICS.values(), handle=correlate_batch, ready=inputs_ready,
                             offset_reset=settings.correlate_offset_reset, batch_size=settings.correlate_batch_size,
                             batch_wait=settings.correlate_batch_wait, on_crash=app.crash, **kwargs)
            pipeline.instance = self

    def pipeline() -> EventPipeline:
        if pipeline.instance is None:
            raise RuntimeError("the event pipeline has not started")
        return pipeline.instance
    pipeline.instance = None

    app.service(EventPipeline)

    @app.agent(rule_inputs, name="rules")
    async def apply_rules(stream):
        async for event in stream.events():
            try:
                forwarded = codec.decode(event.message.value, "ruleinputs")
            except DecodeError as exc:  # only workers write this topic: a version mismatch
                letter = dead_letter(f"undecodable rule inputs: {exc}", event.message)
                await (await dead_topic.send(key=event.message.key or b"", value=codec.encode("deadletters", letter)))
                continue
            now = dt.datetime.now(dt.timezone.utc)
            pending = []
            for item in forwarded["items"]:
                kind = item["kind"]
                datum = codec.decode(item["event"], reader=kind)  # admitted by the forwarding worker
                for key in item["keys"]:
                    rule_name, rule_key = split_state_key(key)
                    state_key = key.encode()
                    stored = rule_state.get(state_key)
                    state, hits = rules[rule_name].observe(rule_key, json.loads(stored) if stored else None,
                                                           kind, datum)
                    if state is None:
                        rule_state.pop(state_key, None)
                    else:
                        rule_state[state_key] = json.dumps(state, separators=(",", ":")).encode()
                    for hit in hits:
                        alert = rule_alert(hit, kind, datum, now)
                        pending.append(await alerts_topic.send(key=alert["alert_id"].encode(),
                                                               value=codec.encode("alerts", alert)))
                        ALERTS_TOTAL.labels(f"rule:{rule_name}", alert["severity"]).inc()
            for fut in pending:
                await fut
            await asyncio.sleep(0)

    return app


def run(settings: Settings) -> None:
    from faust.worker import Worker

    from services.correlate.matching.names import load_name_tables
    if settings.correlate_snapshot_interval > 0:
        run_with_installation_hash_seed(settings.state_dir)  # snapshots' postings stay valid
    start_http_server(settings.correlate_metrics_port, addr=settings.correlate_metrics_host)
    load_name_tables()  # before the watchlist (frozen with it), not on the first event that needs it
    app = create_app(settings)
    freeze_start_up_objects()  # an event allocates hundreds of short-lived objects; loads freeze again
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
