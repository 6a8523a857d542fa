"""Retro-hunt: when an entry is added to a watchlist, the events of the last N days are screened
against it, so a wanted person who crossed last week is found today.

Events are read back from Kafka (the event topics keep 30 days). Each worker hunts only in the
event partitions it owns, so the work is split like live traffic and nothing is screened twice
by design; hits use the same deterministic ids as live alerts, so a repeated hunt (the entry
re-added, a rebalance mid-hunt) cannot duplicate an alert."""

from __future__ import annotations

import datetime as dt
import logging
from typing import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from borderhub.avro import AvroCodec, DecodeError
from borderhub.settings import Settings
from borderhub.topics import EVENT_TOPICS

log = logging.getLogger("borderhub.correlate.retro_hunt")
KIND_OF_TOPIC = {topic: kind for kind, topic in EVENT_TOPICS.items()}


async def past_events(settings: Settings, codec: AvroCodec, partitions: Iterable[TopicPartition],
                      since: dt.datetime) -> AsyncIterator[tuple[str, dict]]:
    """(kind, datum) of every decodable event in ``partitions`` from ``since`` to their current end."""
    partitions = [tp for tp in partitions if tp.topic in KIND_OF_TOPIC]
    if not partitions:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        pending = set()
        for tp in partitions:
            found = starts.get(tp)
            if found is None:  # nothing that recent in this partition
                continue
            consumer.seek(tp, found.offset)
            pending.add(tp)
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    try:
                        yield KIND_OF_TOPIC[tp.topic], codec.decode(record.value, KIND_OF_TOPIC[tp.topic])
                    except DecodeError:
                        continue  # the live path dead-letters it; a hunt only reads
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


def is_new_listing(known_ids: set[str], entry: dict) -> bool:
    """A hunt is for entries the worker had not seen: not for changes to known ones."""
    return entry["entry_id"] not in known_ids
