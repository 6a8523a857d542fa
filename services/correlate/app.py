"""The correlation worker (faust-streaming): every crossing, seizure and biometric capture is
matched against the live watchlist; hits go to ``hub.alerts.v1``, undecodable or invalid
records to ``hub.deadletter.v1`` with their original bytes.

Delivery: an input record is acknowledged (and so its offset committed) only after the alerts
and dead letters it produced were acknowledged by Kafka: nothing is lost. Alert ids are
deterministic, so a record processed twice after a crash yields the same alert ids, which
consumers collapse (the indexer stores one document per alert id). The stream buffer is bounded,
so a slow matcher slows consumption instead of growing memory."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import socket
import time

import faust
import mode
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from borderhub.avro import AvroCodec, DecodeError, SchemaCatalog, SchemaRegistryClient
from borderhub.domain.events import CHECKS
from borderhub.settings import Settings
from borderhub.topics import ALERTS, DEADLETTER, EVENT_TOPICS, LINKS
from services.correlate import outputs
from borderhub.domain.entities import event_entities
from services.correlate.follower import TopicFollower
from services.correlate.links import LinkGraph, ListedKeys, edges_of, link_set, network_alert
from services.correlate import retro_hunt as hunting
from services.correlate.rules import RULES, rule_alert
from services.correlate.watchlist_feed import WatchlistFeed

log = logging.getLogger("borderhub.correlate")

VALIDATED_HEADER = "borderhub-validated"
RETRO_HUNTERS = 2  # retro-hunts run at once per worker
RETRO_HUNT_BATCH = 100  # past events scored together (Matcher.match_events)
RETRO_HUNT_PAUSE = 0.005  # seconds a hunt yields after each batch

EVENTS = Counter("borderhub_correlate_events_total", "Events correlated", ["topic", "outcome"])
ALERTS_TOTAL = Counter("borderhub_alerts_total", "Alerts raised", ["list", "severity"])
MATCH_SECONDS = Histogram("borderhub_correlate_match_seconds", "Time to match one event",
                          buckets=(.0005, .001, .002, .005, .01, .02, .05, .1, .5))
WATCHLIST_SIZE = Gauge("borderhub_watchlist_entries", "Entries in the worker's watchlist index")
READY = Gauge("borderhub_correlate_ready", "1 once the watchlist is loaded and partitions are assigned")


def create_app(settings: Settings, matcher=None) -> faust.App:
    if matcher is None:
        from services.correlate.matching.engine import Matcher
        matcher = Matcher()
    registry = SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir), registry)
    guard = outputs.FloodGuard(window=settings.correlate_flood_window, max_ratio=settings.correlate_flood_ratio,
                               min_count=settings.correlate_flood_min)

    datadir = settings.state_dir / "faust" / socket.gethostname()
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.correlate_app_id,
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
        stream_buffer_maxsize=2000,            # backpressure: at most this many records in flight
        stream_ack_exceptions=False,           # an unexpected crash must not ack the record
        broker_commit_every=500,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset=settings.correlate_offset_reset,
        # A killed worker's partitions move to the survivors after this long, not a minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        topic_partitions=settings.topic_partitions,
        web_enabled=False,
    )
    alerts_topic = app.topic(ALERTS, value_serializer="raw", key_serializer="raw", internal=False)
    # Rules keep state per rule key (a document, a route, a travel group), not per traveller:
    # events are re-keyed onto an internal topic co-partitioned with the rules' state table,
    # whose changelog restores the state after a restart.
    rule_inputs = app.topic(f"{settings.correlate_app_id}-rule-inputs", internal=True,
                            partitions=settings.topic_partitions, key_serializer="raw", value_serializer="raw")
    rule_state = app.Table("rule-state", default=None, partitions=settings.topic_partitions,
                           key_type=bytes, value_type=bytes)  # values: JSON of the rule state
    rules = {rule.name: rule for rule in RULES}
    links_topic = app.topic(LINKS, value_serializer="raw", key_serializer="raw", internal=False)
    graph, listed = LinkGraph(), ListedKeys()
    dead_topic = app.topic(DEADLETTER, value_serializer="raw", key_serializer="raw", internal=False)

    async def send_dead_letter(reason: str, message, problems=None) -> None:
        letter = outputs.dead_letter("correlate", reason, message.value, key=message.key, topic=message.topic,
                                     partition=message.partition, offset=message.offset, problems=problems)
        fut = await dead_topic.send(key=message.key or letter["dead_letter_id"].encode(),
                                    value=codec.encode("deadletters", letter))
        await fut
        EVENTS.labels(message.topic, "dead_letter").inc()

    def on_bad_watchlist_record(record, reason: str) -> None:
        letter = outputs.dead_letter("correlate", reason, record.value, key=record.key, topic=record.topic,
                                     partition=record.partition, offset=record.offset)
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
        while (app.rebalancing or not app.consumer.assignment()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        owner = await past.owner_partition(entry_id)
        return any((tp.topic, tp.partition) == (owner.topic, owner.partition) for tp in app.consumer.assignment())

    async def retro_hunt(entry: dict, listed_at: float) -> None:
        """Past events that could match the entry (Elasticsearch, else Kafka: ``retro_hunt.py``),
        scored by the live matching code, hits raised with the live alerts' ids."""
        if not await hunts_here(entry["entry_id"]):
            return
        one = hunting.one_entry_matcher(matcher, entry)
        now = dt.datetime.now(dt.timezone.utc)
        since = now - dt.timedelta(days=settings.correlate_retro_hunt_days)
        stats = hunting.HuntStats()
        pending, raised, hits = [], set(), collections.Counter()
        batches: dict[str, list[tuple[str, dict]]] = {}  # kind -> (source, datum), scored together

        async def score(kind: str) -> None:
            batch = batches.pop(kind, [])
            for (source, datum), matches in zip(batch, one.match_events(kind, [d for _, d in batch])):
                for match in matches:
                    alert = outputs.watchlist_alert(kind, datum, match, now, alert_type="RETRO_HUNT")
                    if alert["alert_id"] in raised:  # read twice (indexed during the hunt, or a fallback)
                        continue
                    raised.add(alert["alert_id"])
                    pending.append(await alerts_topic.send(key=alert["alert_id"].encode(),
                                                           value=codec.encode("alerts", alert)))
                    ALERTS_TOTAL.labels(match.source_list, alert["severity"]).inc()
                    hits[source] += 1
            # The hunt shares the process with live traffic and the consumer thread's heartbeats:
            # a real pause (not sleep(0)) lets that thread have the interpreter after every batch.
            await asyncio.sleep(RETRO_HUNT_PAUSE)

        async for source, kind, datum in past.candidates(entry, since, stats, listed_at):
            batches.setdefault(kind, []).append((source, datum))
            if len(batches[kind]) >= RETRO_HUNT_BATCH:
                await score(kind)
        for kind in list(batches):
            await score(kind)
        for fut in pending:
            await fut
        hunting.record_hunt(entry["entry_id"], stats, hits)

    def remove(entry_id: str) -> None:
        matcher.remove(entry_id)
        listed.remove(entry_id)
        WATCHLIST_SIZE.set(len(matcher))

    feed = WatchlistFeed(settings, codec, upsert, remove, on_bad_watchlist_record)

    def apply_links(record) -> None:
        try:
            linkset = codec.decode(record.value, "links")
        except DecodeError:
            return
        graph.add_edges([(e["source"], e["target"]) for e in linkset["edges"]], linkset["occurred_at"])

    # Every worker's graph holds the whole recent network (events are partitioned by traveller).
    links_feed = TopicFollower(settings, LINKS, apply_links, since=lambda: dt.datetime.now(dt.timezone.utc)
                               - dt.timedelta(days=settings.correlate_link_days))
    app.borderhub_feed = feed
    app.borderhub_matcher = matcher

    class WatchlistService(mode.Service):
        """Follows the watchlist topic for the worker's whole life (not restarted on rebalance)."""

        @mode.Service.task
        async def _follow(self) -> None:
            try:
                await asyncio.gather(feed.run(), links_feed.run())
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
        for path in graph.paths_to_listed([r.key for r in refs], listed.__contains__):
            entry = next(filter(None, map(matcher.get, listed.entries(path[-1]))), None)
            if entry is not None:
                found.append(network_alert(kind, datum, path, entry, now))
        graph.add_edges(edges, outputs.event_time(kind, datum))
        return found

    @app.timer(1.0)
    async def report_readiness() -> None:
        READY.set(1 if feed.ready.is_set() and links_feed.ready.is_set() and app.consumer.assignment() else 0)

    async def admit(kind: str, event, pending: list) -> dict | None:
        """The event's datum, its rule inputs sent (their acks appended to pending); None when
        it was dead-lettered instead."""
        message = event.message
        try:
            datum = codec.decode(message.value, reader=kind)
        except DecodeError as exc:
            await send_dead_letter(str(exc), message)
            guard.record(True)
            return None
        headers = dict(message.headers or [])
        if VALIDATED_HEADER not in headers:  # published straight to Kafka, not through the gateway
            problems = CHECKS[kind](datum)
            if problems:
                await send_dead_letter(f"{len(problems)} problem(s): {problems[0].message}", message, problems)
                guard.record(True)
                return None
        guard.record(False)
        for rule in rules.values():
            if kind in rule.kinds:
                for key in rule.keys(kind, datum):
                    pending.append(await rule_inputs.send(key=f"{rule.name}|{key}".encode(), value=message.value,
                                                          headers={"kind": kind.encode()}))
        return datum

    async def correlate(kind: str, events: list) -> None:
        """One batch of a partition's events: matched together (one index lookup for the batch),
        outputs sent in order, and all their acks awaited once (not one round trip per event)."""
        pending: list = []
        admitted = []
        for event in events:
            datum = await admit(kind, event, pending)
            if datum is not None:
                admitted.append((event, datum))
        await feed.ready.wait()
        await links_feed.ready.wait()
        started = time.perf_counter()
        all_matches = matcher.match_events(kind, [datum for _, datum in admitted]) if admitted else []
        for _ in admitted:
            MATCH_SECONDS.observe((time.perf_counter() - started) / len(admitted))
        now = dt.datetime.now(dt.timezone.utc)
        for (event, datum), matches in zip(admitted, all_matches):
            alerts = [outputs.watchlist_alert(kind, datum, match, now) for match in matches]
            refs = event_entities(kind, datum)  # once per event: graph search, graph and link record
            edges = edges_of(kind, datum, refs)
            alerts += network_alerts(kind, datum, refs, edges, now)
            for alert in alerts:
                pending.append(await alerts_topic.send(key=alert["alert_id"].encode(),
                                                       value=codec.encode("alerts", alert)))
                ALERTS_TOTAL.labels(alert["source_list"] or alert["alert_type"], alert["severity"]).inc()
            pending.append(await links_topic.send(key=datum["event_id"].encode(),
                                                  value=codec.encode("links", link_set(kind, datum, refs, edges))))
            EVENTS.labels(event.message.topic, "alerted" if matches else "clear").inc()
        for fut in pending:  # acked by Kafka before these records count as processed
            await fut
        await asyncio.sleep(0)  # matching is CPU-bound: let the consumer's heartbeats through

    @app.agent(rule_inputs, name="rules")
    async def apply_rules(stream):
        async for event in stream.events():
            state_key = event.message.key
            rule_name, key = state_key.decode().split("|", 1)
            kind = dict(event.message.headers or [])["kind"].decode()
            datum = codec.decode(event.message.value, reader=kind)
            stored = rule_state.get(state_key)
            state, hits = rules[rule_name].observe(key, json.loads(stored) if stored else None, kind, datum)
            if state is None:
                rule_state.pop(state_key, None)
            else:
                rule_state[state_key] = json.dumps(state, separators=(",", ":")).encode()
            now = dt.datetime.now(dt.timezone.utc)
            pending = []
            for hit in hits:
                alert = rule_alert(hit, kind, datum, now)
                pending.append(await alerts_topic.send(key=alert["alert_id"].encode(), value=codec.encode("alerts", alert)))
                ALERTS_TOTAL.labels(f"rule:{rule_name}", alert["severity"]).inc()
            for fut in pending:
                await fut
            await asyncio.sleep(0)

    def make_agent(kind: str, topic_name: str):
        topic = app.topic(topic_name, value_serializer="raw", key_serializer="raw", internal=False)

        async def agent(stream):
            # Batches without automatic acks: a batch's records are acked (and so their offsets
            # become committable) only once its outputs were acked; a crash acks nothing.
            async for events in stream.noack_take(settings.correlate_batch_size,
                                                  within=settings.correlate_batch_wait):
                try:
                    await correlate(kind, events)
                except outputs.DeadLetterFlood as exc:
                    log.critical("stopping: %s", exc)
                    await app.crash(exc)
                    raise
                for event in events:
                    await stream.ack(event)
        agent.__name__ = f"correlate_{kind}"
        app.agent(topic, name=f"correlate_{kind}")(agent)

    for kind, topic_name in EVENT_TOPICS.items():
        make_agent(kind, topic_name)
    return app


def run(settings: Settings) -> None:
    from faust.worker import Worker
    start_http_server(settings.correlate_metrics_port, addr=settings.correlate_metrics_host)
    app = create_app(settings)
    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
