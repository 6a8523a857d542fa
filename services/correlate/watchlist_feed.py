"""The watchlist as every worker sees it: the compacted ``watchlist.entries.v1`` read from the
beginning into the in-memory index, then followed live.

The compacted topic is the table's changelog: adds and changes are the latest value per entry
id, deletes are tombstones. Every worker needs every entry (events are partitioned by
traveller, not by entry), so each reads all partitions without a consumer group; a restart
recovers the whole table by reading the topic again."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from borderhub.avro import AvroCodec, DecodeError
from borderhub.settings import Settings
from borderhub.topics import WATCHLIST

log = logging.getLogger("borderhub.correlate.watchlist")


class WatchlistFeed:
    def __init__(self, settings: Settings, codec: AvroCodec, upsert: Callable[[dict], None],
                 remove: Callable[[str], None], on_bad_record: Callable[..., None] | None = None):
        self.settings = settings
        self.codec = codec
        self.upsert, self.remove = upsert, remove
        self.on_bad_record = on_bad_record
        self.ready = asyncio.Event()  # set once the topic has been read to its end at start
        self.applied = 0
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        self._consumer = consumer
        await consumer.start()
        log.info("reading the watchlist from %s", WATCHLIST)
        try:
            partitions = [TopicPartition(WATCHLIST, p) for p in await asyncio.to_thread(_partition_ids, self.settings)]
            if not partitions:
                raise RuntimeError(f"topic {WATCHLIST} does not exist; run `borderhub topics create`")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            pending = {tp for tp, offset in end.items() if offset > 0}
            if not pending:
                self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self.apply(record)
                if not self.ready.is_set():
                    positions = {tp: await consumer.position(tp) for tp in pending}
                    pending = {tp for tp in pending if positions[tp] < end[tp]}
                    if not pending:
                        log.info("watchlist loaded: %d records applied", self.applied)
                        self.ready.set()
        finally:
            await consumer.stop()

    def apply(self, record) -> None:
        entry_id = record.key.decode() if record.key else None
        if entry_id is None:
            self._bad(record, "watchlist record without a key")
            return
        if record.value is None:
            self.remove(entry_id)
        else:
            try:
                entry = self.codec.decode(record.value, "watchlist")
            except DecodeError as exc:
                self._bad(record, f"undecodable watchlist entry: {exc}")
                return
            self.upsert(entry)
        self.applied += 1

    def _bad(self, record, reason: str) -> None:
        log.warning("%s at %s/%s@%s", reason, record.topic, record.partition, record.offset)
        if self.on_bad_record:
            self.on_bad_record(record, reason)


def _partition_ids(settings: Settings) -> list[int]:
    # aiokafka's consumer answers partitions_for_topic only for subscribed topics; ask plainly.
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None)
    try:
        return sorted(consumer.partitions_for_topic(WATCHLIST) or [])
    finally:
        consumer.close()
