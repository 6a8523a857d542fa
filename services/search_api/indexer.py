"""The indexer: Kafka topics into Elasticsearch, in bulk, without losing or duplicating.

    poll ─▶ IndexBatch (decode, build documents) ─▶ BatchFlusher (bulk, dead letters) ─▶ commit

The consumer thread builds the next batch while a writer thread bulk-writes the previous one
(one batch in flight), so decoding and Elasticsearch's indexing overlap.

- Idempotent: every document id comes from the record (event, alert or entry id; a link set
  is filed under its event's id), so a replay
  after a crash or a rebalance rewrites the same documents instead of adding new ones.
- At least once: offsets are committed only when every record of the batch is handled, i.e.
  indexed, deleted, or dead-lettered with the broker's acknowledgement.
- Poison records (undecodable, or documents Elasticsearch rejects with a 400) go to
  ``hub.deadletter.v1`` with their original bytes and count as handled; they never block the
  partition.
- Elasticsearch slow or down (connection errors, timeouts, 429, 5xx): the batch is retried
  with exponential backoff; once the next batch is full the partitions are paused, so memory
  stays bounded by two batches and the group membership is kept; nothing is committed until
  the batch succeeds.
- Alerts are written as ``update`` with ``doc`` (the alert's own fields) and ``upsert`` (those
  fields plus the initial triage state): a replayed alert refreshes what correlation owns and
  never touches status, assignee or history, which the search API adds later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import orjson
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from borderhub.avro import AvroCodec, DecodeError, SchemaCatalog
from borderhub.settings import Settings
from borderhub.topics import ALERTS, BIOMETRICS, CROSSINGS, DEADLETTER, LINKS, SEIZURES, WATCHLIST
from services.correlate.outputs import dead_letter
from services.search_api.indices import (
    ALERTS_ALIAS,
    EVENTS_ALIAS,
    LINKS_ALIAS,
    WATCHLIST_ALIAS,
    alert_document,
    event_document,
    link_document,
    watchlist_document,
)

log = logging.getLogger("borderhub.indexer")

SERVICE = "indexer"
GROUP_ID = "borderhub-indexer"
# Topic -> record short name of the contract (borderhub.avro.RECORDS).
TOPIC_KINDS = {CROSSINGS: "crossings", SEIZURES: "seizures", BIOMETRICS: "biometrics",
               ALERTS: "alerts", WATCHLIST: "watchlist", LINKS: "links"}
_TARGETS = {"crossings": EVENTS_ALIAS, "seizures": EVENTS_ALIAS, "biometrics": EVENTS_ALIAS,
            "alerts": ALERTS_ALIAS, "watchlist": WATCHLIST_ALIAS, "links": LINKS_ALIAS}
# Triage state of a new alert (the search API's vocabulary: new, in_review, confirmed, ...);
# the search API owns these fields afterwards.
ALERT_INITIAL_TRIAGE = {"status": "new", "history": []}

# outcome: created, updated, noop, deleted, not_found (Elasticsearch's results); superseded (a
# later record of the same document in the batch); rejected (Elasticsearch refused it) and
# invalid (unreadable record), both dead-lettered.
DOCS = Counter("borderhub_indexer_docs_total", "Records handled by the indexer, by target alias and outcome",
               ["index", "outcome"])
BULK_SECONDS = Histogram("borderhub_indexer_bulk_seconds", "Duration of one Elasticsearch bulk request",
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RETRIES = Counter("borderhub_indexer_retries_total", "Batch attempts that will be retried after a backoff",
                  ["kind"])
LAG = Gauge("borderhub_consumer_lag", "Records behind the log end over the partitions this process owns",
            ["group", "topic"])


# --- records to bulk actions (pure) -------------------------------------------------------------

class Rejected(Exception):
    """A record that can never be indexed; the message is the dead letter's reason."""


@dataclasses.dataclass(slots=True)
class Action:
    op: str  # index | update | delete
    index: str  # concrete index or write alias
    doc_id: str
    lines: list[bytes]  # NDJSON lines of the bulk body, serialised once, reused on retries
    target: str  # alias, the metrics label


def _identity(name: str) -> str:
    return name


