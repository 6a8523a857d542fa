"""The indexer as a real process between the real Kafka and the real Elasticsearch.

The indexer reaches Elasticsearch through a small pass-through proxy of this module, so one
test can make Elasticsearch look down or overloaded without stopping the shared node. It runs
in a consumer group of this test run, started at the log end, so no other indexer on the
machine takes the test's records and the history is not re-indexed. Every test publishes
events with ids of its own and checks Elasticsearch directly.
"""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest

from borderhub.avro import AvroCodec, from_json
from borderhub.topics import ALERTS, BIOMETRICS, CROSSINGS, DEADLETTER, LINKS, SEIZURES, WATCHLIST
from tests.conftest import ServiceProcess, _free_port
from tests.integration.kafka_tail import KafkaTail, commit_group_at_log_end
from services.correlate.links import link_set

GROUP = f"test-indexer-{uuid.uuid4().hex[:8]}"
INDEXER_TOPICS = [CROSSINGS, SEIZURES, BIOMETRICS, ALERTS, WATCHLIST, LINKS]
TOPIC_OF = {"crossings": CROSSINGS, "seizures": SEIZURES, "biometrics": BIOMETRICS}


# --- helpers -------------------------------------------------------------------------------------

class EsProxy:
    """Forwards HTTP to Elasticsearch; ``mode`` "down" drops connections without an answer,
    "429" or "503" answers every request with that status, "up" forwards."""

    def __init__(self, target: str):
        self.mode = "up"
        self.requests = 0
        proxy = self
        client = httpx.Client(base_url=target, timeout=120)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests += 1
                if proxy.mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(2)  # the client sees a reset, as with a dead node
                    return
                if proxy.mode in ("429", "503"):
                    payload = b'{"error":{"type":"test_outage","reason":"made by the test proxy"},"status":%s}' % (
                        proxy.mode.encode())
                    self.send_response(int(proxy.mode))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                response = client.request(self.command, self.path, content=body, headers=headers)
                self.send_response(response.status_code)
                for k, v in response.headers.items():
                    if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # resets are what "down" is for

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class Indexer(ServiceProcess):
    """The indexer process (``borderhub indexer``'s code) in the test's consumer group."""

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "services.search_api.indexer", "--group", GROUP],
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"indexer exited: {self.log.read_text()[-3000:]}"
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"indexer not healthy: {self.log.read_text()[-3000:]}")

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in httpx.get(self.health_url, timeout=5).text.splitlines():
            if line.startswith("borderhub_") and " " in line:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def metric_sum(self, prefix: str) -> float:
        return sum(v for k, v in self.metrics().items() if k.startswith(prefix))

    def ensure_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def sigterm(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def es(settings):
    from services.search_api.es_setup import make_client
    return make_client(settings)


@pytest.fixture(scope="module")
def codec(catalog):
    return AvroCodec(catalog)


@pytest.fixture(scope="module")
def producer(settings):
    from borderhub.kafka import make_producer
    p = make_producer(settings, "test-indexer")
    yield p
    p.close()


@pytest.fixture(scope="module")
def admin(settings):
    from kafka import KafkaAdminClient
    from borderhub.topics import ensure_topics
    ensure_topics(settings)
    a = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    yield a
    a.close()


@pytest.fixture(scope="module")
def proxy(settings):
    p = EsProxy(settings.es_url)
    yield p
    p.close()


@pytest.fixture(scope="module")
def indexer(settings, proxy, admin, tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=proxy.url,
               BORDERHUB_INDEXER_METRICS_PORT=str(port), PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("logs") / "indexer.log"
    start_group_at_log_end(settings)
    service = Indexer(["indexer"], env, f"http://127.0.0.1:{port}/metrics", log)
    service.start()
    yield service
    service.stop()
    admin.delete_groups([GROUP])
    print(f"indexer log: {log}")


def start_group_at_log_end(settings) -> None:
    """Commits the test group's offsets at the current end of every topic the indexer reads."""
    commit_group_at_log_end(settings.kafka_bootstrap, GROUP, INDEXER_TOPICS)


@pytest.fixture(autouse=True)
def indexer_survives(request):
    """Each test leaves the indexer running: a crash (say, at a commit) fails the test that saw it."""
    yield
    if "indexer" in request.fixturenames:
        service = request.getfixturevalue("indexer")
        assert service.proc.poll() is None, f"the indexer exited: {service.log.read_text()[-3000:]}"


def end_offsets(settings, topics=INDEXER_TOPICS) -> dict:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def committed(admin) -> dict:
    return {tp: om.offset for tp, om in admin.list_group_offsets({GROUP: None}).get(GROUP, {}).items()}


def wait_caught_up(admin, settings, timeout: float = 60, ends: dict | None = None) -> None:
    """Until the group committed everything written so far (or up to ``ends``)."""
    ends = ends or end_offsets(settings)

    def done():
        got = committed(admin)
        return all(got.get(tp, 0) >= end for tp, end in ends.items() if end > 0)
    wait_for(done, timeout, interval=0.2, what="the indexer group to commit up to the log end")


def new_events(codec, kind: str, n: int) -> list[tuple[str, dict, bytes]]:
    """(event id, datum, Avro bytes) of n fresh events of one kind, ids unique to this run."""
    from services.ingest.simulate import Simulator
    sim = Simulator(seed=random.randrange(1 << 30), start=dt.datetime.now(dt.timezone.utc))
    stream = (e for k, e in sim.events() if k == kind)
    out = []
    for event in itertools.islice(stream, n):
        event["event_id"] = str(uuid.uuid4())
        event["occurred_at" if kind != "biometrics" else "captured_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
        datum, problems = from_json(codec.catalog.get(kind), event)
        assert not problems, problems
        out.append((event["event_id"], datum, codec.encode(kind, datum)))
    return out


def produce(producer, topic: str, items, key=lambda i: f"test:{i}".encode()):
    futures = [producer.send(topic, key=key(event_id), value=value) for event_id, _, value in items]
    producer.flush()
    return [f.get(timeout=30) for f in futures]


def count_ids(es, index: str, ids: list[str]) -> int:
    return es.count(index=index, query={"ids": {"values": ids}})["count"]


# --- tests -----------------------------------------------------------------------------------------

def test_ensure_indices_is_idempotent(settings, es):
    from services.search_api.es_setup import ensure_indices
    ensure_indices(es, settings)
    ensure_indices(es, settings)
    for alias in ("bh-alerts", "bh-watchlist", "bh-audit"):
        indices = es.indices.get_alias(name=alias).body
        assert list(indices) == [f"{alias}-000001"]
        assert indices[f"{alias}-000001"]["aliases"][alias]["is_write_index"] is True
    for alias in ("bh-events", "bh-links"):
        template = es.indices.get_index_template(name=alias)["index_templates"][0]["index_template"]
        assert template["index_patterns"] == [f"{alias}-*"]
        assert template["template"]["settings"]["index"]["refresh_interval"] == "1s"
        # This month's index exists behind the alias from the start.
        month = f"{alias}-{dt.datetime.now(dt.timezone.utc):%Y.%m}"
        assert alias in es.indices.get_alias(index=month).body[month]["aliases"]
    mapping = es.indices.get_mapping(index="bh-links").body
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["nodes"] == {"type": "keyword"} and properties["edges"]["enabled"] is False


def test_events_are_searchable_within_seconds_of_the_ack(indexer, es, codec, producer):
    latencies = []
    for kind in ["crossings", "seizures", "biometrics"] * 4:
        (event_id, _, value), = new_events(codec, kind, 1)
        producer.send(TOPIC_OF[kind], key=event_id.encode(), value=value).get(timeout=30)
        acked = time.monotonic()
        # _search (not GET by id) so "visible" means what investigators see after a refresh.
        wait_for(lambda: count_ids(es, "bh-events", [event_id]) == 1, 30, interval=0.02, what=f"{kind} {event_id}")
        latencies.append(time.monotonic() - acked)
        time.sleep(random.uniform(0, 1))  # don't stay in phase with the 1 s refresh
    latencies.sort()
    print(f"\nack -> searchable: median {latencies[len(latencies) // 2]:.2f}s, max {latencies[-1]:.2f}s "
          f"over {len(latencies)} events (target 2 s)")
    assert latencies[-1] < 5.0


def test_a_replay_rewrites_the_same_documents_without_duplicates(indexer, es, codec, producer, admin, settings):
    events = new_events(codec, "crossings", 40) + new_events(codec, "seizures", 10)
    ids = [e[0] for e in events]
    for topic, group in ((CROSSINGS, events[:40]), (SEIZURES, events[40:])):
        produce(producer, topic, group)
    wait_for(lambda: count_ids(es, "bh-events", ids) == len(ids), 30, what="first delivery")

    for topic, group in ((CROSSINGS, events[:40]), (SEIZURES, events[40:])):
        produce(producer, topic, group)  # the same bytes again, as a producer retry or a replay would
    wait_caught_up(admin, settings)
    es.indices.refresh(index="bh-events")
    assert count_ids(es, "bh-events", ids) == len(ids)
    hits = es.search(index="bh-events", query={"ids": {"values": ids}}, size=len(ids), version=True)["hits"]["hits"]
    assert {h["_id"] for h in hits} == set(ids)
    assert all(h["_version"] >= 2 for h in hits), "the replay was not indexed at all"


def test_a_biometric_document_never_carries_its_vector(indexer, es, codec, producer):
    (event_id, datum, value), = new_events(codec, "biometrics", 1)
    produce(producer, BIOMETRICS, [(event_id, datum, value)])
    hit = wait_for(lambda: es.search(index="bh-events", query={"ids": {"values": [event_id]}})["hits"]["hits"], 30,
                   what="biometric")[0]
    template = hit["_source"]["template"]
    assert not [k for k in template if "vector" in k], template.keys()
    assert "vector" not in str(hit["_source"])
    # ...yet it is indexed for similarity search.
    field = f"template.{datum['template']['modality'].lower()}_vector"
    found = es.search(index="bh-events", knn={"field": field, "query_vector": datum["template"]["vector"],
                                              "k": 1, "num_candidates": 20, "filter": {"ids": {"values": [event_id]}}})
    assert [h["_id"] for h in found["hits"]["hits"]] == [event_id]


def test_a_capture_whose_vector_elasticsearch_refuses_is_indexed_without_it(indexer, es, codec, producer,
                                                                             settings):
    """A zero vector produced straight to Kafka (the gateway refuses it) fails the cosine mapping;
    the capture is indexed anyway, without the vector and saying why, not dead-lettered."""
    tail = KafkaTail(settings.kafka_bootstrap, DEADLETTER)
    try:
        (event_id, datum, _), (nan_id, nan, _) = new_events(codec, "biometrics", 2)
        datum["template"]["vector"] = [0.0] * len(datum["template"]["vector"])
        nan["template"]["vector"] = [float("nan")] + nan["template"]["vector"][1:]
        metas = produce(producer, BIOMETRICS, [(event_id, datum, codec.encode("biometrics", datum)),
                                                (nan_id, nan, codec.encode("biometrics", nan))])
        def both():
            found = es.search(index="bh-events", query={"ids": {"values": [event_id, nan_id]}})["hits"]["hits"]
            return found if len(found) == 2 else None
        hits = wait_for(both, 30, what="the captures")
        by_id = {h["_id"]: h["_source"]["template"] for h in hits}
        for doc_id, sent, reason in ((event_id, datum, "vector_zero_norm"), (nan_id, nan, "not finite")):
            template = by_id[doc_id]
            assert not [k for k in template if k.endswith("vector")], template
            assert reason in template["similarity_skipped"]
            assert template["modality"] == sent["template"]["modality"]
        # Searchable by its metadata, and nothing of it went to the dead letters.
        assert count_ids(es, "bh-events", [event_id]) == 1
        positions = {(BIOMETRICS, m.partition, m.offset) for m in metas}
        letters = [codec.decode(r.value, "deadletters") for r in tail.read(timeout=2)]
        assert not [d for d in letters if d["service"] == "indexer" and
                    (d["source_topic"], d["source_partition"], d["source_offset"]) in positions]
    finally:
        tail.close()


def linkset_bytes(codec, kind: str, datum: dict) -> tuple[str, dict, bytes]:
    linkset = link_set(kind, datum)
    return linkset["event_id"], linkset, codec.encode("links", linkset)


def test_link_sets_are_indexed_once_per_event(indexer, es, codec, producer, admin, settings):
    """What correlation publishes on hub.links.v1 lands in bh-links, one document per event; a
    replay rewrites the same documents."""
    items = [linkset_bytes(codec, kind, datum) for kind in ("crossings", "seizures")
             for _, datum, _ in new_events(codec, kind, 5)]
    ids = [event_id for event_id, _, _ in items]
    produce(producer, LINKS, items, key=str.encode)
    wait_for(lambda: count_ids(es, "bh-links", ids) == len(ids), 30, what="the link sets")
    event_id, linkset, _ = items[0]
    doc = es.search(index="bh-links", query={"ids": {"values": [event_id]}})["hits"]["hits"][0]
    assert doc["_index"] == f"bh-links-{linkset['occurred_at'].astimezone(dt.timezone.utc):%Y.%m}"
    source = doc["_source"]
    assert source["edges"] == linkset["edges"] and source["entities"] == linkset["entities"]
    assert source["nodes"] == sorted({k for e in linkset["edges"] for k in (e["source"], e["target"])})
    # Searchable by any key an edge touches: how the network endpoint steps outwards.
    hub = linkset["edges"][0]["source"]
    found = es.search(index="bh-links", query={"bool": {"filter": [{"terms": {"nodes": [hub]}}]}}, size=50)
    assert event_id in {h["_id"] for h in found["hits"]["hits"]}

    produce(producer, LINKS, items, key=str.encode)  # a replay
    wait_caught_up(admin, settings)
    es.indices.refresh(index="bh-links")
    hits = es.search(index="bh-links", query={"ids": {"values": ids}}, size=len(ids), version=True)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(ids)
    assert all(h["_version"] >= 2 for h in hits), "the replay was not indexed at all"


def test_rejected_and_undecodable_records_go_to_the_dead_letter_topic(indexer, es, codec, producer, settings):
    tail = KafkaTail(settings.kafka_bootstrap, DEADLETTER)
    try:
        (good_id, good, good_bytes), (bad_id, bad, _) = new_events(codec, "seizures", 2)
        # Valid Avro (lat is a double) that Elasticsearch's geo_point refuses.
        bad["location"] = {"lat": 123.0, "lon": 10.0}
        bad_bytes = codec.encode("seizures", bad)
        (bad_meta,) = produce(producer, SEIZURES, [(bad_id, bad, bad_bytes)])
        produce(producer, SEIZURES, [(good_id, good, good_bytes)])
        garbage = b"this is not avro " + uuid.uuid4().bytes
        garbage_meta = producer.send(CROSSINGS, key=b"test:garbage", value=garbage).get(timeout=30)

        def ours():
            letters = [codec.decode(r.value, "deadletters") for r in tail.read(timeout=1)]
            mine = {(d["source_topic"], d["source_partition"], d["source_offset"]): d for d in letters
                    if d["service"] == "indexer"}
            wanted = [(SEIZURES, bad_meta.partition, bad_meta.offset),
                      (CROSSINGS, garbage_meta.partition, garbage_meta.offset)]
            return [mine[k] for k in wanted] if all(k in mine for k in wanted) else None
        rejected, undecodable = wait_for(ours, 30, interval=0.2, what="dead letters")
    finally:
        tail.close()
    assert rejected["payload"] == bad_bytes and rejected["key"] == f"test:{bad_id}".encode()
    assert "Elasticsearch rejected the document: 400" in rejected["reason"] and "lat" in rejected["reason"]
    assert undecodable["payload"] == garbage and "undecodable" in undecodable["reason"]
    print(f"\ndead letter reason: {rejected['reason'][:200]}")
    wait_for(lambda: count_ids(es, "bh-events", [good_id]) == 1, 30, what="the good seizure")
    assert count_ids(es, "bh-events", [bad_id]) == 0


def watchlist_entry(codec, entry_id: str) -> bytes:
    datum, problems = from_json(codec.catalog.get("watchlist"), {
        "entry_id": entry_id, "kind": "PERSON", "names": ["Viktor Testov"], "nationalities": ["RU"],
        "reason": "integration test", "source_list": "tests", "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "biometric_templates": [{"modality": "FACE", "algorithm": "t", "algorithm_version": "1", "dimension": 2,
                                 "vector": [0.5, 0.25]}]})
    assert not problems, problems
    return codec.encode("watchlist", datum)


def test_a_watchlist_tombstone_deletes_the_entry(indexer, es, codec, producer):
    entry_id = f"test-entry-{uuid.uuid4()}"
    producer.send(WATCHLIST, key=entry_id.encode(), value=watchlist_entry(codec, entry_id)).get(timeout=30)
    hit = wait_for(lambda: es.search(index="bh-watchlist", query={"ids": {"values": [entry_id]}})["hits"]["hits"],
                   30, what="watchlist entry")[0]
    assert hit["_source"]["names"] == ["Viktor Testov"]
    assert "vector" not in hit["_source"]["biometric_templates"][0]
    producer.send(WATCHLIST, key=entry_id.encode(), value=None).get(timeout=30)
    wait_for(lambda: count_ids(es, "bh-watchlist", [entry_id]) == 0, 30, what="the tombstone to delete the entry")


def alert_bytes(codec, alert_id: str, score: float) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    return codec.encode("alerts", {
        "alert_id": alert_id, "created_at": now, "alert_type": "WATCHLIST_MATCH", "severity": "HIGH",
        "event_id": str(uuid.uuid4()), "event_kind": "CROSSING", "occurred_at": now, "port_locode": "USMIA",
        "subject": "TESTOV VIKTOR", "entry_id": "wl-test", "source_list": "tests", "action_on_hit": "DETAIN",
        "rule": None, "score": score, "explanation": [], "path": [], "related_event_ids": []})


def test_a_replayed_alert_keeps_the_triage_of_the_search_api(indexer, es, codec, producer, admin, settings):
    alert_id = str(uuid.uuid4())
    first = alert_bytes(codec, alert_id, 0.91)
    producer.send(ALERTS, key=alert_id.encode(), value=first).get(timeout=30)
    doc = wait_for(lambda: es.search(index="bh-alerts", query={"ids": {"values": [alert_id]}})["hits"]["hits"],
                   30, what="alert")[0]["_source"]
    assert doc["status"] == "new" and doc["score"] == pytest.approx(0.91)

    # What the search API does on triage.
    triage = {"status": "confirmed", "assignee": "officer-7",
              "history": [{"at": "2026-01-01T00:00:00Z", "by": "officer-7", "status": "confirmed", "note": "seen"}]}
    es.update(index="bh-alerts", id=alert_id, doc=triage, refresh=True)

    producer.send(ALERTS, key=alert_id.encode(), value=first).get(timeout=30)  # a replay
    producer.send(ALERTS, key=alert_id.encode(), value=alert_bytes(codec, alert_id, 0.99)).get(timeout=30)  # re-scored
    wait_caught_up(admin, settings)
    es.indices.refresh(index="bh-alerts")
    doc = es.get(index="bh-alerts", id=alert_id)["_source"]
    assert {k: doc[k] for k in triage} == triage
    assert doc["score"] == pytest.approx(0.99)
    assert count_ids(es, "bh-alerts", [alert_id]) == 1


def test_elasticsearch_outage_is_retried_without_committing(indexer, es, codec, producer, admin, settings, proxy):
    def retries(kind):
        return indexer.metrics().get(f'borderhub_indexer_retries_total{{kind="{kind}"}}', 0.0)

    before = {kind: retries(kind) for kind in ("unreachable", "bulk_failed")}
    wait_caught_up(admin, settings)
    events = new_events(codec, "crossings", 30)
    ids = [e[0] for e in events]
    try:
        proxy.mode = "down"  # connections reset
        metas = produce(producer, CROSSINGS, events)
        time.sleep(3)
        # Overloaded: 429 to every request. With the backoff's jitter (0.5 s doubling, +-20 %)
        # at least one attempt lands in these 5 s.
        proxy.mode = "429"
        time.sleep(5)
        # Still nothing indexed, nothing committed past what was there before the outage.
        assert count_ids(es, "bh-events", ids) == 0
        got = committed(admin)
        from kafka import TopicPartition
        for m in metas:
            assert got.get(TopicPartition(CROSSINGS, m.partition), 0) <= m.offset, "committed during the outage"
        assert retries("unreachable") >= before["unreachable"] + 2
        assert retries("bulk_failed") >= before["bulk_failed"] + 1
    finally:
        proxy.mode = "up"
    recovered = time.monotonic()
    wait_for(lambda: count_ids(es, "bh-events", ids) == len(ids), 60, interval=0.2, what="recovery")
    print(f"\nindexed {len(ids)} held events {time.monotonic() - recovered:.1f}s after Elasticsearch came back")
    wait_caught_up(admin, settings)


def publish_steadily(producer, items: list[tuple[str, tuple]], per_tick: int = 50, pause: float = 0.05):
    """Publishes (topic, event) items in the background, ``per_tick`` every ``pause`` seconds
    (about 1,000/s), so a test can act mid-stream; returns the thread and {event id: record
    metadata}, filled as acks arrive."""
    acks: dict = {}

    def publish():
        for i in range(0, len(items), per_tick):
            sent = [(e[0], producer.send(topic, key=e[0].encode(), value=e[2])) for topic, e in items[i:i + per_tick]]
            producer.flush()
            acks.update((event_id, future.get(timeout=30)) for event_id, future in sent)
            time.sleep(pause)
    thread = threading.Thread(target=publish)
    thread.start()
    return thread, acks


def test_sigterm_flushes_and_commits_before_exit(indexer, es, codec, producer, admin):
    from kafka import TopicPartition
    events = new_events(codec, "crossings", 3000)
    ids = [e[0] for e in events]
    publisher = None
    try:
        publisher, metas = publish_steadily(producer, [(CROSSINGS, e) for e in events])
        wait_for(lambda: count_ids(es, "bh-events", ids) > 0, 30, interval=0.01, what="indexing to start")
        assert indexer.sigterm() == 0
        publisher.join()
        # Whatever it indexed before exiting is committed: a restart redoes none of it.
        es.indices.refresh(index="bh-events")
        indexed = [h["_id"] for h in es.search(index="bh-events", query={"ids": {"values": ids}}, size=len(ids),
                                                 source=False)["hits"]["hits"]]
        got = committed(admin)
        uncommitted = [i for i in indexed if got.get(TopicPartition(CROSSINGS, metas[i].partition), 0) <= metas[i].offset]
        print(f"\nSIGTERM with {len(indexed)} of {len(ids)} indexed; {len(uncommitted)} indexed but uncommitted")
        assert indexed and not uncommitted
        assert len(indexed) < len(ids), "SIGTERM came too late to test anything"
        indexer.ensure_running()
        wait_for(lambda: count_ids(es, "bh-events", ids) == len(ids), 60, what="the rest after the restart")
    finally:
        if publisher:
            publisher.join()
        indexer.ensure_running()


def test_an_indexer_killed_mid_stream_loses_nothing_and_duplicates_nothing(indexer, es, codec, producer):
    events = new_events(codec, "crossings", 2500) + new_events(codec, "seizures", 250)
    random.shuffle(events)
    ids = [e[0] for e in events]
    items = [(SEIZURES if "category" in e[1] else CROSSINGS, e) for e in events]
    publisher = None
    try:
        publisher, _ = publish_steadily(producer, items)
        wait_for(lambda: count_ids(es, "bh-events", ids) > 0, 30, interval=0.01, what="indexing to start")
        indexer.kill9()
        at_kill = count_ids(es, "bh-events", ids)
        publisher.join()
        indexer.start()
        wait_for(lambda: count_ids(es, "bh-events", ids) == len(ids), 90, interval=0.25, what="all events after restart")
    finally:
        if publisher:
            publisher.join()
        indexer.ensure_running()
    print(f"\nkilled with {at_kill} of {len(ids)} indexed; all indexed after restart")
    assert at_kill < len(ids), "the kill came too late to test anything"
    # Exactly once: one document per id across every monthly index of the alias.
    dupes = es.search(index="bh-events", query={"ids": {"values": ids}}, size=0,
                      aggs={"d": {"terms": {"field": "event_id", "min_doc_count": 2, "size": 10}}})
    assert dupes["aggregations"]["d"]["buckets"] == []
    assert count_ids(es, "bh-events", ids) == len(ids)


def test_borderhub_indexer_cli_serves_metrics_and_stops_on_sigterm(settings, tmp_path):
    """The production entry point (group borderhub-indexer): starts, answers /metrics with the
    indexer's metrics, exits 0 on SIGTERM."""
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_INDEXER_METRICS_PORT=str(port), PYTHONUNBUFFERED="1")
    cli = ServiceProcess(["indexer"], env, f"http://127.0.0.1:{port}/metrics", tmp_path / "cli.log")
    cli.start()
    try:
        wait_for(lambda: 'borderhub_consumer_lag{group="borderhub-indexer"' in httpx.get(cli.health_url).text, 30,
                 interval=0.5, what="the lag gauge of the borderhub-indexer group")
        cli.proc.send_signal(signal.SIGTERM)
        assert cli.proc.wait(60) == 0
    finally:
        cli.stop()


