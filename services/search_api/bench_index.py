"""Indexing throughput (for ``borderhub bench --suite index``): the indexer's whole path
(Kafka consume, Avro decode, document building, bulk, commit) against a raw Elasticsearch bulk
of the very same documents, measured in the same run on the same node.

Everything is private to the run: its own topics, consumer group, index template and indices,
all deleted afterwards, so the real ``bh-*`` indices and the indexer's group are untouched.
The raw baseline runs before and after the indexer; the ratio uses their mean, and the spread
between the two says how noisy the machine was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
import uuid
from typing import Callable

import orjson

from borderhub.avro import AvroCodec, SchemaCatalog, from_json
from borderhub.settings import Settings
from services.search_api.es_setup import make_client
from services.search_api.indexer import Indexer, Translator
from services.search_api.indices import event_document, events_template

KINDS = ("crossings", "seizures", "biometrics")


def _simulated(codec: AvroCodec, n: int, seed: int) -> list[tuple[str, dict, bytes]]:
    from services.ingest.simulate import Simulator
    sim = Simulator(seed=seed, start=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    out = []
    for kind, event in itertools.islice(sim.events(), n):
        datum, problems = from_json(codec.catalog.get(kind), event)
        if datum is not None and not problems:
            out.append((kind, datum, codec.encode(kind, datum)))
    return out


def _raw_bulk(es, docs: list[tuple[str, str, bytes]], batch_size: int) -> float:
    """docs/s of sequential bulk requests of pre-serialised documents (the baseline)."""
    started = time.perf_counter()
    for i in range(0, len(docs), batch_size):
        lines = []
        for index, doc_id, source in docs[i:i + batch_size]:
            lines += [orjson.dumps({"index": {"_index": index, "_id": doc_id}}), source]
        response = es.bulk(operations=lines)
        if response["errors"]:
            failed = next(it for it in response["items"] if it["index"].get("error"))
            raise RuntimeError(f"baseline bulk failed: {failed}")
    return len(docs) / (time.perf_counter() - started)


class _TimedIndexer(Indexer):
    """The real Indexer, noting when it takes its first record and stopping once the batches
    it has handled cover ``expected`` records."""

    def __init__(self, *args, expected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.first: float | None = None
        self.last: float | None = None
        self.handled: dict[tuple[str, int], int] = {}

    def _take(self, polled: dict) -> None:
        if polled and self.first is None:
            self.first = time.perf_counter()
        super()._take(polled)

    async def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        await super()._commit(offsets)
        self.handled.update(offsets)  # fresh topics: offsets count records
        if sum(self.handled.values()) >= self.expected:
            self.last = time.perf_counter()
            self.stop.set()


def _run_indexer(settings: Settings, codec: AvroCodec, topics: dict[str, str], rename: Callable[[str], str],
                 group: str, expected: int, timeout: float) -> float:
    """docs/s of the real Indexer (its own Elasticsearch client, as in production) from its
    first record taken to its last commit."""
    indexer = _TimedIndexer(settings, translator=Translator(codec, topics, rename), group_id=group,
                            client_id=f"{group}-client", expected=expected)
    worker = threading.Thread(target=asyncio.run, args=(indexer.run(),), name="bench-indexer")
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or indexer.first is None or indexer.last is None:
        indexer.stop.set()
        worker.join(60)
        raise RuntimeError(f"indexer handled {sum(indexer.handled.values())} of {expected} records in {timeout}s")
    return expected / (indexer.last - indexer.first)


def bench_indexing(settings: Settings, n_events: int = 20_000, seed: int = 7, timeout: float = 600) -> dict:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from borderhub.kafka import make_producer

    run = uuid.uuid4().hex[:8]
    prefix = f"bhbench-{run}-"
    topics = {f"bench.index-{run}.{kind}": kind for kind in KINDS}
    group = f"bench-indexer-{run}"
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    es = make_client(settings, request_timeout=120)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)

    records = _simulated(codec, n_events, seed)
    mix = {kind: sum(1 for k, _, _ in records if k == kind) for kind in KINDS}
    # Same template as bh-events (mappings, analysis, refresh 1s, shards), on this run's names.
    template = events_template(settings.es_shards, settings.es_replicas)
    template["index_patterns"] = [f"{prefix}*"]
    template["template"].pop("aliases")
    template["priority"] = 250
    try:
        es.indices.put_index_template(name=f"{prefix}events", **template)
        admin.create_topics([NewTopic(t, settings.topic_partitions, settings.topic_replication) for t in topics])
        producer = make_producer(settings, f"bench-index-{run}")
        topic_of = {kind: t for t, kind in topics.items()}
        for i, (kind, datum, value) in enumerate(records):
            producer.send(topic_of[kind], key=str(i).encode(), value=value)
        producer.flush()
        producer.close()

        docs = []
        for kind, datum, _ in records:
            index, doc_id, doc = event_document(kind, datum)
            docs.append((f"{prefix}raw-{index}", doc_id, orjson.dumps(doc)))
        raw_before = _raw_bulk(es, docs, settings.indexer_batch_size)
        indexer = _run_indexer(settings, codec, topics, lambda name: f"{prefix}idx-{name}", group,
                               len(records), timeout)
        docs = [(index.replace(f"{prefix}raw-", f"{prefix}raw2-"), doc_id, source) for index, doc_id, source in docs]
        raw_after = _raw_bulk(es, docs, settings.indexer_batch_size)

        es.indices.refresh(index=f"{prefix}*")
        indexed = es.count(index=f"{prefix}idx-*")["count"]
        expected_docs = len({doc_id for _, doc_id, _ in docs})
        raw = (raw_before + raw_after) / 2
        return {
            "events": len(records), "mix": mix, "batch_size": settings.indexer_batch_size,
            "indexer_docs_per_s": round(indexer, 1), "raw_bulk_docs_per_s": round(raw, 1),
            "raw_bulk_before_docs_per_s": round(raw_before, 1), "raw_bulk_after_docs_per_s": round(raw_after, 1),
            "ratio": round(indexer / raw, 3), "documents_checked": indexed == expected_docs,
        }
    finally:
        # Wildcard deletes are refused (action.destructive_requires_name): name each index.
        for index in es.indices.get(index=f"{prefix}*", allow_no_indices=True).body:
            es.indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}events")
        try:
            admin.delete_topics(list(topics))
            admin.delete_groups([group])
        except Exception:  # cleanup is best effort; the topics are short-lived bench data
            pass
        admin.close()