@dataclasses.dataclass
class Translator:
    """A Kafka record (topic, key, value) as one bulk action, or ``Rejected``."""
    codec: AvroCodec
    topic_kinds: dict[str, str] = dataclasses.field(default_factory=lambda: dict(TOPIC_KINDS))
    # Index names pass through here; the benchmark writes to its own indices with it.
    rename_index: Callable[[str], str] = _identity

    def action(self, topic: str, key: bytes | None, value: bytes | None) -> Action:
        kind = self.topic_kinds[topic]
        target = _TARGETS[kind]
        if value is None:
            if kind != "watchlist":
                raise Rejected(f"null value on {topic}: tombstones only delete watchlist entries")
            if not key:
                raise Rejected("watchlist tombstone without a key (the entry id)")
            return self._delete(self.rename_index(WATCHLIST_ALIAS), key.decode("utf-8", "replace"), target)
        try:
            datum = self.codec.decode(value, reader=kind)
        except DecodeError as exc:
            raise Rejected(f"undecodable record: {exc}") from exc
        try:
            if kind == "alerts":
                index, doc_id, doc = alert_document(datum)
            elif kind == "watchlist":
                index, doc_id, doc = watchlist_document(datum)
            elif kind == "links":
                index, doc_id, doc = link_document(datum)
            else:
                index, doc_id, doc = event_document(kind, datum)
            index = self.rename_index(index)
            if kind == "alerts":
                return self._upsert(index, doc_id, doc, ALERT_INITIAL_TRIAGE, target)
            return Action("index", index, doc_id, [orjson.dumps({"index": {"_index": index, "_id": doc_id}}),
                                                   orjson.dumps(doc)], target)
        except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONEncodeError) as exc:
            raise Rejected(f"cannot build the document: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _delete(index: str, doc_id: str, target: str) -> Action:
        return Action("delete", index, doc_id, [orjson.dumps({"delete": {"_index": index, "_id": doc_id}})], target)

    @staticmethod
    def _upsert(index: str, doc_id: str, doc: dict, initial: dict, target: str) -> Action:
        # No script: `doc` merges only the alert's own fields into an existing document,
        # `upsert` creates it with the initial triage state. A replay of identical content is
        # a noop (detect_noop), so it does not even bump the version.
        meta = {"update": {"_index": index, "_id": doc_id, "retry_on_conflict": 5}}
        body = {"doc": doc, "upsert": {**doc, **initial}}
        return Action("update", index, doc_id, [orjson.dumps(meta), orjson.dumps(body)], target)


# --- bulk item results (pure) ---------------------------------------------------------------------

class Verdict(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # Elasticsearch could not take it now; try again later
    REJECT = "reject"  # the document itself is wrong; dead-letter it


def classify(op: str, item: dict) -> tuple[Verdict, str]:
    """(verdict, outcome label or reason) of one bulk response item."""
    result = item.get(op) or next(iter(item.values()))
    status = result.get("status", 500)
    if status < 300:
        return Verdict.OK, result.get("result", "ok")
    if op == "delete" and status == 404:
        return Verdict.OK, "not_found"  # already gone: a replayed tombstone
    error = result.get("error") or {}
    if isinstance(error, str):
        error = {"type": "error", "reason": error}
    detail = f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
    caused = (error.get("caused_by") or {}).get("reason")
    if caused:
        detail += f" ({caused})"
    # 400 is about the document (mapping, parsing, bad value). Anything else (429 overload, 5xx,
    # 403 read-only block, 404 missing index, 409 contention) is about the cluster's state.
    if status == 400:
        return Verdict.REJECT, f"Elasticsearch rejected the document: {detail}"[:2000]
    return Verdict.RETRY, detail[:500]


# --- the batch (pure) -------------------------------------------------------------------------------

class State(enum.Enum):
    PENDING = 1  # to send in the next bulk
    REJECTED = 2  # to dead-letter
    DONE = 3  # handled


@dataclasses.dataclass(slots=True)
class Entry:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    action: Action | None
    state: State
    reason: str | None = None


class IndexBatch:
    """The records polled since the last commit, each with its bulk action and state."""

    def __init__(self, translator: Translator):
        self.translator = translator
        self.entries: list[Entry] = []
        self.started: float | None = None  # monotonic time of the first record
        self._latest: dict[tuple[str, str], Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def age(self, now: float | None = None) -> float:
        return 0.0 if self.started is None else (now or time.monotonic()) - self.started

    def add(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> Entry:
        if self.started is None:
            self.started = time.monotonic()
        try:
            action = self.translator.action(topic, key, value)
            entry = Entry(topic, partition, offset, key, value, action, State.PENDING)
        except Rejected as exc:
            entry = Entry(topic, partition, offset, key, value, None, State.REJECTED, str(exc))
            DOCS.labels(_TARGETS.get(self.translator.topic_kinds.get(topic, ""), topic), "invalid").inc()
        if entry.action is not None:
            # The later record of the same document wins; never send (or retry) the older one
            # after it, which could put stale content back.
            doc_key = (entry.action.index, entry.action.doc_id)
            older = self._latest.get(doc_key)
            if older is not None and older.state is State.PENDING:
                older.state = State.DONE
                DOCS.labels(older.action.target, "superseded").inc()
            self._latest[doc_key] = entry
        self.entries.append(entry)
        return entry

    def pending(self) -> list[Entry]:
        return [e for e in self.entries if e.state is State.PENDING]

    def rejected(self) -> list[Entry]:
        return [e for e in self.entries if e.state is State.REJECTED]

    def apply(self, sent: list[Entry], items: list[dict]) -> list[str]:
        """Marks entries from a bulk response (same order as sent); returns the retry reasons."""
        if len(items) != len(sent):
            return [f"bulk answered {len(items)} items for {len(sent)} actions"]
        retries = []
        for entry, item in zip(sent, items):
            verdict, detail = classify(entry.action.op, item)
            if verdict is Verdict.OK:
                entry.state = State.DONE
                DOCS.labels(entry.action.target, detail).inc()
            elif verdict is Verdict.REJECT:
                entry.state, entry.reason = State.REJECTED, detail
                DOCS.labels(entry.action.target, "rejected").inc()
            else:
                retries.append(detail)
        return retries

    def drop_partitions(self, partitions: Iterable[tuple[str, int]]) -> int:
        """Forget the records of partitions this process no longer owns (their next owner
        reads them again from the committed offset)."""
        gone = set(partitions)
        kept = [e for e in self.entries if (e.topic, e.partition) not in gone]
        dropped = len(self.entries) - len(kept)
        self.entries = kept
        self._latest = {k: e for k, e in self._latest.items() if (e.topic, e.partition) not in gone}
        if not kept:
            self.started = None
        return dropped

    def offsets(self) -> dict[tuple[str, int], int]:
        """Offsets to commit: one past the last record of each partition."""
        out: dict[tuple[str, int], int] = {}
        for e in self.entries:
            if e.offset + 1 > out.get((e.topic, e.partition), -1):
                out[(e.topic, e.partition)] = e.offset + 1
        return out


# --- batch -> bulk -> dead letters -> commit ------------------------------------------------------

class TransientError(Exception):
    """Elasticsearch or Kafka could not take the batch now; it will be retried. ``kind`` is the
    metrics label: unreachable, bulk_failed, documents, dead_letters."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class Backoff:
    """Exponential backoff with jitter: base, 2*base, ... up to cap."""

    # A 10 s cap keeps recovery quick once Elasticsearch is back; one bulk every 10 s is no load.
    def __init__(self, base: float = 0.5, cap: float = 10.0, jitter: float = 0.2):
        self.base, self.cap, self.jitter, self.attempt = base, cap, jitter, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2 ** self.attempt)
        self.attempt += 1
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        self.attempt = 0


class BatchFlusher:
    """Writes one batch until every record is handled: indexed or deleted by Elasticsearch, or
    dead-lettered with Kafka's acknowledgement. The caller commits afterwards.

    ``bulk(lines)`` returns the bulk response body or raises ``TransientError``;
    ``send_dead_letters(entries)`` returns once Kafka acknowledged them or raises
    ``TransientError``; ``sleep(seconds)`` waits between attempts and returns False when the
    process must stop trying (shutdown)."""

    def __init__(self, bulk: Callable[[list[bytes]], dict], send_dead_letters: Callable[[list[Entry]], None],
                 sleep: Callable[[float], bool], backoff: Backoff | None = None):
        self.bulk, self.send_dead_letters, self.sleep = bulk, send_dead_letters, sleep
        self.backoff = backoff or Backoff()

    def flush(self, batch: IndexBatch) -> bool:
        """True once every record of the batch is handled; False if told to stop first."""
        while True:
            try:
                self._attempt(batch)
                self.backoff.reset()
                return True
            except TransientError as exc:
                RETRIES.labels(exc.kind).inc()
                delay = self.backoff.next()
                log.warning("batch of %d not done (%s); retrying in %.1fs", len(batch), exc, delay)
                if not self.sleep(delay):
                    return False

    def _attempt(self, batch: IndexBatch) -> None:
        sent = batch.pending()
        if sent:
            lines = [line for e in sent for line in e.action.lines]
            started = time.perf_counter()
            response = self.bulk(lines)
            BULK_SECONDS.observe(time.perf_counter() - started)
            retries = batch.apply(sent, response.get("items", []))
            if retries:
                raise TransientError("documents", f"{len(retries)} of {len(sent)} documents: {retries[0]}")
        rejected = batch.rejected()
        if rejected:
            self.send_dead_letters(rejected)
            for e in rejected:
                e.state = State.DONE


# --- Kafka and Elasticsearch wiring ------------------------------------------------------------------

def es_bulk(es) -> Callable[[list[bytes]], dict]:
    from elasticsearch import ApiError, TransportError

    def bulk(lines: list[bytes]) -> dict:
        try:
            return es.bulk(operations=lines).body
        except ApiError as exc:  # the whole request failed: 429, 5xx, or an unexpected 4xx
            raise TransientError("bulk_failed", f"bulk request failed: {exc.meta.status} {exc.message}") from exc
        except TransportError as exc:  # connection refused or reset, timeout
            raise TransientError("unreachable", f"Elasticsearch unreachable: {type(exc).__name__}: {exc}") from exc
    return bulk


class _GaveUp(Exception):
    """Shutdown while a batch could not be written: exit without committing it."""


class Indexer:
    """The consumer loop (asyncio, aiokafka): fills a batch while a writer thread bulk-writes
    the previous one (one bulk in flight, so documents of the same id keep their order), and
    commits each batch once the writer has handled all of it. When the next batch is full
    before the writer is done (Elasticsearch slow or down), the partitions are paused: polling
    goes on for the group's sake, but nothing more is taken."""

    def __init__(self, settings: Settings, *, es=None, translator: Translator | None = None,
                 group_id: str = GROUP_ID, stop: threading.Event | None = None,
                 shutdown_grace: float = 20.0, client_id: str = "borderhub-indexer",
                 consumer=None, producer=None, bulk: Callable[[list[bytes]], dict] | None = None,
                 backoff: Backoff | None = None):
        self.settings = settings
        self.group_id = group_id
        self.client_id = client_id
        self.stop = stop or threading.Event()
        self.shutdown_grace = shutdown_grace
        self.codec = translator.codec if translator else AvroCodec(SchemaCatalog(settings.schemas_dir))
        self.translator = translator or Translator(self.codec)
        if bulk is None:
            from services.search_api.es_setup import make_client
            # No client-side retries: the flusher's backoff is the single retry policy.
            bulk = es_bulk(es or make_client(settings, request_timeout=60, max_retries=0))
        self.consumer, self.producer = consumer, producer  # made in run() when not given
        self.flusher = BatchFlusher(bulk, self._send_dead_letters, self._sleep, backoff)
        self.batch = IndexBatch(self.translator)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-bulk")
        self._inflight: tuple[asyncio.Future, IndexBatch] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._give_up_at: float | None = None
        self._next_lag_update = 0.0
        self._quiet = False  # the last poll returned nothing
        self._to_commit: dict[tuple[str, int], int] = {}  # handled, not yet committed
        # Flush as soon as the stream goes quiet, so a lone event is not held for the full
        # flush interval; under load, batches fill up to the size or the interval.
        self.linger = min(0.05, settings.indexer_flush_interval)

    def _make_consumer(self):
        from aiokafka import AIOKafkaConsumer
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group indexes the retained history
            max_poll_records=self.settings.indexer_batch_size,
            fetch_max_wait_ms=100,
            max_poll_interval_ms=300_000,
        )

    # -- writer-thread callbacks -------------------------------------------------------------

    def _send_dead_letters(self, entries: list[Entry]) -> None:
        assert self._loop is not None
        produced = asyncio.run_coroutine_threadsafe(self._produce_dead_letters(entries), self._loop)
        try:
            produced.result(timeout=60)
        except Exception as exc:  # KafkaError or timeout: nothing is handled until acknowledged
            produced.cancel()
            raise TransientError("dead_letters", f"dead letters not acknowledged: {exc!r}") from exc
        for e in entries:
            log.warning("dead-lettered %s[%d]@%d: %s", e.topic, e.partition, e.offset, e.reason)

    async def _produce_dead_letters(self, entries: list[Entry]) -> None:
        sent = []
        for e in entries:
            datum = dead_letter(SERVICE, e.reason or "rejected", e.value, key=e.key, topic=e.topic,
                                partition=e.partition, offset=e.offset)
            sent.append(await self.producer.send(DEADLETTER, key=e.key, value=self.codec.encode("deadletters", datum)))
        await asyncio.gather(*sent)

    def _sleep(self, seconds: float) -> bool:
        """Backoff between attempts; after SIGTERM, attempts go on for the grace period only."""
        if not self.stop.wait(seconds):
            return True
        now = time.monotonic()
        if self._give_up_at is None:
            self._give_up_at = now + self.shutdown_grace
        time.sleep(max(0.0, min(seconds, self._give_up_at - now)))
        return time.monotonic() < self._give_up_at

    # -- consumer side -----------------------------------------------------------------------

    async def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commits the offsets of a handled batch now, or after the rebalance in progress."""
        for tp, offset in offsets.items():
            self._to_commit[tp] = max(offset, self._to_commit.get(tp, 0))
        await self._commit_pending()

    async def _commit_pending(self) -> bool:
        """True when nothing is left to commit."""
        from aiokafka import TopicPartition
        from aiokafka.errors import CommitFailedError
        if not self._to_commit:
            return True
        owned = self.consumer.assignment()
        # Partitions revoked meanwhile are left to their new owner, who re-reads them
        # (re-indexing is idempotent, so nothing is lost).
        commit = {TopicPartition(t, p): o for (t, p), o in self._to_commit.items() if TopicPartition(t, p) in owned}
        try:
            if commit:
                await self.consumer.commit(commit)
        except CommitFailedError as exc:
            log.info("commit after the rebalance in progress (%s)", exc)
            return False
        self._to_commit.clear()
        return True

    def _take(self, polled: dict) -> None:
        for tp, records in polled.items():
            for r in records:
                self.batch.add(tp.topic, tp.partition, r.offset, r.key, r.value)

    def _submit(self) -> None:
        batch, self.batch = self.batch, IndexBatch(self.translator)
        self._inflight = (asyncio.wrap_future(self._writer.submit(self.flusher.flush, batch)), batch)

    async def _finish(self, wait: bool = False) -> None:
        """Commits the in-flight batch once the writer is done with it."""
        if self._inflight is None or not (wait or self._inflight[0].done()):
            return
        future, batch = self._inflight
        handled = await future  # raises whatever broke the writer: crash, commit nothing
        self._inflight = None
        if not handled:
            raise _GaveUp
        await self._commit(batch.offsets())

    async def _step(self) -> None:
        size, interval = self.settings.indexer_batch_size, self.settings.indexer_flush_interval
        await self._finish()
        batch = self.batch
        if len(batch) and self._inflight is None and (
                len(batch) >= size or batch.age() >= interval or self._quiet):
            self._submit()
            batch = self.batch
        room = size - len(batch)
        owned = self.consumer.assignment()
        if room <= 0:
            self.consumer.pause(*owned)  # backpressure: the writer is behind
        elif self.consumer.paused():
            self.consumer.resume(*self.consumer.paused())
        if len(batch):
            # Ready and waiting for the writer: check back soon; else until the batch is due.
            timeout = 0.01 if self._inflight else max(0.0, min(self.linger, interval - batch.age()))
        else:
            timeout = 0.05 if self._inflight else 0.2
        polled = await self.consumer.getmany(timeout_ms=int(timeout * 1000), max_records=max(1, room))
        if not polled and not owned:
            await asyncio.sleep(timeout)  # nothing assigned (yet): don't spin
        self._quiet = not polled
        self._take(polled)
        await self._commit_pending()
        await self._update_lag()

    async def _update_lag(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_lag_update:
            return
        self._next_lag_update = now + 2.0
        lag: dict[str, int] = defaultdict(int)
        try:
            owned = list(self.consumer.assignment())
            ends = await self.consumer.end_offsets(owned) if owned else {}
            for tp in owned:
                position = await self.consumer.position(tp)
                if tp in ends:
                    lag[tp.topic] += max(0, ends[tp] - position)
        except Exception as exc:  # lag is informative; never let it stop indexing
            log.debug("lag not updated: %s", exc)
            return
        for topic in self.translator.topic_kinds:
            LAG.labels(self.group_id, topic).set(lag.get(topic, 0))

    async def _commit_before_exit(self) -> None:
        deadline = time.monotonic() + self.shutdown_grace
        while not await self._commit_pending() and time.monotonic() < deadline:
            self.consumer.pause(*self.consumer.assignment())
            await self.consumer.getmany(timeout_ms=100)  # lets the rebalance finish; takes nothing

    # -- main loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        from aiokafka import ConsumerRebalanceListener

        from borderhub.kafka import make_async_producer

        indexer = self

        class Rebalance(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                # Hand over what is handled; what is only taken goes to the next owner.
                await indexer._commit_pending()
                dropped = indexer.batch.drop_partitions((tp.topic, tp.partition) for tp in revoked)
                if dropped:
                    log.info("rebalance: %d uncommitted records left to the next owner", dropped)

            async def on_partitions_assigned(self, assigned):
                log.info("assigned %d partitions", len(assigned))

        self._loop = asyncio.get_running_loop()
        self.consumer = self.consumer or self._make_consumer()
        self.producer = self.producer or make_async_producer(self.settings, f"{self.client_id}-deadletters")
        await self.producer.start()
        self.consumer.subscribe(list(self.translator.topic_kinds), listener=Rebalance())
        await self.consumer.start()
        log.info("indexing %s as group %s", ", ".join(self.translator.topic_kinds), self.group_id)
        try:
            while not self.stop.is_set():
                await self._step()
            # SIGTERM: write what was taken (within the grace period), commit, leave.
            await self._finish(wait=True)
            if len(self.batch):
                self._submit()
                await self._finish(wait=True)
            await self._commit_before_exit()
        except _GaveUp:
            log.warning("stopped before Elasticsearch took the batch; it stays uncommitted")
            await self._commit_before_exit()  # batches handled before it still count
        finally:
            self.stop.set()  # after a crash too: the writer's retries end within the grace period
            if self._inflight is not None:
                await asyncio.wait([self._inflight[0]])
            self._writer.shutdown(wait=True)
            await self._update_lag(force=True)
            await self.consumer.stop()
            await self.producer.stop()
            log.info("indexer stopped")


def run(settings: Settings, group_id: str | None = None) -> None:
    """``borderhub indexer``: set up the indices, serve /metrics, index until SIGTERM.
    ``group_id``: another consumer group indexes independently (tests, a second cluster)."""
    from services.search_api.es_setup import ensure_indices, make_client

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("elastic_transport", "aiokafka", "kafka"):  # one line per request otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    _retry_until_ready(lambda: ensure_indices(make_client(settings), settings), stop)
    start_http_server(settings.indexer_metrics_port, addr=settings.indexer_metrics_host)
    threading.Thread(target=merge_finished_months_forever, args=(settings, stop), name="indexer-merge",
                     daemon=True).start()
    if not stop.is_set():
        asyncio.run(_serve(Indexer(settings, stop=stop, group_id=group_id or settings.indexer_group_id)))


MERGE_CHECK_SECONDS = 3600.0


def merge_finished_months_forever(settings: Settings, stop: threading.Event,
                                  every: float = MERGE_CHECK_SECONDS) -> None:
    """Index lifecycle, next to the writes: once a month is over, its events and links indices
    are force-merged into one segment each (``es_setup.merge_finished_months``); checked at
    start and hourly, so a month is merged once, and again only when late events reached it."""
    from services.search_api.es_setup import make_client, merge_finished_months

    es = make_client(settings, max_retries=0)
    while not stop.is_set():
        for alias in (EVENTS_ALIAS, LINKS_ALIAS):
            try:
                merged = merge_finished_months(es, alias)
                if merged:
                    log.info("merged finished months: %s", ", ".join(merged))
            except Exception as exc:  # maintenance only: indexing goes on, the next check retries
                log.warning("finished months of %s not merged: %s", alias, exc)
        stop.wait(every)


async def _serve(indexer: Indexer) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, indexer.stop.set)
    await indexer.run()


def _retry_until_ready(setup: Callable[[], Any], stop: threading.Event) -> None:
    # The indexer may start before Elasticsearch answers (borderhub up starts all at once).
    backoff = Backoff(base=1.0, cap=15.0)
    while not stop.is_set():
        try:
            setup()
            return
        except Exception as exc:
            delay = backoff.next()
            log.warning("Elasticsearch not ready (%s); retrying in %.0fs", exc, delay)
            stop.wait(delay)


def main(argv: list[str] | None = None) -> None:
    """``python -m services.search_api.indexer [--group G]``: the CLI's indexer, in a group of
    one's choosing."""
    import argparse

    from borderhub.settings import get_settings
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--group", default=GROUP_ID, help=f"consumer group (default {GROUP_ID})")
    run(get_settings(), group_id=parser.parse_args(argv).group)


if __name__ == "__main__":
    main()
