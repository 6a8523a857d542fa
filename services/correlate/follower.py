"""A topic every worker reads in full (no consumer group), from the beginning or from a point
in time, then follows live: the watchlist table and the link graph are built this way.

With a ``SnapshotPolicy`` the follower starts from the latest usable snapshot of what it built
(and the offsets it reflects) instead, and writes snapshots after catching up and then every
``interval`` seconds while records arrive (``snapshots.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge

from borderhub.settings import Settings
from services.correlate.snapshots import SnapshotMeta, SnapshotStore, TopicIdentity, describe_topic, hash_probe

log = logging.getLogger("borderhub.correlate.follower")

LOAD_SECONDS = Gauge("borderhub_correlate_load_seconds",
                     "Time from start to a followed topic's state loaded, by where it came from", ["topic", "source"])
SNAPSHOTS = Counter("borderhub_correlate_snapshots_total",
                    "Snapshots written, confirmed unchanged, or failed, by topic", ["topic", "outcome"])


@dataclass
class SnapshotPolicy:
    """How a follower's state is snapshotted. capture: the state and its size (entries, nodes);
    restore(state, same_hashes): adopt a snapshot's state; max_age(identity): how long after
    its last confirmation a snapshot of this topic stays safe to restore (None: unknown, never)."""
    store: SnapshotStore
    capture: Callable[[], tuple[Any, int]]
    restore: Callable[[Any, bool], None]
    interval: float
    max_age: Callable[[TopicIdentity], float | None]


def snapshot_policy(settings: Settings, topic: str, capture: Callable[[], tuple[Any, int]],
                    restore: Callable[[Any, bool], None],
                    max_age: Callable[[TopicIdentity], float | None]) -> SnapshotPolicy | None:
    """The policy of the settings (None when snapshots are off)."""
    if settings.correlate_snapshot_interval <= 0:
        return None
    store = SnapshotStore(settings.correlate_snapshot_dir or settings.state_dir / "snapshots", topic)
    return SnapshotPolicy(store, capture, restore, settings.correlate_snapshot_interval, max_age)


class TopicFollower:
    def __init__(self, settings: Settings, topic: str, apply: Callable[[object], None],
                 since: Callable[[], dt.datetime] | None = None, snapshots: SnapshotPolicy | None = None):
        self.settings, self.topic, self.apply = settings, topic, apply
        self.since = since  # None: from the beginning
        self.ready = asyncio.Event()  # set once the topic was read to the end it had at start
        self.applied = 0
        self.positions: dict[int, int] = {}  # partition -> next offset, of what has been applied
        self.snapshots = snapshots
        self.restored = False
        self._identity: TopicIdentity | None = None
        self._meta: SnapshotMeta | None = None  # the snapshot on disk that this follower wrote or restored
        self._applied_at_meta = 0
        self._writer: tuple[int, SnapshotMeta, int, float] | None = None  # pid, meta, applied, started
        self._last_snapshot = time.monotonic()
        self._started = time.monotonic()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        await consumer.start()
        log.info("reading %s", self.topic)
        try:
            ids = await asyncio.to_thread(partition_ids, self.settings, self.topic)
            if not ids:
                raise RuntimeError(f"topic {self.topic} does not exist; run `borderhub topics create`")
            partitions = [TopicPartition(self.topic, p) for p in ids]
            consumer.assign(partitions)
            if self.snapshots is None or not await self._restore_snapshot(consumer, partitions):
                await self._seek(consumer, partitions)
            self.positions = {tp.partition: await consumer.position(tp) for tp in partitions}
            end = await consumer.end_offsets(partitions)
            pending = {tp for tp in partitions if self.positions[tp.partition] < end[tp]}
            while True:
                if not pending and not self.ready.is_set():
                    self._loaded()
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self.apply(record)
                        self.applied += 1
                    if records:
                        self.positions[tp.partition] = records[-1].offset + 1
                    await asyncio.sleep(0)
                pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
                if self.ready.is_set() and self.snapshots is not None:
                    self._keep_snapshot()  # between polls: the state is exactly ``positions``
        finally:
            await consumer.stop()

    def _loaded(self) -> None:
        self.caught_up()
        LOAD_SECONDS.labels(self.topic, "snapshot" if self.restored else "topic").set(time.monotonic() - self._started)
        if self.snapshots is not None:
            self._snapshot()
        log.info("%s loaded: %d records applied", self.topic, self.applied)
        self.ready.set()

    def _keep_snapshot(self) -> None:
        self._reap_writer()
        if time.monotonic() - self._last_snapshot >= self.snapshots.interval:
            self._snapshot()

    def caught_up(self) -> None:
        """Called once, when the topic has been read to the end it had at start, before
        ``ready`` is set: a subclass that buffered the history applies the rest of it here."""

    async def _seek(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        if self.since is None:
            await consumer.seek_to_beginning(*partitions)
            return
        found = await consumer.offsets_for_times({tp: int(self.since().timestamp() * 1000) for tp in partitions})
        await consumer.seek_to_end(*partitions)
        for tp, offset in found.items():
            if offset is not None:
                consumer.seek(tp, offset.offset)

    # ------------------------------------------------------------------ snapshots

    async def _restore_snapshot(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
                                ) -> bool:
        """Restore the snapshot when it is usable (``SnapshotStore.usable_meta``, and its offsets
        within the partitions' current ranges) and seek to its offsets; False when not restored."""
        policy = self.snapshots
        try:
            self._identity = await asyncio.to_thread(describe_topic, self.settings.kafka_bootstrap, self.topic)
        except Exception as exc:  # snapshots are an optimisation: the topic is the truth
            log.warning("%s: snapshots off, cannot describe the topic: %s", self.topic, exc)
            return False
        policy.store.remove_leftovers()
        meta, why = policy.store.usable_meta(self._identity, policy.max_age(self._identity))
        if meta is None:
            log.info("%s: snapshot not used: %s", self.topic, why)
            return False
        beginnings = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            offset = meta.offsets.get(tp.partition)
            if offset is not None and not beginnings[tp] <= offset <= ends[tp]:
                log.info("%s: snapshot not used: offset %d of partition %d is outside %d..%d",
                         self.topic, offset, tp.partition, beginnings[tp], ends[tp])
                return False
        started = time.monotonic()
        try:
            state = await asyncio.to_thread(policy.store.read_state, meta)
        except Exception as exc:
            log.warning("%s: snapshot not used: unreadable state: %s", self.topic, exc)
            return False
        same_hashes = meta.hash_probe == hash_probe()
        # In a thread: rebuilding hashed structures (another hash seed) takes seconds, and the
        # loop has heartbeats to send meanwhile. Nothing reads the state before ``ready``.
        await asyncio.to_thread(policy.restore, state, same_hashes)
        self._meta, self._applied_at_meta, self.restored = meta, self.applied, True
        log.info("%s: restored from snapshot: %d entries, %.0f s old, in %.1f s%s; reading on from %s",
                 self.topic, meta.entries, time.time() - meta.written_at, time.monotonic() - started,
                 "" if same_hashes else " (hashed structures rebuilt: another hash seed)", meta.offsets)
        for tp in partitions:  # a partition added since the snapshot is read from its beginning
            consumer.seek(tp, meta.offsets.get(tp.partition, beginnings[tp]))
        return True

    def _snapshot(self) -> None:
        """Write a snapshot of the state as applied so far (in a forked child), or only confirm
        the one on disk when nothing was applied since it."""
        self._last_snapshot = time.monotonic()
        identity, store = self._identity, self.snapshots.store
        if self._writer is not None or identity is None or not identity.topic_id:
            return
        # Unchanged since our snapshot, and still ours on disk (workers may share the directory):
        # confirm it; else write one.
        if self._meta is not None and self.applied == self._applied_at_meta and \
                self._meta.offsets == self.positions and store.state_id() == self._meta.state_id:
            self._meta = dataclasses.replace(self._meta, confirmed_at=time.time())
            store.write_meta(self._meta)
            SNAPSHOTS.labels(self.topic, "confirmed").inc()
            return
        state, entries = self.snapshots.capture()
        meta = store.new_meta(identity, self.positions, entries)
        started = time.monotonic()
        pid = store.write_in_background(state, meta)
        if pid is None:
            self._finish_snapshot(meta, self.applied, started, store.write(state, meta))
        else:
            self._writer = (pid, meta, self.applied, started)

    def _reap_writer(self, block: bool = False) -> None:
        if self._writer is None:
            return
        pid, meta, applied, started = self._writer
        store = self.snapshots.store
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            if not done:
                return
            succeeded = os.waitstatus_to_exitcode(status) == 0
        except ChildProcessError:  # reaped by someone else: the state file tells
            status, succeeded = -1, store.state_id() == meta.state_id
        self._writer = None
        if succeeded:
            self._finish_snapshot(meta, applied, started, store.state_path.stat().st_size)
        else:
            SNAPSHOTS.labels(self.topic, "failed").inc()
            log.warning("%s: snapshot failed (writer status %s)", self.topic, status)

    def _finish_snapshot(self, meta: SnapshotMeta, applied: int, started: float, size: int) -> None:
        self._meta, self._applied_at_meta = meta, applied
        SNAPSHOTS.labels(self.topic, "written").inc()
        log.info("%s: snapshot written: %d entries, %.0f MB, in %.1f s", self.topic, meta.entries, size / 1e6,
                 time.monotonic() - started)


def partition_ids(settings: Settings, topic: str) -> list[int]:
    # aiokafka's consumer answers partitions_for_topic only for subscribed topics; ask plainly.
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None)
    try:
        return sorted(consumer.partitions_for_topic(topic) or [])
    finally:
        consumer.close()
