"""Correlation workers on the real Kafka: matches raise alerts with deterministic ids, watchlist
changes apply live, poison records reach the dead-letter topic, a flood stops the worker, and a
worker killed with -9 loses and duplicates nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import os
import signal
import time
import uuid

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from borderhub.avro import AvroCodec, from_json
from borderhub.topics import ALERTS, BIOMETRICS, CROSSINGS, DEADLETTER, LINKS, SEIZURES, WATCHLIST
from services.correlate.outputs import alert_id
from tests.conftest import ServiceProcess, _free_port
from tests.integration.kafka_tail import KafkaTail, commit_group_at_log_end

RUN = uuid.uuid4().hex[:6]


class Worker(ServiceProcess):
    """`borderhub correlate` as a real process with its own consumer group; ready when the
    watchlist and link graph are loaded and it has its partitions."""

    def __init__(self, settings, tmp_path, app_id: str, **extra_env):
        port = _free_port()
        env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
                   BORDERHUB_CORRELATE_APP_ID=app_id, BORDERHUB_CORRELATE_METRICS_PORT=str(port),
                   BORDERHUB_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
        env.update(extra_env)
        super().__init__(["correlate"], env, f"http://127.0.0.1:{port}/metrics", tmp_path / f"{app_id}.log")

    def healthy(self) -> bool:
        try:
            return "borderhub_correlate_ready 1.0" in httpx.get(self.health_url, timeout=2).text
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 120, wait: bool = False) -> None:
        super().start(timeout, wait)

    def wait_ready(self, timeout: float = 120) -> None:
        super().wait_ready(timeout)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a counter's samples with these labels, from the worker's /metrics."""
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        total = 0.0
        for line in httpx.get(self.health_url, timeout=5).text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                head, value = line.rsplit(" ", 1)
                if all(w in head for w in wanted):
                    total += float(value)
        return total

    def skip_history(self, settings) -> None:
        """Commit the group's offsets at the topics' ends, so the worker handles only what
        the tests publish from now on (and still resumes from commits after a crash)."""
        from kafka import OffsetAndMetadata
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","),
                                 group_id=self.env["BORDERHUB_CORRELATE_APP_ID"], enable_auto_commit=False)
        partitions = [TopicPartition(t, p) for t in (CROSSINGS, SEIZURES, BIOMETRICS)
                      for p in consumer.partitions_for_topic(t)]
        ends = consumer.end_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
        consumer.close()


@pytest.fixture(scope="module")
def codec(catalog):
    return AvroCodec(catalog)


@pytest.fixture(scope="module")
def producer(settings):
    p = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all")
    yield p
    p.close()


@pytest.fixture(scope="module")
def publish(producer, codec):
    def send(kind_or_topic: str, datum: dict | None, key: bytes, raw: bytes | None = None):
        topic = {"crossings": CROSSINGS, "seizures": SEIZURES, "biometrics": BIOMETRICS,
                 "watchlist": WATCHLIST}[kind_or_topic]
        value = raw if raw is not None else (None if datum is None else codec.encode(kind_or_topic, datum))
        return producer.send(topic, key=key, value=value).get(timeout=30)
    return send


def entry(entry_id: str, names: list[str], **fields) -> dict:
    base = {"entry_id": entry_id, "kind": "PERSON", "names": names, "aliases": [], "identifiers": [],
            "birth_dates": [], "nationalities": [], "sex": "UNKNOWN", "document_status": "UNKNOWN",
            "biometric_templates": [], "topics": ["wanted"], "reason": "integration test", "action_on_hit": "ARREST",
            "valid_from": None, "valid_until": None, "source_list": f"test-{RUN}",
            "updated_at": dt.datetime.now(dt.timezone.utc)}
    base.update(fields)
    return base


def crossing(catalog, given: str, family: str, birth: str | None, nationality: str | None = None,
             document: dict | None = None) -> dict:
    event = {"event_id": str(uuid.uuid4()), "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(),
             "port_locode": "USMIA", "mode": "AIR", "direction": "ENTRY",
             "traveller": {"given_names": given, "family_names": family, "date_of_birth": birth,
                           "nationality": nationality},
             "document": document, "source_system": "tests"}
    datum, problems = from_json(catalog.get("crossings"), event)
    assert not problems, problems
    return datum


