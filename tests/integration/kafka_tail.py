"""Read what was written to a topic after a point in time, from the real broker; start a
consumer group at the log end."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition


class KafkaTail:
    """Marks a topic's end offsets on creation; ``read`` returns the records written since."""

    def __init__(self, bootstrap: str, topic: str):
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None,
                                      enable_auto_commit=False)
        self.partitions = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic))]
        self.consumer.assign(self.partitions)
        self.start = self.consumer.end_offsets(self.partitions)
        for tp, offset in self.start.items():
            self.consumer.seek(tp, offset)

    def read(self, at_least: int = 0, timeout: float = 15.0) -> list:
        """Every record written since creation (waits until ``at_least`` are there or timeout)."""
        records: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            end = self.consumer.end_offsets(self.partitions)
            while any(self.consumer.position(tp) < end[tp] for tp in self.partitions):
                for batch in self.consumer.poll(timeout_ms=500).values():
                    records.extend(batch)
            if len(records) >= at_least:
                break
            time.sleep(0.2)
        return records

    def close(self) -> None:
        self.consumer.close()


def commit_group_at_log_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commits ``group``'s offsets at the current end of ``topics``: a consumer of the group (an
    indexer of a test) starts with what is written from now on, not with the retained history."""
    from kafka.structs import OffsetAndMetadata
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        consumer.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
    finally:
        consumer.close(autocommit=False)
