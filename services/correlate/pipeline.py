"""The event topics' consumer of a correlation worker: records in batches straight from
aiokafka, outputs through one idempotent producer, offsets committed only after every output of
the batch was acknowledged.

Why not a faust agent: faust's per-record stream machinery (conductor, channel queue, event,
acks, sensors: several event-loop turns per record) costs 110 to 140 µs per record on the 2-core
development machine, 7,000 to 9,000 records/s for an agent that only acknowledges
(``bench --suite stream`` reports it): over half of the 200 µs a crossing may cost in all at the
target of 10,000 crossings/s on two cores. faust still runs the worker and the rules, whose inputs arrive in batches.

Delivery is at least once, like arroyo's strategies: a batch is handled, its outputs awaited,
then its offsets committed. When an output cannot be delivered the batch is sought back and
handled again (alert ids are deterministic, so the repeats collapse downstream); a crash before
the commit replays the batch on restart. Backpressure: nothing is fetched while a batch is being
handled, and aiokafka's prefetch is bounded by its fetch sizes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord
from prometheus_client import Histogram

log = logging.getLogger("borderhub.correlate.pipeline")

RETRY_BACKOFF = 2.0  # seconds before a batch whose outputs failed is handled again

BATCH_SECONDS = Histogram("borderhub_correlate_batch_seconds", "Time to handle one batch and await its outputs",
                          buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))


class Outbox:
    """The outputs of one batch: each send is started at once, all are awaited together."""

    def __init__(self, producer: AIOKafkaProducer):
        self._producer = producer
        self._pending: list[asyncio.Future] = []

    async def send(self, topic: str, value: bytes | None, key: bytes | None = None, *,
                   partition: int | None = None, headers: list[tuple[str, bytes]] | None = None) -> None:
        # Waits only while the producer's buffer is full (backpressure), not for the ack.
        self._pending.append(await self._producer.send(topic, value=value, key=key, partition=partition,
                                                       headers=headers))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)


Handler = Callable[[dict[TopicPartition, list[ConsumerRecord]], Outbox], Awaitable[None]]


class BatchConsumer(mode.Service):
    """Consumes ``topics`` in consumer group ``group_id`` once ``ready()`` returned; hands each
    batch (records by partition) to ``handle`` with an ``Outbox`` for its outputs."""

    def __init__(self, *, bootstrap: str, group_id: str, topics: Iterable[str], handle: Handler,
                 ready: Callable[[], Awaitable[None]], offset_reset: str = "earliest", batch_size: int = 500,
                 batch_wait: float = 0.05, on_crash: Callable[[BaseException], Awaitable[None]] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.bootstrap, self.group_id, self.topics = bootstrap, group_id, list(topics)
        self.handle, self.ready, self.on_crash = handle, ready, on_crash
        self.offset_reset, self.batch_size, self.batch_wait = offset_reset, batch_size, batch_wait
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.rebalancing = True  # until the first assignment
        self._batch_lock = asyncio.Lock()

    def assignment(self) -> set[TopicPartition]:
        return set(self.consumer.assignment()) if self.consumer is not None else set()

    async def on_start(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                         linger_ms=5, max_batch_size=512 * 1024)
        await self.producer.start()

    async def on_stop(self) -> None:
        # The batch in hand is finished and committed before the partitions are let go.
        async with self._batch_lock:
            if self.consumer is not None:
                await self.consumer.stop()
            if self.producer is not None:
                await self.producer.stop()

    @mode.Service.task
    async def _consume(self) -> None:
        try:
            await self.ready()
            self.consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=self.group_id, enable_auto_commit=False,
                auto_offset_reset=self.offset_reset, max_partition_fetch_bytes=2 * 1024 * 1024,
                # A killed worker's partitions move to the survivors after this long, not a minute.
                session_timeout_ms=10_000, heartbeat_interval_ms=3_000)
            self.consumer.subscribe(self.topics, listener=_Listener(self))
            await self.consumer.start()
            while not self.should_stop:
                batch = await self.consumer.getmany(timeout_ms=int(self.batch_wait * 1000) or 1,
                                                    max_records=self.batch_size)
                batch = {tp: records for tp, records in batch.items() if records}
                if batch:
                    async with self._batch_lock:
                        await self._handle(batch)
                await asyncio.sleep(0)  # a CPU-bound batch must let heartbeats and fetches through
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.should_stop:  # stopping: the consumer was closed under a fetch
                return
            log.exception("event consumer stopped")
            if self.on_crash is not None:
                await self.on_crash(exc)
            raise

    async def _handle(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        outbox = Outbox(self.producer)
        with BATCH_SECONDS.time():
            await self.handle(batch, outbox)
            try:
                await outbox.flush()
            except KafkaError as exc:
                log.warning("outputs of a batch failed (%s); handling it again in %.0f s", exc, RETRY_BACKOFF)
                for tp, records in batch.items():
                    if tp in self.consumer.assignment():
                        self.consumer.seek(tp, records[0].offset)
                await asyncio.sleep(RETRY_BACKOFF)
                return
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved to another worker, which handles the batch again: same ids.
            log.warning("commit after a rebalance failed: %s", exc)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: BatchConsumer):
        self.owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        self.owner.rebalancing = True
        async with self.owner._batch_lock:  # let the batch in hand finish and commit first
            pass

    async def on_partitions_assigned(self, assigned) -> None:
        self.owner.rebalancing = False
        log.info("event partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))
