"""The batch consumer's delivery rule, on stand-ins for the Kafka client (the real thing is in
tests/integration/test_correlate.py): offsets are committed only after every output of the
batch was acknowledged; when an output fails, the batch is sought back and nothing committed."""

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import ConsumerRecord

from services.correlate import pipeline


class FakeProducer:
    def __init__(self, fail: bool):
        self.fail, self.sent = fail, []

    async def send(self, topic, value=None, key=None, partition=None, headers=None):
        self.sent.append((topic, value))
        future = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(None)
        return future


class FakeConsumer:
    def __init__(self, tps):
        self.tps, self.commits, self.seeks = set(tps), [], []

    def assignment(self):
        return self.tps

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    async def commit(self, offsets):
        self.commits.append(offsets)


def records(tp, first, n):
    return [ConsumerRecord(tp.topic, tp.partition, first + i, 0, 0, b"k", b"v", None, 1, 1, ()) for i in range(n)]


def run(fail: bool):
    tp0, tp1 = TopicPartition("poe.crossings.v1", 0), TopicPartition("poe.crossings.v1", 3)
    batch = {tp0: records(tp0, 10, 3), tp1: records(tp1, 40, 2)}

    async def handle(batch, outbox):
        for recs in batch.values():
            for r in recs:
                await outbox.send("hub.links.v1", r.value)

    async def main():
        consumer = pipeline.BatchConsumer(bootstrap="unused:1", group_id="g", topics=["poe.crossings.v1"],
                                          handle=handle, ready=asyncio.sleep)
        consumer.consumer, consumer.producer = FakeConsumer(batch), FakeProducer(fail)
        await consumer._handle(batch)
        return consumer
    return asyncio.run(main()), tp0, tp1


def test_a_batch_is_committed_after_its_outputs_past_its_last_records():
    consumer, tp0, tp1 = run(fail=False)
    assert len(consumer.producer.sent) == 5
    assert consumer.consumer.commits == [{tp0: 13, tp1: 42}] and consumer.consumer.seeks == []


def test_failed_outputs_seek_the_batch_back_and_commit_nothing(monkeypatch):
    monkeypatch.setattr(pipeline, "RETRY_BACKOFF", 0)
    consumer, tp0, tp1 = run(fail=True)
    assert consumer.consumer.commits == []
    assert sorted(consumer.consumer.seeks) == sorted([(tp0, 10), (tp1, 40)])