def test_finished_months_are_merged_into_one_segment_and_the_current_month_is_left_alone(es):
    from services.search_api.es_setup import finished_months, merge_finished_months
    alias = f"bhtest-merge-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.timezone.utc)
    last_month = (now.replace(day=1) - dt.timedelta(days=40)).strftime("%Y.%m")  # over more than a day ago
    old, current = f"{alias}-{last_month}", f"{alias}-{now:%Y.%m}"
    try:
        for index in (old, current):
            es.indices.create(index=index, settings={"number_of_shards": 1, "number_of_replicas": 0,
                                                     "refresh_interval": -1})
            for i in range(3):  # three refreshes: three segments
                es.index(index=index, id=str(i), document={"n": i}, refresh=True)
        assert finished_months([old, current, f"{alias}x-{last_month}"], alias, now) == [old]
        assert merge_finished_months(es, alias, now) == [old]
        segments = es.indices.segments(index=f"{old},{current}")["indices"]
        count = {name: segments[name]["shards"]["0"][0]["num_search_segments"] for name in (old, current)}
        assert count[old] == 1 and count[current] > 1
        assert es.count(index=old)["count"] == 3
        assert merge_finished_months(es, alias, now) == []  # merged once, not again
    finally:
        for index in (old, current):
            es.indices.delete(index=index, ignore_unavailable=True)
