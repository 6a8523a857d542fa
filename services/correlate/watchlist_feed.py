"""The watchlist as every worker sees it: the compacted ``watchlist.entries.v1`` read into the
in-memory index, then followed live.

The compacted topic is the table's changelog: adds and changes are the latest value per entry
id, deletes are tombstones. Every worker needs every entry (events are partitioned by
traveller, not by entry), so each reads all partitions without a consumer group. A restart
recovers the whole table from a snapshot of it (``watchlist_snapshot.py``) and the topic from
the snapshot's offsets on, or, without a usable snapshot, by reading the topic again."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from typing import Any, Callable

from prometheus_client import Counter, Gauge

from borderhub.avro import AvroCodec, DecodeError
from borderhub.settings import Settings
from services.correlate.follower import TopicFollower
from services.correlate.watchlist_snapshot import SnapshotMeta, SnapshotStore, TopicIdentity, describe_topic, hash_probe

log = logging.getLogger("borderhub.correlate.watchlist")

LOAD_SECONDS = Gauge("borderhub_correlate_watchlist_load_seconds",
                     "Time from start to the watchlist loaded, by where it came from", ["source"])
SNAPSHOTS = Counter("borderhub_correlate_watchlist_snapshots_total",
                    "Watchlist snapshots written, confirmed unchanged, or failed", ["outcome"])


class WatchlistFeed(TopicFollower):
    """With ``load`` (bulk insert of many entries), the topic's history is applied in chunks of
    ``LOAD_CHUNK`` entries instead of one upsert at a time (a million entries load in about
    half the time); live records after that are applied one by one."""

    LOAD_CHUNK = 50_000

    def __init__(self, settings: Settings, codec: AvroCodec, upsert: Callable[[dict], None],
                 remove: Callable[[str], None], on_bad_record: Callable[..., None] | None = None,
                 load: Callable[[list[dict]], None] | None = None,
                 capture: Callable[[], tuple[Any, int]] | None = None,
                 restore: Callable[[Any, bool], None] | None = None):
        """capture: the watchlist state to snapshot and its entry count; restore(state,
        same_hashes): adopt a snapshot's state. Without both, no snapshots."""
        super().__init__(settings, settings.correlate_watchlist_topic, self._apply)
        self.codec = codec
        self.upsert, self.remove, self.load = upsert, remove, load
        self.on_bad_record = on_bad_record
        self._history: dict[str, dict] = {}  # entry id -> latest entry not yet loaded
        self.capture, self.restore = capture, restore
        interval = settings.correlate_snapshot_interval
        self.snapshots = SnapshotStore(settings.correlate_snapshot_dir or settings.state_dir / "snapshots",
                                       self.topic) if capture and restore and interval > 0 else None
        self.snapshot_interval = interval
        self._identity: TopicIdentity | None = None
        self._meta: SnapshotMeta | None = None  # the snapshot on disk that this worker wrote or restored
        self._applied_at_meta = 0
        self._writer: tuple[int, SnapshotMeta, int, float] | None = None  # pid, meta, applied, started
        self._last_snapshot = time.monotonic()
        self._started = time.monotonic()
        self.restored = False

    def _apply(self, record) -> None:
        entry_id = record.key.decode() if record.key else None
        if entry_id is None:
            self._bad(record, "watchlist record without a key")
        elif record.value is None:
            self._history.pop(entry_id, None)
            self.remove(entry_id)  # it may be in a chunk loaded already
        else:
            try:
                entry = self.codec.decode(record.value, "watchlist")
            except DecodeError as exc:
                self._bad(record, f"undecodable watchlist entry: {exc}")
                return
            if self.load is None or self.ready.is_set():
                self.upsert(entry)
                return
            self._history.pop(entry_id, None)  # re-inserted: loaded in the order last written
            self._history[entry_id] = entry
            if len(self._history) >= self.LOAD_CHUNK:
                self._load_history()

    def caught_up(self) -> None:
        self._load_history()
        LOAD_SECONDS.labels("snapshot" if self.restored else "topic").set(time.monotonic() - self._started)
        if self.snapshots is not None:
            self._snapshot()

    def followed(self, got_records: bool) -> None:
        if self.snapshots is None:
            return
        self._reap_writer()
        if time.monotonic() - self._last_snapshot >= self.snapshot_interval:
            self._snapshot()

    # ------------------------------------------------------------------ snapshots

    async def _seek(self, consumer, partitions) -> None:
        offsets = await self._restore_snapshot(consumer, partitions) if self.snapshots is not None else None
        if offsets is None:
            await consumer.seek_to_beginning(*partitions)
            return
        beginnings = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, offsets.get(tp.partition, beginnings[tp]))

    async def _restore_snapshot(self, consumer, partitions) -> dict[int, int] | None:
        """Restore the snapshot when it is usable (see ``SnapshotStore.usable_meta``): the
        offsets to read on from, else None (read the topic from the beginning)."""
        try:
            self._identity = await asyncio.to_thread(describe_topic, self.settings.kafka_bootstrap, self.topic)
        except Exception as exc:  # snapshots are an optimisation: the topic is the truth
            log.warning("watchlist snapshots off: cannot describe %s: %s", self.topic, exc)
            return None
        self.snapshots.remove_leftovers()
        meta, why = self.snapshots.usable_meta(self._identity)
        if meta is None:
            log.info("watchlist snapshot not used: %s", why)
            return None
        beginnings = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            offset = meta.offsets.get(tp.partition)
            if offset is not None and not beginnings[tp] <= offset <= ends[tp]:
                log.info("watchlist snapshot not used: offset %d of partition %d is outside %d..%d",
                         offset, tp.partition, beginnings[tp], ends[tp])
                return None
        started = time.monotonic()
        try:
            state = await asyncio.to_thread(self.snapshots.read_state, meta)
        except Exception as exc:
            log.warning("watchlist snapshot not used: unreadable state: %s", exc)
            return None
        same_hashes = meta.hash_probe == hash_probe()
        # In a thread: rebuilding postings (another hash seed) takes seconds, and the loop has
        # heartbeats to send meanwhile. Nothing reads the watchlist before the feed is ready.
        await asyncio.to_thread(self.restore, state, same_hashes)
        self._meta, self._applied_at_meta, self.restored = meta, self.applied, True
        log.info("watchlist restored from snapshot: %d entries, %.0f s old, in %.1f s%s; reading on from %s",
                 meta.entries, time.time() - meta.written_at, time.monotonic() - started,
                 "" if same_hashes else " (postings rebuilt: another hash seed)", meta.offsets)
        return meta.offsets

    def _snapshot(self) -> None:
        """Write a snapshot of the state as applied so far (in a forked child), or only confirm
        the one on disk when nothing was applied since it."""
        self._last_snapshot = time.monotonic()
        identity = self._identity
        if self._writer is not None or identity is None or not identity.topic_id:
            return
        # Unchanged since our snapshot, and still ours on disk (workers may share the directory):
        # confirm it; else write one.
        if self._meta is not None and self.applied == self._applied_at_meta and \
                self._meta.offsets == self.positions and self.snapshots.state_id() == self._meta.state_id:
            self._meta = dataclasses.replace(self._meta, confirmed_at=time.time())
            self.snapshots.write_meta(self._meta)
            SNAPSHOTS.labels("confirmed").inc()
            return
        state, entries = self.capture()
        meta = self.snapshots.new_meta(identity, self.positions, entries)
        started = time.monotonic()
        pid = self.snapshots.write_in_background(state, meta)
        if pid is None:
            self._finish_snapshot(meta, self.applied, started, self.snapshots.write(state, meta))
        else:
            self._writer = (pid, meta, self.applied, started)

    def _reap_writer(self, block: bool = False) -> None:
        if self._writer is None:
            return
        pid, meta, applied, started = self._writer
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            if not done:
                return
            succeeded = os.waitstatus_to_exitcode(status) == 0
        except ChildProcessError:  # reaped by someone else: the state file tells
            status, succeeded = -1, self.snapshots.state_id() == meta.state_id
        self._writer = None
        if succeeded:
            self._finish_snapshot(meta, applied, started, self.snapshots.state_path.stat().st_size)
        else:
            SNAPSHOTS.labels("failed").inc()
            log.warning("watchlist snapshot failed (writer status %s)", status)

    def _finish_snapshot(self, meta: SnapshotMeta, applied: int, started: float, size: int) -> None:
        self._meta, self._applied_at_meta = meta, applied
        SNAPSHOTS.labels("written").inc()
        log.info("watchlist snapshot written: %d entries, %.0f MB, in %.1f s", meta.entries, size / 1e6,
                 time.monotonic() - started)

    def _load_history(self) -> None:
        if self._history and self.load is not None:
            entries, self._history = list(self._history.values()), {}
            self.load(entries)

    def _bad(self, record, reason: str) -> None:
        log.warning("%s at %s/%s@%s", reason, record.topic, record.partition, record.offset)
        if self.on_bad_record:
            self.on_bad_record(record, reason)
