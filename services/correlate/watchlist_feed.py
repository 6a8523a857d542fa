"""The watchlist as every worker sees it: the compacted ``watchlist.entries.v1`` read from the
beginning into the in-memory index, then followed live.

The compacted topic is the table's changelog: adds and changes are the latest value per entry
id, deletes are tombstones. Every worker needs every entry (events are partitioned by
traveller, not by entry), so each reads all partitions without a consumer group; a restart
recovers the whole table by reading the topic again."""

from __future__ import annotations

import logging
from typing import Callable

from borderhub.avro import AvroCodec, DecodeError
from borderhub.settings import Settings
from borderhub.topics import WATCHLIST
from services.correlate.follower import TopicFollower

log = logging.getLogger("borderhub.correlate.watchlist")


class WatchlistFeed(TopicFollower):
    def __init__(self, settings: Settings, codec: AvroCodec, upsert: Callable[[dict], None],
                 remove: Callable[[str], None], on_bad_record: Callable[..., None] | None = None):
        super().__init__(settings, WATCHLIST, self._apply)
        self.codec = codec
        self.upsert, self.remove = upsert, remove
        self.on_bad_record = on_bad_record

    def _apply(self, record) -> None:
        entry_id = record.key.decode() if record.key else None
        if entry_id is None:
            self._bad(record, "watchlist record without a key")
        elif record.value is None:
            self.remove(entry_id)
        else:
            try:
                self.upsert(self.codec.decode(record.value, "watchlist"))
            except DecodeError as exc:
                self._bad(record, f"undecodable watchlist entry: {exc}")

    def _bad(self, record, reason: str) -> None:
        log.warning("%s at %s/%s@%s", reason, record.topic, record.partition, record.offset)
        if self.on_bad_record:
            self.on_bad_record(record, reason)
