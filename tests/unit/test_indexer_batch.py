"""The indexer's pure parts: records to bulk actions, bulk item verdicts, the batch, and the
batch -> bulk -> dead letters -> commit sequence with a scripted Elasticsearch."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import threading
import time

import orjson
import pytest

from borderhub.avro import AvroCodec, SchemaCatalog, from_json
from borderhub.settings import get_settings
from borderhub.topics import ALERTS, BIOMETRICS, CROSSINGS, DEADLETTER, LINKS, SEIZURES, WATCHLIST
from services.search_api.indexer import (
    Backoff, BatchFlusher, IndexBatch, Rejected, State, TransientError, Translator, Verdict, classify,
)
from services.correlate.links import link_set

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def codec():
    return AvroCodec(SchemaCatalog(get_settings().schemas_dir))


@pytest.fixture(scope="module")
def crossings(codec):
    from services.ingest.simulate import Simulator
    events = list(itertools.islice(Simulator(seed=3, start=NOW).crossings(), 5))
    return [(e["event_id"], codec.encode("crossings", from_json(codec.catalog.get("crossings"), e)[0]))
            for e in events]


def alert_bytes(codec, alert_id="0b7a5b0e-1111-4c3d-8e9f-000000000001"):
    datum = {"alert_id": alert_id, "created_at": NOW, "alert_type": "WATCHLIST_MATCH", "severity": "HIGH",
             "event_id": "0b7a5b0e-2222-4c3d-8e9f-000000000002", "event_kind": "CROSSING", "occurred_at": NOW,
             "port_locode": "USMIA", "subject": "IVANOVA ANA", "entry_id": "wl-1", "source_list": "demo",
             "action_on_hit": "DETAIN", "rule": None, "score": 0.97, "explanation": [], "path": [],
             "related_event_ids": []}
    return codec.encode("alerts", datum)


def body(action):
    return [orjson.loads(line) for line in action.lines]


# --- Translator --------------------------------------------------------------------------------

def test_event_becomes_an_index_action_on_its_month_with_the_event_id(codec, crossings):
    event_id, value = crossings[0]
    action = Translator(codec).action(CROSSINGS, b"doc:RU:1", value)
    meta, doc = body(action)
    assert action.op == "index" and action.doc_id == event_id and action.target == "bh-events"
    assert meta == {"index": {"_index": action.index, "_id": event_id}}
    assert action.index.startswith("bh-events-2026.")
    assert doc["event_id"] == event_id and doc["kind"] == "crossing"


def test_alert_is_an_upsert_that_never_carries_triage_fields_in_its_doc(codec):
    action = Translator(codec).action(ALERTS, b"k", alert_bytes(codec))
    meta, update = body(action)
    assert action.op == "update" and meta["update"]["_index"] == "bh-alerts"
    assert not {"status", "assignee", "history"} & set(update["doc"])
    assert update["upsert"]["status"] == "new" and update["upsert"]["history"] == []
    assert update["upsert"]["alert_id"] == update["doc"]["alert_id"]


def test_watchlist_tombstone_deletes_by_key(codec):
    action = Translator(codec).action(WATCHLIST, b"entry-42", None)
    assert action.op == "delete" and action.doc_id == "entry-42" and body(action) == [
        {"delete": {"_index": "bh-watchlist", "_id": "entry-42"}}]


@pytest.mark.parametrize("topic,key,value,reason", [
    (CROSSINGS, b"k", None, "null value"),
    (WATCHLIST, None, None, "without a key"),
    (CROSSINGS, b"k", b"not avro at all", "undecodable"),
    (CROSSINGS, b"k", b"\xc3\x01" + b"\x00" * 8 + b"x", "undecodable"),
])
def test_unusable_records_are_rejected_with_a_reason(codec, topic, key, value, reason):
    with pytest.raises(Rejected, match=reason):
        Translator(codec).action(topic, key, value)


def test_a_record_of_another_type_on_a_topic_is_rejected(codec):
    with pytest.raises(Rejected, match="undecodable"):
        Translator(codec).action(SEIZURES, b"k", alert_bytes(codec))


def test_a_linkset_becomes_one_document_per_event_in_its_month(codec):
    from services.ingest.simulate import Simulator
    event = from_json(codec.catalog.get("crossings"), next(Simulator(seed=5, start=NOW).crossings()))[0]
    datum = link_set("crossings", event)
    value = codec.encode("links", datum)
    assert len(datum["edges"]) >= 2  # the person joined to its document and port at least
    action = Translator(codec).action(LINKS, event["event_id"].encode(), value)
    meta, doc = body(action)
    month = f"{event['occurred_at'].astimezone(dt.timezone.utc):%Y.%m}"
    assert action.op == "index" and action.target == "bh-links" and action.doc_id == event["event_id"]
    assert meta == {"index": {"_index": f"bh-links-{month}", "_id": event["event_id"]}}
    assert doc["event_id"] == event["event_id"] and doc["event_kind"] == "CROSSING"
    assert doc["occurred_at"].startswith(event["occurred_at"].astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    assert doc["port_locode"] == event["port_locode"]
    assert doc["edges"] == datum["edges"] and doc["entities"] == datum["entities"]
    # nodes: every key an edge touches, once, sorted; the port is one (the API stops there).
    assert doc["nodes"] == sorted({k for e in datum["edges"] for k in (e["source"], e["target"])})
    assert f"port:{event['port_locode']}" in doc["nodes"]
    # A replay is the same action on the same document.
    again = Translator(codec).action(LINKS, event["event_id"].encode(), value)
    assert (again.index, again.doc_id) == (action.index, action.doc_id)
    assert body(again)[1] | {"indexed_at": None} == doc | {"indexed_at": None}


def test_a_linkset_without_edges_is_indexed_with_no_nodes(codec):
    datum = {"event_id": "e-1", "event_kind": "SEIZURE", "occurred_at": NOW, "port_locode": None,
             "entities": [{"key": "port:USMIA", "type": "port", "label": "USMIA"}], "edges": []}
    _, doc = body(Translator(codec).action(LINKS, b"e-1", codec.encode("links", datum)))
    assert doc["nodes"] == [] and doc["entities"] == datum["entities"] and doc["port_locode"] is None


def test_a_linkset_tombstone_or_garbage_is_rejected(codec):
    with pytest.raises(Rejected, match="null value"):
        Translator(codec).action(LINKS, b"e-1", None)
    with pytest.raises(Rejected, match="undecodable"):
        Translator(codec).action(LINKS, b"e-1", alert_bytes(codec))


def capture_bytes(codec, vector: list[float], modality: str = "FACE") -> bytes:
    datum = {"event_id": "0b7a5b0e-3333-4c3d-8e9f-000000000003", "captured_at": NOW, "port_locode": "USMIA",
             "template": {"modality": modality, "algorithm": "arcface", "algorithm_version": "1",
                          "dimension": len(vector), "vector": vector},
             "quality": 80, "document": None, "traveller_id": "T-1", "crossing_event_id": None,
             "source_system": "unit"}
    return codec.encode("biometrics", datum)


def test_a_comparable_vector_is_indexed_for_similarity(codec):
    vector = [0.0] * 511 + [1.0]
    _, doc = body(Translator(codec).action(BIOMETRICS, b"k", capture_bytes(codec, vector)))
    assert doc["template"]["face_vector"] == vector and "similarity_skipped" not in doc["template"]


@pytest.mark.parametrize("vector,modality,reason", [
    ([0.0] * 512, "FACE", "vector_zero_norm"),
    ([1e-30] * 512, "FACE", "vector_zero_norm"),
    ([0.5, float("nan")] + [0.5] * 510, "FACE", "not finite"),
    ([0.5, float("inf")] + [0.5] * 510, "FACE", "not finite"),
    ([0.6, 0.8], "FACE", "2 elements, the FACE index takes 512"),
    ([0.6, 0.8], "UNKNOWN", "no similarity index for modality UNKNOWN"),
])
def test_a_vector_elasticsearch_would_refuse_is_left_out_not_the_capture(codec, vector, modality, reason):
    """Produced straight to Kafka (the gateway refuses it): the capture is still indexed, without
    the vector and saying why, instead of Elasticsearch rejecting the whole document."""
    action = Translator(codec).action(BIOMETRICS, b"k", capture_bytes(codec, vector, modality))
    meta, doc = body(action)
    assert action.op == "index" and doc["event_id"] == "0b7a5b0e-3333-4c3d-8e9f-000000000003"
    template = doc["template"]
    assert not [k for k in template if k.endswith("vector")], template
    assert reason in template["similarity_skipped"]
    assert template["modality"] == modality and template["dimension"] == len(vector)


def test_rename_index_routes_documents_elsewhere(codec, crossings):
    action = Translator(codec, rename_index=lambda n: "bench-" + n).action(CROSSINGS, b"k", crossings[0][1])
    assert action.index.startswith("bench-bh-events-") and body(action)[0]["index"]["_index"] == action.index


# --- classify ----------------------------------------------------------------------------------

@pytest.mark.parametrize("op,item,verdict,detail", [
    ("index", {"index": {"status": 201, "result": "created"}}, Verdict.OK, "created"),
    ("update", {"update": {"status": 200, "result": "noop"}}, Verdict.OK, "noop"),
    ("delete", {"delete": {"status": 404, "result": "not_found"}}, Verdict.OK, "not_found"),
    ("index", {"index": {"status": 400, "error": {"type": "document_parsing_exception", "reason": "bad",
                                                  "caused_by": {"reason": "illegal latitude value [123.0]"}}}},
     Verdict.REJECT, "illegal latitude"),
    ("index", {"index": {"status": 429, "error": {"type": "es_rejected_execution_exception"}}}, Verdict.RETRY, "429"),
    ("index", {"index": {"status": 503, "error": {"type": "unavailable_shards_exception"}}}, Verdict.RETRY, "503"),
    ("update", {"update": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}}, Verdict.RETRY, "409"),
    ("index", {"index": {"status": 403, "error": {"type": "cluster_block_exception"}}}, Verdict.RETRY, "403"),
])
def test_classify(op, item, verdict, detail):
    got, text = classify(op, item)
    assert got is verdict and detail in text


# --- IndexBatch ----------------------------------------------------------------------------------

def test_batch_offsets_are_one_past_the_last_record_per_partition(codec, crossings):
    batch = IndexBatch(Translator(codec))
    for offset, (_, value) in zip([10, 11, 5], crossings):
        batch.add(CROSSINGS, 0 if offset > 9 else 3, offset, b"k", value)
    batch.add(CROSSINGS, 3, 6, b"k", b"garbage")
    assert batch.offsets() == {(CROSSINGS, 0): 12, (CROSSINGS, 3): 7}
    assert [e.state for e in batch.entries] == [State.PENDING] * 3 + [State.REJECTED]


def test_later_record_of_the_same_document_supersedes_the_pending_one(codec):
    batch = IndexBatch(Translator(codec))
    first = batch.add(WATCHLIST, 0, 1, b"entry-1", None)
    second = batch.add(WATCHLIST, 0, 2, b"entry-1", None)
    assert first.state is State.DONE and batch.pending() == [second]


def test_drop_partitions_forgets_their_records(codec, crossings):
    batch = IndexBatch(Translator(codec))
    batch.add(CROSSINGS, 0, 1, b"k", crossings[0][1])
    batch.add(CROSSINGS, 1, 1, b"k", crossings[1][1])
    assert batch.drop_partitions([(CROSSINGS, 0)]) == 1
    assert batch.offsets() == {(CROSSINGS, 1): 2}


# --- BatchFlusher --------------------------------------------------------------------------------

class Script:
    """A scripted Elasticsearch and Kafka: bulk answers come from a list of callables."""

    def __init__(self, answers, dead_letter_failures=0, stop_after_sleeps=None):
        self.answers = list(answers)
        self.bulks: list[list[dict]] = []
        self.dead_letters: list = []
        self.dead_letter_failures = dead_letter_failures
        self.sleeps: list[float] = []
        self.stop_after_sleeps = stop_after_sleeps
        self.events: list[str] = []

    def bulk(self, lines):
        actions = [orjson.loads(line) for line in lines]
        metas = [a for a in actions if len(a) == 1 and next(iter(a)) in ("index", "update", "delete")
                 and "_id" in next(iter(a.values()))]
        self.bulks.append(metas)
        self.events.append("bulk")
        answer = self.answers.pop(0) if self.answers else ok
        return answer(metas)

    def send_dead_letters(self, entries):
        self.events.append("dead_letters")
        if self.dead_letter_failures:
            self.dead_letter_failures -= 1
            raise TransientError("dead_letters", "dead letters not acknowledged: broker down")
        self.dead_letters.extend(entries)

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        return self.stop_after_sleeps is None or len(self.sleeps) < self.stop_after_sleeps

    def flusher(self):
        return BatchFlusher(self.bulk, self.send_dead_letters, self.sleep, Backoff(base=0.1, cap=1.0, jitter=0))


def ok(metas):
    return {"errors": False, "items": [{next(iter(m)): {"status": 201, "result": "created"}} for m in metas]}


def down(metas):
    raise TransientError("unreachable", "Elasticsearch unreachable: ConnectionError")


def status_for(statuses):
    def answer(metas):
        return {"errors": True, "items": [{next(iter(m)): {"status": s, "result": "created" if s < 300 else None,
                                                           "error": {"type": "x", "reason": "y"} if s >= 300 else None}}
                                          for m, s in zip(metas, statuses)]}
    return answer


def filled(codec, crossings, n=3):
    batch = IndexBatch(Translator(codec))
    for i, (_, value) in enumerate(crossings[:n]):
        batch.add(CROSSINGS, i % 2, 100 + i, b"k", value)
    return batch


def test_outage_is_retried_with_growing_backoff_until_done(codec, crossings):
    script = Script([down, down, down, ok])
    batch = filled(codec, crossings)
    assert script.flusher().flush(batch)
    assert script.events == ["bulk"] * 4 and script.sleeps == [0.1, 0.2, 0.4]
    assert all(e.state is State.DONE for e in batch.entries)
    assert batch.offsets() == {(CROSSINGS, 0): 103, (CROSSINGS, 1): 102}


def test_only_the_items_elasticsearch_could_not_take_are_resent(codec, crossings):
    script = Script([status_for([201, 429, 201]), ok])
    assert script.flusher().flush(filled(codec, crossings))
    assert len(script.bulks[0]) == 3 and len(script.bulks[1]) == 1
    assert script.bulks[1][0] == script.bulks[0][1]


def test_rejected_documents_are_dead_lettered(codec, crossings):
    script = Script([status_for([201, 400, 201])])
    batch = filled(codec, crossings)
    batch.add(CROSSINGS, 1, 200, b"k", b"garbage")
    assert script.flusher().flush(batch)
    assert script.events == ["bulk", "dead_letters"]
    assert sorted(e.offset for e in script.dead_letters) == [101, 200]
    assert any("Elasticsearch rejected" in e.reason for e in script.dead_letters)


def test_dead_letter_failure_is_retried_without_reindexing(codec, crossings):
    script = Script([status_for([201, 400, 201])], dead_letter_failures=2)
    assert script.flusher().flush(filled(codec, crossings))
    assert script.events == ["bulk", "dead_letters", "dead_letters", "dead_letters"]


def test_a_stop_during_an_outage_leaves_the_batch_unhandled(codec, crossings):
    script = Script([down] * 10, stop_after_sleeps=3)
    batch = filled(codec, crossings)
    assert not script.flusher().flush(batch)
    assert all(e.state is State.PENDING for e in batch.entries)


def test_backoff_is_capped():
    backoff = Backoff(base=1, cap=5, jitter=0)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next() == 1


# --- the consumer loop, with a fake consumer ---------------------------------------------------------

Record = collections.namedtuple("Record", "offset key value")


class FakeConsumer:
    """Enough of AIOKafkaConsumer: one partition, pause/resume, commits recorded."""

    def __init__(self, values, topic=CROSSINGS):
        from aiokafka import TopicPartition
        self.tp = TopicPartition(topic, 0)
        self.records = [Record(i, b"k", v) for i, v in enumerate(values)]
        self.position_ = 0
        self._paused: set = set()
        self.commits: list[int] = []
        self.max_taken_ahead = 0  # most records taken beyond the last commit
        self.log: list[str] = []  # shared with the Script: bulks and commits in order
        self.failed_commits = 0  # the next commits fail as during a rebalance

    def subscribe(self, topics, listener=None):
        pass

    async def start(self):
        pass

    async def stop(self):
        pass

    def assignment(self):
        return {self.tp}

    def pause(self, *tps):
        self._paused |= set(tps)

    def resume(self, *tps):
        self._paused -= set(tps)

    def paused(self):
        return set(self._paused)

    async def getmany(self, timeout_ms=0, max_records=None):
        if self.tp in self._paused or self.position_ >= len(self.records):
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        chunk = self.records[self.position_:self.position_ + (max_records or 500)]
        self.position_ += len(chunk)
        committed = self.commits[-1] if self.commits else 0
        self.max_taken_ahead = max(self.max_taken_ahead, self.position_ - committed)
        return {self.tp: chunk}

    async def commit(self, offsets):
        if self.failed_commits:
            from aiokafka.errors import CommitFailedError
            self.failed_commits -= 1
            raise CommitFailedError("rebalance")
        (offset,) = offsets.values()
        self.commits.append(offset)
        self.log.append("commit")

    async def end_offsets(self, tps):
        return {self.tp: len(self.records)}

    async def position(self, tp):
        return self.position_


class FakeProducer:
    def __init__(self):
        self.sent = []

    async def start(self):
        pass

    async def stop(self):
        pass

    async def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture(scope="module")
def many_crossings(codec):
    from services.ingest.simulate import Simulator
    events = list(itertools.islice(Simulator(seed=4, start=NOW).crossings(), 60))
    return [codec.encode("crossings", from_json(codec.catalog.get("crossings"), e)[0]) for e in events]


def loop(codec, values, answers, *, batch_size=10, grace=5.0, stop_when=None, timeout=20.0, rebalances=0):
    from borderhub.settings import Settings
    from services.search_api.indexer import Indexer
    script = Script(answers)
    consumer, producer = FakeConsumer(values), FakeProducer()
    consumer.log = script.events
    consumer.failed_commits = rebalances
    stop = threading.Event()
    indexer = Indexer(Settings(indexer_batch_size=batch_size, indexer_flush_interval=0.05),
                      translator=Translator(codec), consumer=consumer, producer=producer, bulk=script.bulk,
                      stop=stop, shutdown_grace=grace, backoff=Backoff(base=0.05, cap=0.2, jitter=0))
    worker = threading.Thread(target=asyncio.run, args=(indexer.run(),))
    worker.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop_when or (lambda: consumer.commits[-1:] == [len(values)]))(
            consumer, script):
        time.sleep(0.01)
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    return consumer, producer, script


def test_loop_commits_everything_once_written(codec, many_crossings):
    consumer, _, script = loop(codec, many_crossings, [], stop_when=lambda c, s: c.commits[-1:] == [60])
    assert consumer.commits[-1] == 60
    assert consumer.commits == sorted(consumer.commits)
    assert sum(len(b) for b in script.bulks) == 60


def test_loop_holds_commits_and_stops_taking_while_elasticsearch_is_down(codec, many_crossings):
    consumer, _, script = loop(codec, many_crossings, [down] * 6,
                               stop_when=lambda c, s: c.commits[-1:] == [60])
    assert consumer.commits[-1] == 60
    # Six failed attempts, then the successful one, and only then the first commit.
    assert script.events[:8] == ["bulk"] * 7 + ["commit"]
    # One batch in flight plus one full batch waiting: backpressure bounds what is taken.
    assert consumer.max_taken_ahead <= 2 * 10 + 1


def test_loop_stopped_during_an_outage_commits_nothing(codec, many_crossings):
    consumer, _, script = loop(codec, many_crossings, [down] * 1000, grace=0.3,
                               stop_when=lambda c, s: len(s.events) >= 3)
    assert consumer.commits == []


def test_loop_sigterm_writes_and_commits_what_it_took(codec, many_crossings):
    consumer, _, script = loop(codec, many_crossings[:7], [], batch_size=1000,
                               stop_when=lambda c, s: c.position_ == 7)
    assert consumer.commits[-1:] == [7]
    assert sum(len(b) for b in script.bulks) == 7


def test_loop_dead_letters_undecodable_records_and_commits_past_them(codec, many_crossings):
    values = many_crossings[:5] + [b"garbage"] + many_crossings[5:10]
    consumer, producer, _ = loop(codec, values, [], stop_when=lambda c, s: c.commits[-1:] == [11])
    assert consumer.commits[-1] == 11
    (topic, key, value), = producer.sent
    assert topic == DEADLETTER and codec.decode(value, "deadletters")["payload"] == b"garbage"


def test_loop_commits_after_a_rebalance_in_progress_instead_of_crashing(codec, many_crossings):
    consumer, _, _ = loop(codec, many_crossings, [], rebalances=3, stop_when=lambda c, s: c.commits[-1:] == [60])
    assert consumer.commits[-1] == 60 and consumer.failed_commits == 0


def test_loop_commits_a_pending_offset_on_sigterm(codec, many_crossings):
    consumer, _, _ = loop(codec, many_crossings[:7], [], batch_size=1000, rebalances=2,
                          stop_when=lambda c, s: c.position_ == 7)
    assert consumer.commits[-1:] == [7]