INDEXER_GROUP = f"test-correlate-indexer-{RUN}"


@pytest.fixture(scope="module")
def indexer(settings, tmp_path_factory):
    """The real indexer (its own consumer group, from the topics' current ends): retro-hunts
    read the events it indexed from Elasticsearch and watch its committed offsets."""
    from kafka import KafkaAdminClient
    from services.search_api.indexer import TOPIC_KINDS
    commit_group_at_log_end(settings.kafka_bootstrap, INDEXER_GROUP, list(TOPIC_KINDS))
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_INDEXER_GROUP_ID=INDEXER_GROUP, BORDERHUB_INDEXER_METRICS_PORT=str(port),
               PYTHONUNBUFFERED="1")
    service = ServiceProcess(["indexer"], env, f"http://127.0.0.1:{port}/metrics",
                             tmp_path_factory.mktemp("indexer") / "indexer.log")
    service.start()
    yield service
    if service.proc.poll() is None:
        os.kill(service.proc.pid, signal.SIGCONT)
    service.stop()
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.delete_groups([INDEXER_GROUP])
    except Exception:
        pass
    admin.close()


@pytest.fixture(scope="module")
def es(settings):
    from elasticsearch import Elasticsearch
    client = Elasticsearch(settings.es_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def worker(settings, tmp_path_factory, publish, indexer):
    listed = [
        entry(f"p-{RUN}-petrov", ["Viktor Sergeyevich Petrov"], birth_dates=["1971-03-02"], nationalities=["RU"]),
        entry(f"d-{RUN}-stolen", [], kind="DOCUMENT", document_status="STOLEN", action_on_hit="SEIZE_DOCUMENT",
              identifiers=[{"scheme": "PASSPORT", "value": f"ZX{RUN.upper()}", "country": "ES"}]),
    ]
    for e in listed:
        publish("watchlist", e, e["entry_id"].encode())
    w = Worker(settings, tmp_path_factory.mktemp("correlate"), f"borderhub-correlate-test-{RUN}",
               BORDERHUB_INDEXER_GROUP_ID=INDEXER_GROUP, BORDERHUB_CORRELATE_RETRO_HUNT_INDEX_WAIT="5")
    w.skip_history(settings)
    w.start()
    w.wait_ready()
    yield w
    w.stop()
    for e in listed:
        publish("watchlist", None, e["entry_id"].encode())


def alerts_for(settings, codec, event_ids: set[str], expect: int, timeout: float = 30) -> list[dict]:
    """Committed alerts (read_committed) for these events, waiting until ``expect`` arrive."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None,
                             isolation_level="read_committed", enable_auto_commit=False)
    partitions = [TopicPartition(ALERTS, p) for p in consumer.partitions_for_topic(ALERTS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                alert = codec.decode(r.value)
                # Entries left by an earlier, interrupted run may still be listed: ignore them.
                if alert["event_id"] in event_ids and (alert["entry_id"] is None or RUN in alert["entry_id"]):
                    found.append(alert)
        # Distinct ids: records replayed after a crash repeat an id and must not count twice.
        if len({a["alert_id"] for a in found}) >= expect and \
                all(consumer.position(tp) >= hw for tp, hw in consumer.end_offsets(partitions).items()):
            break
    consumer.close()
    return found


def test_transliterated_name_and_birth_date_raise_an_explained_alert(worker, publish, settings, codec, catalog):
    matching_cpu = worker.metric("borderhub_correlate_match_cpu_seconds_total")
    event = crossing(catalog, "Виктор", "Петров", "1971-03-02", "RU")
    publish("crossings", event, b"petrov")
    found = alerts_for(settings, codec, {event["event_id"]}, expect=1)
    assert worker.metric("borderhub_correlate_match_cpu_seconds_total") > matching_cpu  # the stream bench reads it
    (alert,) = [a for a in found if a["alert_type"] == "WATCHLIST_MATCH"]
    assert alert["entry_id"] == f"p-{RUN}-petrov"
    assert alert["alert_id"] == alert_id("watchlist", event["event_id"], alert["entry_id"])
    assert alert["severity"] in ("CRITICAL", "HIGH") and alert["action_on_hit"] == "ARREST"
    assert 0.0 < alert["score"] <= 1.0 and alert["explanation"]


def test_namesake_born_twenty_years_apart_is_not_an_alert(worker, publish, settings, codec, catalog):
    namesake = crossing(catalog, "Viktor", "Petrov", "1991-08-19", "BG")
    sentinel = crossing(catalog, "Viktor Sergeyevich", "Petrov", "1971-03-02", "RU")
    publish("crossings", namesake, b"namesake")
    publish("crossings", sentinel, b"namesake")  # same key, same partition: processed after
    found = alerts_for(settings, codec, {namesake["event_id"], sentinel["event_id"]}, expect=1)
    assert [a["event_id"] for a in found] == [sentinel["event_id"]]


def test_stolen_document_hits_whoever_carries_it(worker, publish, settings, codec, catalog):
    event = crossing(catalog, "Ana", "Ruiz", "1990-01-01", "ES",
                     document={"document_type": "PASSPORT", "number": f"ZX{RUN.upper()}", "issuing_country": "ES"})
    publish("crossings", event, b"doc")
    (alert,) = alerts_for(settings, codec, {event["event_id"]}, expect=1)
    assert alert["entry_id"] == f"d-{RUN}-stolen" and alert["action_on_hit"] == "SEIZE_DOCUMENT"


def passport(number: str) -> dict:
    return {"document_type": "PASSPORT", "number": number, "issuing_country": "CO"}


def rule_alerts(settings, codec, event_ids, expect, rule):
    return [a for a in alerts_for(settings, codec, set(event_ids), expect=expect) if a["rule"] == rule]


def test_rule_impossible_travel(worker, publish, settings, codec, catalog):
    doc = passport(f"IT{RUN.upper()}")
    first = crossing(catalog, "Luis", "Mora", "1980-02-02", "CO", document=doc)
    second = crossing(catalog, "Luis", "Mora", "1980-02-02", "CO", document=doc)
    first["mode"] = second["mode"] = "LAND"
    second["port_locode"] = "CAYVR"  # Miami, then Vancouver by land half an hour later
    first["occurred_at"] -= dt.timedelta(minutes=40)  # both in the past: future times are dead letters
    second["occurred_at"] = first["occurred_at"] + dt.timedelta(minutes=30)
    publish("crossings", first, b"it")
    publish("crossings", second, b"it")
    (alert,) = rule_alerts(settings, codec, [first["event_id"], second["event_id"]], 1, "impossible_travel")
    assert alert["alert_type"] == "RULE" and set(alert["related_event_ids"]) | {alert["event_id"]} == \
        {first["event_id"], second["event_id"]}


def test_rule_seizure_phone_reappears_at_a_crossing(worker, publish, settings, codec, catalog):
    phone = f"+5731{int(RUN, 16) % 10**8:08d}"
    seized = {"event_id": str(uuid.uuid4()), "occurred_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).isoformat(),
              "port_locode": "USSYO", "category": "NARCOTICS",
              "items": [{"description": "bricks", "substance": "cocaine", "quantity": 12.0, "unit": "KG"}],
              "phone_numbers": [phone], "source_system": "tests"}
    datum, problems = from_json(catalog.get("seizures"), seized)
    assert not problems, problems
    publish("seizures", datum, b"seized")
    time.sleep(2)
    later = crossing(catalog, "Rosa", "Quintero", "1975-06-06", "CO")
    later["traveller"]["phone_numbers"] = [phone]
    publish("crossings", later, b"reappear")
    found = rule_alerts(settings, codec, [later["event_id"]], 1, "seizure_reappearance")
    assert found and datum["event_id"] in found[0]["related_event_ids"]


def test_rule_currency_structuring(worker, publish, settings, codec, catalog):
    doc = passport(f"CS{RUN.upper()}")
    events = []
    for amount in ("9400.00", "9700.00"):
        event = crossing(catalog, "Eva", "Lind", "1970-07-07", "CO", document=doc)
        event["declared_currency"] = [{"amount": Decimal(amount), "currency": "USD"}]
        events.append(event)
        publish("crossings", event, b"cs")
    (alert,) = rule_alerts(settings, codec, [e["event_id"] for e in events], 1, "currency_structuring")
    assert alert["event_id"] == events[1]["event_id"]


def test_rule_repeated_seizures_on_one_route(worker, publish, settings, codec, catalog):
    flight = f"Q7{int(RUN, 16) % 9000 + 1000}"
    seizures = []
    for days_ago in (20, 9, 1):
        event = {"event_id": str(uuid.uuid4()),
                 "occurred_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)).isoformat(),
                 "port_locode": "USMIA", "category": "NARCOTICS", "detection_method": "CANINE",
                 "items": [{"description": "swallowed pellets", "substance": "cocaine", "quantity": 1.1, "unit": "KG"}],
                 "conveyance": {"flight_number": flight}, "source_system": "tests"}
        datum, problems = from_json(catalog.get("seizures"), event)
        assert not problems, problems
        seizures.append(datum)
        publish("seizures", datum, b"route")
    (alert,) = rule_alerts(settings, codec, [e["event_id"] for e in seizures], 1, "repeated_route_seizures")
    assert alert["event_id"] == seizures[2]["event_id"]
    assert set(alert["related_event_ids"]) == {seizures[0]["event_id"], seizures[1]["event_id"]}


def test_network_alert_two_hops_from_a_listed_phone(worker, publish, settings, codec, catalog):
    phone = f"+5255{int(RUN, 16) % 10**8:08d}"  # a valid Mexico City number
    plate = f"NW{RUN.upper()}"
    listed = entry(f"ph-{RUN}", [], kind="PHONE", action_on_hit="MONITOR",
                   identifiers=[{"scheme": "PHONE", "value": phone, "country": "MX"}])
    publish("watchlist", listed, listed["entry_id"].encode())
    time.sleep(2)
    seized = {"event_id": str(uuid.uuid4()), "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(),
              "port_locode": "USOYM", "category": "FIREARMS",
              "items": [{"description": "rifles", "quantity": 4.0, "unit": "UNITS"}],
              "conveyance": {"vehicle_plate": plate, "vehicle_country": "MX"},
              "phone_numbers": [phone], "source_system": "tests"}
    seizure_datum, problems = from_json(catalog.get("seizures"), seized)
    assert not problems, problems
    publish("seizures", seizure_datum, b"net")
    time.sleep(3)  # the seizure's edges reach every worker's graph through hub.links.v1
    later = crossing(catalog, "Jorge", "Salas", "1969-04-04", "MX")
    later["conveyance"] = {"vehicle_plate": plate, "vehicle_country": "MX"}
    publish("crossings", later, b"net")
    found = [a for a in alerts_for(settings, codec, {later["event_id"]}, 1) if a["alert_type"] == "NETWORK"]
    assert found, "no network alert"
    assert found[0]["path"][0] == f"vehicle:MX:{plate}" and found[0]["path"][-1] == f"phone:{phone}"
    assert found[0]["entry_id"] == listed["entry_id"] and found[0]["severity"] in ("LOW", "MEDIUM")
    publish("watchlist", None, listed["entry_id"].encode())


def test_poison_record_reaches_the_dead_letter_topic(worker, publish, settings, codec):
    tail = KafkaTail(settings.kafka_bootstrap, DEADLETTER)
    poison = b"\xc3\x01" + b"\xff" * 8 + b"not avro at all " + RUN.encode()
    metadata = publish("crossings", None, b"poison", raw=poison)
    # The module's indexer dead-letters the same record too (service "indexer").
    letters, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline and not any(d["payload"] == poison and d["service"] == "correlate"
                                                  for d in letters):
        letters += [codec.decode(r.value) for r in tail.read(at_least=1, timeout=5)]
    (letter,) = [d for d in letters if d["payload"] == poison and d["service"] == "correlate"]
    assert letter["service"] == "correlate" and letter["source_topic"] == CROSSINGS
    assert (letter["source_partition"], letter["source_offset"]) == (metadata.partition, metadata.offset)
    assert "fingerprint" in letter["reason"]


def test_killed_worker_loses_and_duplicates_nothing(worker, publish, settings, codec, catalog, tmp_path):
    # A worker of its own group, alone: the module's worker pauses so that every alert seen
    # here comes from the victim, before or after its crash.
    worker.stop()
    victim = Worker(settings, tmp_path, f"borderhub-correlate-kill-{RUN}")
    victim.skip_history(settings)
    victim.start()
    try:
        victim.wait_ready()
        events = [crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU") for _ in range(300)]
        expected = {alert_id("watchlist", e["event_id"], f"p-{RUN}-petrov") for e in events}
        for i, event in enumerate(events):
            publish("crossings", event, f"kill-{i % 12}".encode())
            if i == 150:
                victim.kill9()
        victim.start()
        victim.wait_ready()
        found = [a for a in alerts_for(settings, codec, {e["event_id"] for e in events}, expect=len(events),
                                       timeout=180)
                 if a["alert_type"] == "WATCHLIST_MATCH"]
    finally:
        victim.stop()
        worker.start()
        worker.wait_ready()
    ids = [a["alert_id"] for a in found]
    assert set(ids) == expected  # none lost
    # Records replayed after the kill carry the same ids and content: one alert per id for
    # every consumer that keys by alert id (the indexer does).
    by_id: dict[str, set] = {}
    for a in found:
        by_id.setdefault(a["alert_id"], set()).add((a["event_id"], a["entry_id"], a["score"], a["severity"]))
    assert all(len(versions) == 1 for versions in by_id.values())

def test_restarted_worker_restores_its_snapshot_and_applies_what_changed_meanwhile(worker, publish, settings, codec,
                                                                                    catalog, tmp_path):
    gone = entry(f"p-{RUN}-snapgone", [f"Marek Zielinski{RUN}"], birth_dates=["1966-06-16"])
    added = entry(f"p-{RUN}-snapadded", [f"Ines Carvalho{RUN}"], birth_dates=["1990-09-19"])
    publish("watchlist", gone, gone["entry_id"].encode())
    worker.stop()  # alone in the test, as in the kill test: every alert seen comes from `restarted`
    restarted = Worker(settings, tmp_path, f"borderhub-correlate-snapshot-{RUN}")
    restarted.skip_history(settings)
    restarted.start()
    try:
        restarted.wait_ready()
        for topic in (WATCHLIST, LINKS):
            assert wait_for_metric(restarted, "borderhub_correlate_snapshots_total", 1, timeout=60, topic=topic,
                                   outcome="written") >= 1
        assert restarted.metric("borderhub_correlate_load_seconds", topic=WATCHLIST, source="topic") > 0
        restarted.stop()
        # While it is down: one listing deleted, one added.
        publish("watchlist", None, gone["entry_id"].encode())
        publish("watchlist", added, added["entry_id"].encode())
        restarted.start()
        restarted.wait_ready()
        for topic in (WATCHLIST, LINKS):
            assert restarted.metric("borderhub_correlate_load_seconds", topic=topic, source="snapshot") > 0
        log = restarted.log.read_text()
        assert f"{WATCHLIST}: restored from snapshot" in log and f"{LINKS}: restored from snapshot" in log
        assert "structures rebuilt" not in log  # the installation's hash seed held across the restart
        of_gone = crossing(catalog, "Marek", f"Zielinski{RUN}", "1966-06-16")
        of_added = crossing(catalog, "Ines", f"Carvalho{RUN}", "1990-09-19")
        of_petrov = crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU")  # listed before the snapshot
        for event in (of_gone, of_added, of_petrov):
            publish("crossings", event, b"snapshot")  # one partition: in order
        found = alerts_for(settings, codec, {e["event_id"] for e in (of_gone, of_added, of_petrov)}, expect=2,
                           timeout=60)
    finally:
        restarted.stop()
        publish("watchlist", None, added["entry_id"].encode())
        worker.start()
        worker.wait_ready()
    assert sorted((a["event_id"], a["entry_id"]) for a in found if a["alert_type"] == "WATCHLIST_MATCH") == sorted(
        [(of_added["event_id"], added["entry_id"]), (of_petrov["event_id"], f"p-{RUN}-petrov")])


def test_a_flood_of_dead_letters_stops_the_worker(settings, publish, tmp_path):
    flood = Worker(settings, tmp_path, f"borderhub-correlate-flood-{RUN}", BORDERHUB_CORRELATE_FLOOD_WINDOW="50",
                   BORDERHUB_CORRELATE_FLOOD_MIN="20", BORDERHUB_CORRELATE_FLOOD_RATIO="0.5")
    flood.skip_history(settings)
    flood.start()
    try:
        flood.wait_ready()
        for i in range(80):
            publish("crossings", None, b"flood", raw=b"garbage-" + str(i).encode())
        flood.proc.wait(timeout=120)
        assert flood.proc.returncode != 0
        assert "dead-lettered" in flood.log.read_text()
    finally:
        flood.stop()


# Watchlist changes start retro-hunts over the backlog: these run last.
def test_watchlist_add_and_delete_apply_live(worker, publish, settings, codec, catalog):
    name = ("Oksana", f"Hrytsenko{RUN}")
    before = crossing(catalog, *name, "1985-05-05", "UA")
    marker = crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU")
    publish("crossings", before, b"live")
    publish("crossings", marker, b"live")  # same partition: once it alerts, `before` was processed
    alerts_for(settings, codec, {marker["event_id"]}, expect=1)
    added = entry(f"p-{RUN}-live", [f"{name[0]} {name[1]}"], birth_dates=["1985-05-05"])
    publish("watchlist", added, added["entry_id"].encode())
    time.sleep(2)
    during = crossing(catalog, *name, "1985-05-05", "UA")
    publish("crossings", during, b"live")
    # Two ids: `during` live, and `before` found by the retro-hunt (which, served by
    # Elasticsearch, can be faster than the live alert).
    live = [a for a in alerts_for(settings, codec, {before["event_id"], during["event_id"]}, 2)
            if a["alert_type"] == "WATCHLIST_MATCH"]
    assert [a["event_id"] for a in live] == [during["event_id"]]
    publish("watchlist", None, added["entry_id"].encode())
    time.sleep(2)
    after = crossing(catalog, *name, "1985-05-05", "UA")
    sentinel = crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU")
    publish("crossings", after, b"live")
    publish("crossings", sentinel, b"live")
    found = [a for a in alerts_for(settings, codec, {after["event_id"], sentinel["event_id"]}, expect=1)
             if a["alert_type"] == "WATCHLIST_MATCH"]
    assert [a["event_id"] for a in found] == [sentinel["event_id"]]


def test_new_listing_is_hunted_in_past_events(worker, publish, settings, codec, catalog):
    name = ("Farid", f"Haddad{RUN}")
    past = crossing(catalog, *name, "1979-09-09", "LB")
    sentinel = crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU")
    publish("crossings", past, b"retro")
    publish("crossings", sentinel, b"retro")
    assert [a["event_id"] for a in alerts_for(settings, codec, {past["event_id"], sentinel["event_id"]}, 1)] == \
        [sentinel["event_id"]]  # not listed when it crossed
    listed = entry(f"p-{RUN}-retro", [f"{name[0]} {name[1]}"], birth_dates=["1979-09-09"])
    publish("watchlist", listed, listed["entry_id"].encode())
    (alert,) = alerts_for(settings, codec, {past["event_id"]}, expect=1, timeout=60)
    assert alert["alert_type"] == "RETRO_HUNT" and alert["entry_id"] == listed["entry_id"]
    publish("watchlist", None, listed["entry_id"].encode())


def test_biometric_capture_matches_a_listed_template(worker, publish, settings, codec, catalog):
    import numpy as np
    rng = np.random.default_rng(abs(hash(RUN)) % 2**32)
    base = rng.normal(size=512)
    base /= np.linalg.norm(base)
    template = {"modality": "FACE", "algorithm": "arcface-r100", "algorithm_version": "2.1", "dimension": 512}
    listed = entry(f"p-{RUN}-face", [f"Unknown Courier {RUN}"],
                   biometric_templates=[{**template, "vector": base.astype("float32").tolist()}])
    publish("watchlist", listed, listed["entry_id"].encode())
    time.sleep(2)
    probe = base + rng.normal(scale=0.02, size=512)  # the same face, another capture
    stranger = rng.normal(size=512)
    captures = []
    for vector in (probe / np.linalg.norm(probe), stranger / np.linalg.norm(stranger)):
        capture = {"event_id": str(uuid.uuid4()), "captured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                   "port_locode": "USLAX", "template": {**template, "vector": vector.astype("float32").tolist()},
                   "quality": 80, "source_system": "tests"}
        datum, problems = from_json(catalog.get("biometrics"), capture)
        assert not problems
        captures.append(datum)
        publish("biometrics", datum, b"face")
    found = alerts_for(settings, codec, {c["event_id"] for c in captures}, expect=1)
    assert [(a["event_id"], a["entry_id"]) for a in found] == [(captures[0]["event_id"], listed["entry_id"])]
    assert any("biometric" in f["feature"] for f in found[0]["explanation"])
    publish("watchlist", None, listed["entry_id"].encode())


# Retro-hunt sources: Elasticsearch (what the indexer wrote), the not yet indexed tail from
# Kafka, and Kafka alone when Elasticsearch is down. Events put only into Elasticsearch (never
# published) can be found by the Elasticsearch path alone.
def index_only(es, kind: str, datum: dict) -> tuple[str, str]:
    from services.search_api.indices import event_document
    index, doc_id, doc = event_document(kind, datum)
    es.index(index=index, id=doc_id, document=doc, refresh=True)
    return index, doc_id


def wait_for_metric(w: Worker, name: str, at_least: float, timeout: float = 30, **labels) -> float:
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        try:
            value = w.metric(name, **labels)
        except httpx.HTTPError:  # a busy worker answers /metrics late
            continue
        if value >= at_least:
            break
        time.sleep(0.3)
    return value


def test_retro_hunt_scores_events_found_in_elasticsearch(worker, publish, settings, codec, catalog, es):
    name = ("Goran", f"Kovacevic{RUN}")
    past = crossing(catalog, "Goran", f"Kovačević{RUN}", "1966-06-16", "RS")  # diacritics: folded by the index
    namesake = crossing(catalog, *name, "1986-01-30", "HR")  # born 20 years apart: scored, no alert
    for event in (past, namesake):
        event["occurred_at"] -= dt.timedelta(days=3)
    docs = [index_only(es, "crossings", e) for e in (past, namesake)]
    try:
        hits_before = worker.metric("borderhub_retro_hunt_hits_total", source="elasticsearch")
        listed = entry(f"p-{RUN}-es", [f"{name[0]} {name[1]}"], birth_dates=["1966-06-16"], nationalities=["RS"])
        publish("watchlist", listed, listed["entry_id"].encode())
        found = alerts_for(settings, codec, {past["event_id"], namesake["event_id"]}, expect=1, timeout=60)
        assert [(a["event_id"], a["alert_type"], a["entry_id"]) for a in found] == \
            [(past["event_id"], "RETRO_HUNT", listed["entry_id"])]
        assert found[0]["alert_id"] == alert_id("watchlist", past["event_id"], listed["entry_id"])
        assert {"name_similarity", "birth_date"} <= {f["feature"] for f in found[0]["explanation"]}
        assert wait_for_metric(worker, "borderhub_retro_hunt_hits_total", hits_before + 1,
                               source="elasticsearch") >= hits_before + 1
        publish("watchlist", None, listed["entry_id"].encode())
    finally:
        for index, doc_id in docs:
            es.delete(index=index, id=doc_id, refresh=True)


def test_retro_hunt_finds_a_listed_face_by_knn_in_elasticsearch(worker, publish, settings, codec, catalog, es):
    import numpy as np
    rng = np.random.default_rng(int(RUN, 16))
    base = rng.normal(size=512)
    base /= np.linalg.norm(base)
    template = {"modality": "FACE", "algorithm": "arcface-r100", "algorithm_version": "2.1", "dimension": 512}
    captures, docs = [], []
    for vector in (base + rng.normal(scale=0.02, size=512), rng.normal(size=512)):  # the face; a stranger
        capture = {"event_id": str(uuid.uuid4()),
                   "captured_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).isoformat(),
                   "port_locode": "USLAX", "quality": 80, "source_system": "tests",
                   "template": {**template, "vector": (vector / np.linalg.norm(vector)).astype("float32").tolist()}}
        datum, problems = from_json(catalog.get("biometrics"), capture)
        assert not problems
        captures.append(datum)
        docs.append(index_only(es, "biometrics", datum))
    try:
        listed = entry(f"p-{RUN}-knn", [f"Unknown Courier {RUN}"],
                       biometric_templates=[{**template, "vector": base.astype("float32").tolist()}])
        publish("watchlist", listed, listed["entry_id"].encode())
        found = alerts_for(settings, codec, {c["event_id"] for c in captures}, expect=1, timeout=60)
        assert [(a["event_id"], a["alert_type"]) for a in found] == [(captures[0]["event_id"], "RETRO_HUNT")]
        assert any(f["feature"] == "biometric" for f in found[0]["explanation"])
        publish("watchlist", None, listed["entry_id"].encode())
    finally:
        for index, doc_id in docs:
            es.delete(index=index, id=doc_id, refresh=True)


def test_retro_hunt_reads_events_not_yet_indexed_from_kafka(worker, indexer, publish, settings, codec, catalog):
    # The indexer is frozen: the crossing is acknowledged by Kafka but not in Elasticsearch when
    # the entry is listed. The hunt waits for the indexer's commits, then reads the rest from Kafka.
    name = ("Ilse", f"Vandamme{RUN}")
    past = crossing(catalog, *name, "1977-07-17", "BE")
    sentinel = crossing(catalog, "Viktor", "Petrov", "1971-03-02", "RU")
    tail_before = worker.metric("borderhub_retro_hunt_hits_total", source="kafka_tail")
    os.kill(indexer.proc.pid, signal.SIGSTOP)
    try:
        publish("crossings", past, b"gap")
        publish("crossings", sentinel, b"gap")
        alerts_for(settings, codec, {sentinel["event_id"]}, expect=1)  # `past` was processed live, unlisted
        listed = entry(f"p-{RUN}-gap", [f"{name[0]} {name[1]}"], birth_dates=["1977-07-17"])
        publish("watchlist", listed, listed["entry_id"].encode())
        (alert,) = alerts_for(settings, codec, {past["event_id"]}, expect=1, timeout=60)
        assert alert["alert_type"] == "RETRO_HUNT" and alert["entry_id"] == listed["entry_id"]
        assert wait_for_metric(worker, "borderhub_retro_hunt_hits_total", tail_before + 1,
                               source="kafka_tail") >= tail_before + 1
    finally:
        os.kill(indexer.proc.pid, signal.SIGCONT)
    publish("watchlist", None, listed["entry_id"].encode())


def test_retro_hunt_falls_back_to_kafka_when_elasticsearch_is_down(worker, publish, settings, codec, catalog,
                                                                    tmp_path):
    blind = Worker(settings, tmp_path, f"borderhub-correlate-noes-{RUN}",
                   BORDERHUB_ES_URL=f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    blind.skip_history(settings)
    blind.start()
    try:
        blind.wait_ready()
        name = ("Tomasz", f"Wrobel{RUN}")
        past = crossing(catalog, *name, "1982-12-01", "PL")
        publish("crossings", past, b"noes")
        listed = entry(f"p-{RUN}-noes", [f"{name[0]} {name[1]}"], birth_dates=["1982-12-01"])
        publish("watchlist", listed, listed["entry_id"].encode())
        assert wait_for_metric(blind, "borderhub_retro_hunt_hits_total", 1, timeout=180, source="kafka") >= 1
        assert blind.metric("borderhub_retro_hunts_total", source="kafka") >= 1
        assert blind.metric("borderhub_retro_hunts_total", source="elasticsearch") == 0
        found = alerts_for(settings, codec, {past["event_id"]}, expect=1)
        assert {(a["entry_id"], a["alert_id"]) for a in found if a["alert_type"] == "RETRO_HUNT"} == \
            {(listed["entry_id"], alert_id("watchlist", past["event_id"], listed["entry_id"]))}
        assert "Elasticsearch unavailable" in blind.log.read_text()
        publish("watchlist", None, listed["entry_id"].encode())
    finally:
        blind.stop()
