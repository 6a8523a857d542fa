"""The watchlist as every worker sees it: the compacted ``watchlist.entries.v1`` read into the
in-memory index, then followed live.

The compacted topic is the table's changelog: adds and changes are the latest value per entry
id, deletes are tombstones. Every worker needs every entry (events are partitioned by
traveller, not by entry), so each reads all partitions without a consumer group. A restart
recovers the whole table from a snapshot of it (``snapshots.py``) and the topic from
the snapshot's offsets on, or, without a usable snapshot, by reading the topic again."""

from __future__ import annotations

import logging
from typing import Callable

from borderhub.avro import AvroCodec, DecodeError
from borderhub.settings import Settings
from services.correlate.follower import SnapshotPolicy, TopicFollower

log = logging.getLogger("borderhub.correlate.watchlist")


class WatchlistFeed(TopicFollower):
    """With ``load`` (bulk insert of many entries), the topic's history is applied in chunks of
    ``LOAD_CHUNK`` entries instead of one upsert at a time (a million entries load in about
    half the time); live records after that are applied one by one."""

    LOAD_CHUNK = 50_000

    def __init__(self, settings: Settings, codec: AvroCodec, upsert: Callable[[dict], None],
                 remove: Callable[[str], None], on_bad_record: Callable[..., None] | None = None,
                 load: Callable[[list[dict]], None] | None = None, snapshots: SnapshotPolicy | None = None):
        super().__init__(settings, settings.correlate_watchlist_topic, self._apply, snapshots=snapshots)
        self.codec = codec
        self.upsert, self.remove, self.load = upsert, remove, load
        self.on_bad_record = on_bad_record
        self._history: dict[str, dict] = {}  # entry id -> latest entry not yet loaded

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

    def _load_history(self) -> None:
        if self._history and self.load is not None:
            entries, self._history = list(self._history.values()), {}
            self.load(entries)

    def _bad(self, record, reason: str) -> None:
        log.warning("%s at %s/%s@%s", reason, record.topic, record.partition, record.offset)
        if self.on_bad_record:
            self.on_bad_record(record, reason)
