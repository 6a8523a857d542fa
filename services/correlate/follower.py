"""A topic every worker reads in full (no consumer group), from the beginning or from a point
in time, then follows live: the watchlist table and the link graph are built this way."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from borderhub.settings import Settings

log = logging.getLogger("borderhub.correlate.follower")


class TopicFollower:
    def __init__(self, settings: Settings, topic: str, apply: Callable[[object], None],
                 since: Callable[[], dt.datetime] | None = None):
        self.settings, self.topic, self.apply = settings, topic, apply
        self.since = since  # None: from the beginning
        self.ready = asyncio.Event()  # set once the topic was read to the end it had at start
        self.applied = 0
        self.positions: dict[int, int] = {}  # partition -> next offset, of what has been applied

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
            await self._seek(consumer, partitions)
            self.positions = {tp.partition: await consumer.position(tp) for tp in partitions}
            end = await consumer.end_offsets(partitions)
            pending = {tp for tp in partitions if self.positions[tp.partition] < end[tp]}
            while True:
                if not pending and not self.ready.is_set():
                    self.caught_up()
                    log.info("%s loaded: %d records applied", self.topic, self.applied)
                    self.ready.set()
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self.apply(record)
                        self.applied += 1
                    if records:
                        self.positions[tp.partition] = records[-1].offset + 1
                    await asyncio.sleep(0)
                pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
                if self.ready.is_set():
                    self.followed(bool(batches))
        finally:
            await consumer.stop()

    def caught_up(self) -> None:
        """Called once, when the topic has been read to the end it had at start, before
        ``ready`` is set: a subclass that buffered the history applies the rest of it here."""

    def followed(self, got_records: bool) -> None:
        """Called after every poll once ready, between records: a subclass's chance to act on
        a consistent state (``positions`` is exactly what has been applied)."""

    async def _seek(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        if self.since is None:
            await consumer.seek_to_beginning(*partitions)
            return
        found = await consumer.offsets_for_times({tp: int(self.since().timestamp() * 1000) for tp in partitions})
        await consumer.seek_to_end(*partitions)
        for tp, offset in found.items():
            if offset is not None:
                consumer.seek(tp, offset.offset)


def partition_ids(settings: Settings, topic: str) -> list[int]:
    # aiokafka's consumer answers partitions_for_topic only for subscribed topics; ask plainly.
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None)
    try:
        return sorted(consumer.partitions_for_topic(topic) or [])
    finally:
        consumer.close()
