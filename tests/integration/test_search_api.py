"""The search API as a real process against the real Elasticsearch and Kafka: every endpoint,
every role, the audit trail, triage concurrency, cursor pages, exports, rate limits, and no
biometric template in any answer.

Documents are seeded with the index contract (``indices.event_document`` and friends) straight
into the real indices, under a random name token so the assertions only see this run's data.
The link graph of the seeded events goes the way correlation's does: LinkSets on Kafka, the
real indexer, ``bh-links``.
"""

from __future__ import annotations

import concurrent.futures
import csv
import datetime as dt
import io
import json
import os
import random
import time
import uuid

import httpx
import pytest

from borderhub.avro import AvroCodec, from_json
from borderhub.domain.entities import person_key
from borderhub.topics import LINKS, WATCHLIST
from services.ingest.watchlist import make_entry
from services.search_api import es_setup, indices
from services.search_api.indexer import TOPIC_KINDS
from tests.conftest import ServiceProcess, _free_port
from tests.integration.kafka_tail import KafkaTail, commit_group_at_log_end
from services.correlate.links import link_set

ROLES = ("producer", "officer", "investigator", "analyst", "operations", "admin")
TOKEN = "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(9))
FAMILY = TOKEN.capitalize()
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
PHONE = "+52155" + "".join(random.choice("0123456789") for _ in range(6))
PLATE = TOKEN[:4].upper() + "123"
GIVEN = ("Ana", "Luis", "Marta", "Jorge", "Sofia")
N_CROSSINGS, N_SEIZURES = 25, 3
SEARCHABLE = N_CROSSINGS + N_SEIZURES + 1  # + the doctored document with a stray vector


# --- the API as a process ---------------------------------------------------------------------

def start_api(settings, tmp_path_factory, rate_limit: int = 100_000) -> ServiceProcess:
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_API_KEYS_FILE=str(settings.keys_file), BORDERHUB_API_RATE_LIMIT_PER_MINUTE=str(rate_limit),
               PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("logs") / f"search-api-{port}.log"
    service = ServiceProcess(["search-api", "--port", str(port)], env, f"http://127.0.0.1:{port}/healthz", log)
    service.start()
    service.url = f"http://127.0.0.1:{port}"
    return service


@pytest.fixture(scope="module")
def es(settings):
    client = es_setup.make_client(settings)
    es_setup.ensure_indices(client, settings)
    yield client
    client.close()


@pytest.fixture(scope="module")
def role_keys(keys):
    """role -> (key id, secret) for every role."""
    out = {}
    for role in ROLES:
        record, token = keys.create(role, name=f"search-tests-{role}")
        out[role] = (record.key_id, token)
    return out


@pytest.fixture(scope="module")
def seeded(es, catalog):
    data = seed(es, catalog)
    yield data
    cleanup = es.bulk(operations=[{"delete": {"_index": index, "_id": doc_id}} for index, doc_id in data["written"]],
                      refresh=True)
    assert not cleanup["errors"]


@pytest.fixture(scope="module")
def linked(settings, es, seeded, catalog, tmp_path_factory):
    """The link sets of the seeded events, as correlation publishes them, produced to Kafka and
    indexed into bh-links by the real indexer (in a group of this module, from the log end)."""
    from kafka import KafkaAdminClient

    from borderhub.kafka import make_producer
    codec = AvroCodec(catalog)
    group = f"search-tests-indexer-{TOKEN}"
    commit_group_at_log_end(settings.kafka_bootstrap, group, list(TOPIC_KINDS))
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_INDEXER_GROUP_ID=group, BORDERHUB_INDEXER_METRICS_PORT=str(port), PYTHONUNBUFFERED="1")
    indexer = ServiceProcess(["indexer"], env, f"http://127.0.0.1:{port}/metrics",
                             tmp_path_factory.mktemp("logs") / "indexer.log")
    events = [("crossings", o) for o in seeded["crossings"] + [seeded["doctored"]]] + \
        [("seizures", o) for o in seeded["seizures"]] + [("biometrics", seeded["biometric"])]
    linksets = [link_set(kind, datum(catalog, kind, obj)) for kind, obj in events]
    ids = [ls["event_id"] for ls in linksets]
    indexer.start(timeout=120)
    try:
        producer = make_producer(settings, "search-tests-links")
        for linkset in linksets:
            producer.send(LINKS, key=linkset["event_id"].encode(), value=codec.encode("links", linkset))
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 60
        while es.count(index=indices.LINKS_ALIAS, query={"ids": {"values": ids}})["count"] < len(ids):
            assert time.monotonic() < deadline, f"link sets not indexed: {indexer.log.read_text()[-3000:]}"
            time.sleep(0.2)
    finally:
        indexer.stop()
    yield {"linksets": {ls["event_id"]: ls for ls in linksets}}
    hits = es.search(index=indices.LINKS_ALIAS, query={"ids": {"values": ids}}, size=len(ids), source=False)
    cleanup = es.bulk(operations=[{"delete": {"_index": h["_index"], "_id": h["_id"]}} for h in hits["hits"]["hits"]],
                      refresh=True)
    assert not cleanup["errors"]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.delete_groups([group])
    finally:
        admin.close()


@pytest.fixture(scope="module")
def api(settings, seeded, tmp_path_factory):
    service = start_api(settings, tmp_path_factory)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def client(api):
    with httpx.Client(base_url=api.url, timeout=30) as c:
        yield c


def auth(role_keys, role: str) -> dict:
    return {"X-API-Key": role_keys[role][1]}


# --- seed data --------------------------------------------------------------------------------

def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def document(i: int) -> dict:
    return {"document_type": "PASSPORT", "number": f"{TOKEN[:3].upper()}{i:06d}", "issuing_country": "MX",
            "expiry_date": "2031-01-01", "mrz_lines": []}


def traveller(i: int, phone: str | None = None) -> dict:
    given = "=SUM(1+1)" if i == N_CROSSINGS - 1 else GIVEN[i % len(GIVEN)]
    return {"traveller_id": f"TRV-{TOKEN}-{i}", "given_names": given, "family_names": FAMILY, "names_latin": None,
            "date_of_birth": f"19{70 + i % 20}-0{1 + i % 9}-1{i % 9}", "sex": "F" if i % 2 else "M",
            "nationality": "MX", "phone_numbers": [phone] if phone else []}


def conveyance(i: int) -> dict:
    base = {"vehicle_plate": None, "vehicle_country": None, "vehicle_vin": None, "vessel_name": None,
            "vessel_imo": None, "vessel_mmsi": None, "flight_number": None, "container_numbers": []}
    if i < 10:
        return {**base, "vehicle_plate": PLATE, "vehicle_country": "MX"}
    if i < 15:
        return {**base, "flight_number": "AM452"}
    if i < 20:
        return {**base, "vessel_name": f"{FAMILY} Star", "vessel_imo": "9074729"}
    return base


def crossing(i: int) -> dict:
    return {"event_id": str(uuid.uuid4()), "occurred_at": iso(NOW - dt.timedelta(minutes=i + 1)),
            "port_locode": "USMIA", "lane": "1", "direction": "ENTRY", "mode": "LAND",
            "traveller": traveller(i, PHONE if i < 5 else None), "document": document(i),
            "conveyance": conveyance(i), "travel_group_id": None, "declared_currency": [],
            "source_system": "search-tests"}


def seizure(i: int) -> dict:
    return {"event_id": str(uuid.uuid4()), "occurred_at": iso(NOW - dt.timedelta(minutes=30 + i)),
            "port_locode": "USSYO", "location": {"lat": 32.545, "lon": -117.03}, "category": "NARCOTICS",
            "items": [{"description": "Bricks in a spare tyre", "substance": "Cocaine", "quantity": 2.5 + i,
                       "unit": "KG", "estimated_value": {"amount": "10000.00", "currency": "USD"}}],
            "detection_method": "CANINE", "concealment": "Spare tyre", "conveyance": None,
            "persons": [traveller(100 + i, PHONE)], "documents": [document(0)] if i == 0 else [],
            "phone_numbers": [PHONE], "case_reference": f"CASE-{TOKEN}-{i}", "source_system": "search-tests"}


def biometric(crossing_event: dict) -> dict:
    return {"event_id": str(uuid.uuid4()), "captured_at": iso(NOW - dt.timedelta(seconds=30)),
            "port_locode": "USMIA",
            "template": {"modality": "FACE", "algorithm": "arcface", "algorithm_version": "1", "dimension": 512,
                         "vector": [round(random.uniform(-1, 1), 4) for _ in range(512)]},
            "quality": 80, "document": document(0), "traveller_id": f"TRV-{TOKEN}-0",
            "crossing_event_id": crossing_event["event_id"], "source_system": "search-tests"}


def alert(i: int, event_id: str) -> dict:
    return {"alert_id": str(uuid.uuid4()), "created_at": iso(NOW - dt.timedelta(minutes=i)),
            "alert_type": "WATCHLIST_MATCH", "severity": ("CRITICAL", "HIGH", "MEDIUM", "LOW", "HIGH")[i],
            "event_id": event_id, "event_kind": "CROSSING", "occurred_at": iso(NOW - dt.timedelta(minutes=i)),
            "port_locode": "USMIA", "subject": f"Ana {FAMILY}", "entry_id": f"wl-doc-{TOKEN}",
            "source_list": f"test-{TOKEN}", "action_on_hit": "ARREST", "rule": None, "score": 0.9,
            "explanation": [{"feature": "document_number", "weight": 0.9, "detail": "same passport"}],
            "path": [], "related_event_ids": []}


def datum(catalog, name: str, obj: dict) -> dict:
    value, problems = from_json(catalog.get(name), obj)
    assert not problems, problems
    return value


def seed(es, catalog) -> dict:
    crossings = [crossing(i) for i in range(N_CROSSINGS)]
    seizures = [seizure(i) for i in range(N_SEIZURES)]
    capture = biometric(crossings[0])
    actions = []
    for kind, objs in (("crossings", crossings), ("seizures", seizures), ("biometrics", [capture])):
        for obj in objs:
            index, doc_id, doc = indices.event_document(kind, datum(catalog, kind, obj))
            actions.append((index, doc_id, doc))
    # A document whose _source holds vectors the mapping does not exclude: the API must strip them.
    doctored = crossing(50)
    index, doc_id, doc = indices.event_document("crossings", datum(catalog, "crossings", doctored))
    doc["template"] = {"modality": "FACE", "vector": [0.5, 0.25]}
    doc["extra_vector"] = [1.0, 2.0]
    actions.append((index, doc_id, doc))

    alerts = [alert(i, crossings[i]["event_id"]) for i in range(5)]
    for i, obj in enumerate(alerts):
        index, doc_id, doc = indices.alert_document(datum(catalog, "alerts", obj))
        if i == 0:
            doc.update({"status": "NEW", "history": []})  # as the indexer files new alerts
        if i == 2:
            doc["explanation"][0]["vector"] = [0.1, 0.2]
        actions.append((index, doc_id, doc))

    updated = NOW - dt.timedelta(days=1)
    entries = [
        make_entry(f"wl-doc-{TOKEN}", "DOCUMENT", f"test-{TOKEN}", updated, reason="Reported stolen",
                   identifiers=[{"scheme": "PASSPORT", "value": document(0)["number"], "country": "MX"}],
                   document_status="STOLEN", action_on_hit="SEIZE_DOCUMENT"),
        make_entry(f"wl-person-{TOKEN}", "PERSON", f"test-{TOKEN}", updated, reason="Wanted",
                   names=[f"Xavier {FAMILY}"], birth_dates=["1970-05-05"], nationalities=["MX"], sex="M",
                   topics=["wanted"], action_on_hit="ARREST"),
    ]
    for entry in entries:
        actions.append(indices.watchlist_document(entry))

    operations = []
    for index, doc_id, doc in actions:
        operations += [{"index": {"_index": index, "_id": doc_id}}, doc]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], [i for i in response["items"] if i["index"].get("error")][:3]
    return {"written": [(index, doc_id) for index, doc_id, _ in actions],
            "crossings": crossings, "seizures": seizures, "biometric": capture, "doctored": doctored,
            "alerts": alerts, "entries": entries,
            "event_ids": [o["event_id"] for o in crossings + seizures + [capture, doctored]],
            "alert_ids": [a["alert_id"] for a in alerts], "entry_ids": [e["entry_id"] for e in entries]}


def vector_keys(value, path="") -> list[str]:
    """Paths of every vector-like key in a JSON value."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "vector" or k.endswith("_vector"):
                found.append(f"{path}.{k}")
            found += vector_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += vector_keys(v, f"{path}[{i}]")
    return found


# --- health, metrics, docs --------------------------------------------------------------------

def test_health_metrics_and_docs_need_no_key(client, role_keys):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    client.get("/v1/events/search", params={"q": FAMILY}, headers=auth(role_keys, "analyst"))
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'borderhub_search_request_seconds_bucket{le="0.1",route="/v1/events/search"}' in metrics.text
    assert 'borderhub_search_requests_total{route="/v1/events/search",status="200"}' in metrics.text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/events/search", "/v1/entities/{entity_key}/timeline", "/v1/entities/{entity_key}/network",
                 "/v1/alerts", "/v1/alerts/{alert_id}/triage", "/v1/stats/seizures", "/v1/screen",
                 "/v1/watchlist/entries", "/v1/events/export.csv", "/v1/audit", "/v1/dashboard/stream"):
        assert path in paths


# --- 401 / 403 for every endpoint and role ----------------------------------------------------

SEARCH = {"officer", "investigator", "analyst", "admin"}
MATRIX = [
    ("GET", "/v1/events/search?q=x", None, SEARCH),
    ("GET", "/v1/events/{event}", None, SEARCH),
    ("GET", "/v1/entities/doc:MX:X1/timeline", None, SEARCH),
    ("GET", "/v1/entities/doc:MX:X1/network?depth=1", None, {"investigator", "analyst", "admin"}),
    ("GET", "/v1/events/export.csv?q=nobodyatall", None, {"investigator", "analyst", "admin"}),
    ("GET", "/v1/events/export.geojson?q=nobodyatall", None, {"investigator", "analyst", "admin"}),
    ("GET", "/v1/alerts", None, SEARCH),
    ("GET", "/v1/alerts/{alert}", None, SEARCH),
    ("POST", "/v1/alerts/no-such-alert/triage", {"status": "in_review"}, {"officer", "investigator", "admin"}),
    ("GET", "/v1/stats/seizures", None, {"analyst", "operations", "admin", "investigator"}),
    ("GET", "/v1/stats/crossings", None, {"analyst", "operations", "admin", "investigator"}),
    ("GET", "/v1/stats/alerts", None, {"analyst", "operations", "admin", "investigator"}),
    ("POST", "/v1/screen", [{"id": "q", "schema": "Person", "properties": {"name": ["Nobody Atall"]}}],
     {"officer", "investigator", "admin"}),
    ("POST", "/v1/watchlist/entries", {}, {"admin"}),  # an empty body: 422 for admin, nothing published
    ("PUT", "/v1/watchlist/entries/matrix-entry", {}, {"admin"}),
    ("DELETE", "/v1/watchlist/entries/matrix-{token}", None, {"admin"}),
    ("GET", "/v1/watchlist/entries/{entry}", None, {"investigator", "admin"}),
    ("GET", "/v1/audit", None, {"admin"}),
    ("GET", "/v1/dashboard/ports", None, {"operations", "admin"}),
    ("GET", "/v1/dashboard/snapshot", None, {"operations", "admin"}),
    ("GET", "/v1/dashboard/stream", None, {"operations", "admin"}),
]


@pytest.mark.parametrize("method, path, body, allowed", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_roles(client, role_keys, seeded, method, path, body, allowed):
    url = path.format(event=seeded["crossings"][0]["event_id"], alert=seeded["alert_ids"][0],
                      entry=seeded["entry_ids"][0], token=TOKEN)

    def call(headers: dict) -> int:
        with client.stream(method, url, headers=headers, json=body) as response:
            return response.status_code

    assert call({}) == 401
    assert call({"X-API-Key": "bh_nokey_" + "x" * 40}) == 401
    assert call({"X-API-Key": role_keys["admin"][1] + "tampered"}) == 401
    for role in ROLES:
        status = call(auth(role_keys, role))
        if role in allowed:
            assert status not in (401, 403) and status < 500, (role, status)
        else:
            assert status == 403, (role, status)


# --- search -----------------------------------------------------------------------------------

def search(client, role_keys, role="investigator", **params):
    response = client.get("/v1/events/search", params=params, headers=auth(role_keys, role))
    assert response.status_code == 200, response.text
    return response.json()


def test_full_text_fuzzy_names_and_prefixes(client, role_keys):
    exact = search(client, role_keys, q=FAMILY, size=100)
    assert exact["total"] == SEARCHABLE
    typo = FAMILY[:4] + ("a" if FAMILY[4] != "a" else "e") + FAMILY[5:]
    assert search(client, role_keys, q=typo, size=100)["total"] == SEARCHABLE
    assert search(client, role_keys, q=FAMILY[:5].lower(), size=100)["total"] == SEARCHABLE
    both = search(client, role_keys, q=f"Ana {FAMILY}", size=100)
    assert both["total"] >= 1 and all("Ana" in r["names"] for r in both["results"])
    assert all("score" in r for r in exact["results"])
    # identifiers typed as seen
    assert search(client, role_keys, q=f"CASE-{TOKEN}-1")["total"] == 1
    # query syntax is just text: nothing matches, nothing fails
    assert search(client, role_keys, q=f'{FAMILY} OR *:* AND names:"x"')["total"] == 0


@pytest.mark.parametrize("params, expected", [
    ({"kind": "seizure"}, N_SEIZURES),
    ({"kind": ["seizure", "crossing"]}, SEARCHABLE),
    ({"port": "ussyo"}, N_SEIZURES),
    ({"nationality": "MEX"}, SEARCHABLE),
    ({"nationality": "US"}, 0),
    ({"document": f"{TOKEN[:3]}000003"}, 1),
    ({"category": "narcotics"}, N_SEIZURES),
    ({"substance": "COCAINE"}, N_SEIZURES),
    ({"plate": PLATE.lower()}, 10),
    ({"flight": "am 452"}, 5),
    ({"vessel": "IMO 9074729"}, 5),
    ({"vessel": f"{FAMILY} star"}, 5),
    ({"lat": 32.54, "lon": -117.03, "radius_km": 5}, N_SEIZURES),
    ({"top": 26.5, "left": -81, "bottom": 25, "right": -79.5}, N_CROSSINGS + 1),
])
def test_filters(client, role_keys, params, expected):
    assert search(client, role_keys, q=FAMILY, size=100, **params)["total"] == expected


def test_time_range_and_sorting(client, role_keys):
    start, end = NOW - dt.timedelta(minutes=10, seconds=30), NOW
    found = search(client, role_keys, q=FAMILY, sort="time_asc", size=100, **{"from": start.isoformat(),
                                                                               "to": end.isoformat()})
    # crossings 0..9 happened 1..10 minutes ago
    assert found["total"] == 10
    times = [r["@timestamp"] for r in found["results"]]
    assert times == sorted(times)
    newest = search(client, role_keys, q=FAMILY, sort="time_desc", size=3)["results"]
    assert [r["@timestamp"] for r in newest] == sorted((r["@timestamp"] for r in newest), reverse=True)


def test_facets(client, role_keys):
    body = search(client, role_keys, q=FAMILY, facets="true", size=1)
    facets = body["facets"]
    assert {"key": "seizure", "count": N_SEIZURES} in facets["kind"]
    assert {"key": "USMIA", "count": N_CROSSINGS + 1} in facets["port"]
    assert {"key": "NARCOTICS", "count": N_SEIZURES} in facets["category"]
    assert {"key": "MX", "count": SEARCHABLE} in facets["nationality"]


@pytest.mark.parametrize("sort", ["time_desc", "time_asc", "relevance"])
def test_cursor_pages_cover_every_result_once(client, role_keys, sort):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"q": FAMILY, "size": 4, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        body = search(client, role_keys, **params)
        seen += [r["id"] for r in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
        assert pages < 20
    assert len(seen) == SEARCHABLE and len(set(seen)) == SEARCHABLE
    assert pages == -(-SEARCHABLE // 4)


def test_cursor_belongs_to_its_query(client, role_keys):
    first = search(client, role_keys, q=FAMILY, size=2)
    other = client.get("/v1/events/search", params={"q": FAMILY, "kind": "seizure", "cursor": first["next_cursor"]},
                       headers=auth(role_keys, "investigator"))
    assert other.status_code == 400 and "another query" in other.json()["detail"]
    forged = client.get("/v1/events/search", params={"q": FAMILY, "cursor": first["next_cursor"][:-4] + "AAAA"},
                        headers=auth(role_keys, "investigator"))
    assert forged.status_code == 400


def test_event_view(client, role_keys, seeded):
    event = seeded["seizures"][0]
    response = client.get(f"/v1/events/{event['event_id']}", headers=auth(role_keys, "officer"))
    assert response.status_code == 200
    body = response.json()
    assert body["event_id"] == event["event_id"] and body["kind"] == "seizure" and body["port_name"]
    missing = client.get(f"/v1/events/{uuid.uuid4()}", headers=auth(role_keys, "officer"))
    assert missing.status_code == 404


# --- no biometric template in any answer -----------------------------------------------------

def test_no_vector_leaves_the_api(client, role_keys, seeded):
    headers = auth(role_keys, "admin")
    bodies = [
        client.get("/v1/events/search", params={"q": FAMILY, "size": 100}, headers=headers),
        client.get("/v1/events/search", params={"kind": "biometric", "port": "USMIA", "size": 50}, headers=headers),
        client.get(f"/v1/events/{seeded['biometric']['event_id']}", headers=headers),
        client.get(f"/v1/events/{seeded['doctored']['event_id']}", headers=headers),
        client.get(f"/v1/entities/doc:MX:{TOKEN[:3].upper()}000000/timeline", headers=headers),
        client.get(f"/v1/alerts/{seeded['alert_ids'][2]}", headers=headers),
        client.get("/v1/alerts", params={"source_list": f"test-{TOKEN}"}, headers=headers),
    ]
    for response in bodies:
        assert response.status_code == 200, response.text
        assert vector_keys(response.json()) == [], response.request.url
    doctored = bodies[3].json()
    assert doctored["template"] == {"modality": "FACE"} and "extra_vector" not in doctored
    capture = bodies[2].json()
    assert capture["template"]["modality"] == "FACE" and capture["template"]["dimension"] == 512
    timeline = bodies[4].json()["results"]
    assert seeded["biometric"]["event_id"] in [r["id"] for r in timeline]
    for path in ("csv", "geojson"):
        export = client.get(f"/v1/events/export.{path}", params={"q": FAMILY}, headers=headers)
        assert export.status_code == 200 and "vector" not in export.text and FAMILY in export.text


# --- entities ---------------------------------------------------------------------------------

def test_timeline_in_time_order_with_pages(client, role_keys, seeded):
    key = f"doc:MX:{TOKEN[:3].upper()}000000"
    expected = {seeded["crossings"][0]["event_id"], seeded["seizures"][0]["event_id"],
                seeded["biometric"]["event_id"]}
    seen, cursor = [], None
    while True:
        params = {"size": 1, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/v1/entities/{key}/timeline", params=params, headers=auth(role_keys, "officer"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["entity"] == {"key": key, "type": "document"}
        seen += body["results"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert {r["id"] for r in seen} == expected and len(seen) == 3
    times = [r["@timestamp"] for r in seen]
    assert times == sorted(times)
    bad = client.get("/v1/entities/nonsense/timeline", headers=auth(role_keys, "officer"))
    assert bad.status_code == 400


def test_network_walks_the_link_graph_and_marks_listed_nodes(client, role_keys, seeded, linked, es):
    """The graph correlation publishes (a star per event: the person of a crossing, the seizure
    node of a seizure, joined to everything the event names), through Kafka and the real indexer."""
    root = f"phone:{PHONE}"
    doc = f"doc:MX:{TOKEN[:3].upper()}{{:06d}}".format
    person = {i: person_key(traveller(i)) for i in (0, 1, 7, 100)}
    seizure0 = f"seizure:{seeded['seizures'][0]['event_id']}"
    one = client.get(f"/v1/entities/{root}/network", params={"depth": 1}, headers=auth(role_keys, "investigator"))
    assert one.status_code == 200, one.text
    graph = one.json()
    nodes = {n["key"]: n for n in graph["nodes"]}
    # travellers 0-4 carry the phone, and the seizures name it
    assert nodes[root]["depth"] == 0 and nodes[root]["type"] == "phone"
    assert nodes[person[0]]["depth"] == 1 and nodes[seizure0]["depth"] == 1
    assert nodes[person[0]]["type"] == "person" and nodes[person[0]]["label"] == f"Ana {FAMILY}"
    assert len(nodes) == 1 + 5 + N_SEIZURES and doc(0) not in nodes
    edge = next(e for e in graph["edges"] if {e["source"], e["target"]} == {root, person[0]})
    assert edge["weight"] == 1 and edge["event_ids"] == [seeded["crossings"][0]["event_id"]]
    assert graph["events"] == 5 + N_SEIZURES and graph["truncated"] is False

    two = client.get(f"/v1/entities/{root}/network", params={"depth": 2}, headers=auth(role_keys, "analyst"))
    assert two.status_code == 200, two.text
    graph = two.json()
    nodes = {n["key"]: n for n in graph["nodes"]}
    # two hops: the travellers' documents and vehicle, the seizures' persons and document
    assert nodes[doc(0)]["depth"] == 2 and nodes[doc(0)]["listed"] is True
    assert nodes[doc(0)]["watchlist"][0]["entry_id"] == f"wl-doc-{TOKEN}"
    assert nodes[doc(1)]["depth"] == 2 and nodes[doc(1)]["listed"] is False and nodes[doc(1)]["watchlist"] == []
    assert nodes[f"vehicle:MX:{PLATE}"]["depth"] == 2 and nodes[person[100]]["depth"] == 2
    assert not any(k.startswith("port:") for k in nodes)
    assert person[7] not in nodes  # three hops, through the vehicle
    edges = {(e["source"], e["target"]): e for e in graph["edges"]}
    assert edges[tuple(sorted((doc(0), seizure0)))]["event_ids"] == [seeded["seizures"][0]["event_id"]]
    assert edges[tuple(sorted((doc(0), person[0])))]["weight"] == 1
    assert all(a in nodes and b in nodes for a, b in edges)

    three = client.get(f"/v1/entities/{root}/network", params={"depth": 3},
                       headers=auth(role_keys, "admin")).json()
    assert {n["key"]: n["depth"] for n in three["nodes"]}[person[7]] == 3

    capped = client.get(f"/v1/entities/{root}/network", params={"depth": 3, "max_nodes": 5},
                        headers=auth(role_keys, "admin")).json()
    assert len(capped["nodes"]) == 5 and capped["truncated"] is True
    for bad in ({"depth": 0}, {"depth": 4}, {"max_nodes": 1}):
        assert client.get(f"/v1/entities/{root}/network", params=bad,
                          headers=auth(role_keys, "admin")).status_code == 422
    alone = client.get("/v1/entities/doc:MX:NOBODY0000/network", headers=auth(role_keys, "investigator")).json()
    assert [n["key"] for n in alone["nodes"]] == ["doc:MX:NOBODY0000"] and alone["edges"] == []

    # Audited: who asked, for what, how many nodes, which events' links were read.
    es.indices.refresh(index=indices.AUDIT_ALIAS)
    audit = client.get("/v1/audit", params={"key_id": role_keys["analyst"][0], "action": "entities.network"},
                       headers=auth(role_keys, "admin")).json()["results"]
    record = next(r for r in audit if r["query"]["depth"] == "2")
    assert record["query"]["entity"] == root and record["results"] == len(nodes)
    assert seeded["crossings"][0]["event_id"] in record["record_ids"]
    assert set(record["record_ids"]) <= set(linked["linksets"])


# --- alerts -----------------------------------------------------------------------------------

def alerts(client, role_keys, role="officer", **params):
    response = client.get("/v1/alerts", params={"source_list": f"test-{TOKEN}", **params},
                          headers=auth(role_keys, role))
    assert response.status_code == 200, response.text
    return response.json()


def test_alert_list_filters_and_pages(client, role_keys, seeded):
    body = alerts(client, role_keys)
    assert [r["id"] for r in body["results"]] == seeded["alert_ids"]  # newest first
    assert all(r["status"] == "new" for r in body["results"])  # untriaged and the indexer's "NEW"
    assert alerts(client, role_keys, severity="HIGH")["total"] == 2
    assert alerts(client, role_keys, severity=["LOW", "CRITICAL"])["total"] == 2
    assert alerts(client, role_keys, port="USMIA")["total"] == 5
    assert alerts(client, role_keys, port="USSYO")["total"] == 0
    assert alerts(client, role_keys, **{"from": (NOW - dt.timedelta(minutes=2, seconds=30)).isoformat()})["total"] == 3
    seen, cursor = [], None
    while True:
        page = alerts(client, role_keys, size=2, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == seeded["alert_ids"]
    one = client.get(f"/v1/alerts/{seeded['alert_ids'][1]}", headers=auth(role_keys, "analyst"))
    assert one.status_code == 200 and one.json()["status"] == "new" and one.json()["history"] == []
    assert client.get("/v1/alerts/nope", headers=auth(role_keys, "analyst")).status_code == 404


def test_triage_keeps_every_concurrent_update_in_the_history(client, role_keys, seeded, api):
    alert_id = seeded["alert_ids"][3]
    url = f"/v1/alerts/{alert_id}/triage"
    notes = [f"note {i}" for i in range(12)]

    def triage(note: str) -> int:
        with httpx.Client(base_url=api.url, timeout=60) as c:
            return c.post(url, json={"status": "in_review", "assignee": "ana", "note": note},
                          headers=auth(role_keys, "investigator")).status_code

    with concurrent.futures.ThreadPoolExecutor(len(notes)) as pool:
        statuses = list(pool.map(triage, notes))
    assert statuses == [200] * len(notes)
    final = client.post(url, json={"status": "confirmed", "note": "same person"},
                        headers=auth(role_keys, "officer"))
    assert final.status_code == 200, final.text
    alert_view = client.get(f"/v1/alerts/{alert_id}", headers=auth(role_keys, "officer")).json()
    history = alert_view["history"]
    assert sorted(h["note"] for h in history[:-1]) == sorted(notes)
    assert history[-1]["status"] == "confirmed" and history[-1]["by"] == role_keys["officer"][0]
    assert history[-1]["by_role"] == "officer" and history[0]["by"] == role_keys["investigator"][0]
    assert alert_view["status"] == "confirmed" and alert_view["assignee"] == "ana"
    assert alerts(client, role_keys, status="confirmed")["total"] == 1
    assert alerts(client, role_keys, status="new")["total"] == 4

    for bad in ({"status": "closed"}, {"status": "confirmed", "extra": 1}, {"note": "no status"},
                {"status": "confirmed", "note": "x" * 5000}):
        assert client.post(url, json=bad, headers=auth(role_keys, "officer")).status_code == 422
    assert client.post(url, content=b"{not json", headers={**auth(role_keys, "officer"),
                                                             "content-type": "application/json"}).status_code == 422
    assert client.post(url, json={"status": "confirmed"}, headers=auth(role_keys, "analyst")).status_code == 403


# --- statistics -------------------------------------------------------------------------------

def test_statistics(client, role_keys):
    window = {"from": (NOW - dt.timedelta(hours=2)).isoformat(), "to": (NOW + dt.timedelta(minutes=5)).isoformat(),
              "interval": "hour"}
    seizures = client.get("/v1/stats/seizures", params={**window, "port": "USSYO"},
                          headers=auth(role_keys, "operations"))
    assert seizures.status_code == 200, seizures.text
    body = seizures.json()
    assert any(b["key"] == "NARCOTICS" and b["count"] >= N_SEIZURES for b in body["by_category"])
    cocaine = next(s for s in body["by_substance"] if s["key"] == "cocaine")
    assert cocaine["count"] >= N_SEIZURES and cocaine["quantity"]["KG"] >= 2.5 + 3.5 + 4.5
    assert cocaine["estimated_value"]["USD"] >= 30000
    assert sum(b["count"] for b in body["over_time"]) == body["total"] and len(body["over_time"]) >= 2
    assert "persons" not in seizures.text and FAMILY not in seizures.text  # numbers, never people

    crossings = client.get("/v1/stats/crossings", params=window, headers=auth(role_keys, "analyst")).json()
    miami = next(p for p in crossings["by_port"] if p["key"] == "USMIA")
    assert miami["count"] >= N_CROSSINGS + 1 and miami["by_direction"]["ENTRY"] >= N_CROSSINGS

    alert_stats = client.get("/v1/stats/alerts", params=window, headers=auth(role_keys, "investigator")).json()
    assert {"key": f"test-{TOKEN}", "count": 5} in alert_stats["by_source_list"]
    assert all(s["key"] == s["key"].lower() for s in alert_stats["by_status"])

    for bad in ({"interval": "hour", "from": "2020-01-01T00:00:00Z"}, {"interval": "minute"},
                {"from": NOW.isoformat(), "to": (NOW - dt.timedelta(days=1)).isoformat()}):
        assert client.get("/v1/stats/seizures", params=bad, headers=auth(role_keys, "analyst")).status_code in (
            400, 422)


# --- audit ------------------------------------------------------------------------------------

def test_every_search_and_view_is_audited_and_the_audit_cannot_be_changed(client, role_keys, seeded, es):
    key_id = role_keys["analyst"][0]
    found = search(client, role_keys, role="analyst", q=FAMILY, kind="seizure")
    client.get(f"/v1/alerts/{seeded['alert_ids'][0]}", headers=auth(role_keys, "analyst"))
    client.get("/v1/events/export.csv", params={"q": FAMILY, "kind": "seizure"}, headers=auth(role_keys, "analyst"))
    es.indices.refresh(index=indices.AUDIT_ALIAS)

    response = client.get("/v1/audit", params={"key_id": key_id, "size": 500}, headers=auth(role_keys, "admin"))
    assert response.status_code == 200, response.text
    records = response.json()["results"]
    by_action = {}
    for r in records:
        by_action.setdefault(r["action"], []).append(r)
    search_record = next(r for r in by_action["events.search"] if r["query"].get("kinds") == ["seizure"])
    assert search_record["role"] == "analyst" and search_record["key_name"] == "search-tests-analyst"
    assert search_record["query"]["q"] == FAMILY and search_record["path"] == "/v1/events/search"
    assert search_record["results"] == N_SEIZURES
    assert sorted(search_record["record_ids"]) == sorted(r["id"] for r in found["results"])
    assert search_record["at"] and search_record["status"] == 200
    assert by_action["alerts.view"][0]["record_ids"] == [seeded["alert_ids"][0]]
    assert by_action["events.export.csv"][0]["results"] == N_SEIZURES

    only_views = client.get("/v1/audit", params={"key_id": key_id, "action": "alerts.view"},
                            headers=auth(role_keys, "admin")).json()["results"]
    assert only_views and all(r["action"] == "alerts.view" for r in only_views)

    # Read-only: no method but GET, for anyone; only admins read.
    admin = auth(role_keys, "admin")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/v1/audit", headers=admin).status_code == 405
    assert client.delete("/v1/audit/anything", headers=admin).status_code == 404
    spec = client.get("/openapi.json").json()["paths"]
    assert {p: set(ops) for p, ops in spec.items() if "audit" in p} == {"/v1/audit": {"get"}}
    for role in ROLES:
        if role != "admin":
            assert client.get("/v1/audit", headers=auth(role_keys, role)).status_code == 403


def test_audit_pages(client, role_keys, es):
    es.indices.refresh(index=indices.AUDIT_ALIAS)
    seen, cursor = [], None
    params = {"key_id": role_keys["officer"][0], "size": 3}
    while True:
        body = client.get("/v1/audit", params={**params, **({"cursor": cursor} if cursor else {})},
                          headers=auth(role_keys, "admin")).json()
        seen += [r["id"] for r in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and len(seen) >= 3


# --- exports ----------------------------------------------------------------------------------

def test_csv_export(client, role_keys):
    response = client.get("/v1/events/export.csv", params={"q": FAMILY, "kind": "crossing", "sort": "time_asc"},
                          headers=auth(role_keys, "investigator"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == N_CROSSINGS + 1
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    assert all(r["port_locode"] == "USMIA" and r["lat"] and r["lon"] for r in rows)
    assert any(r["plates"] == PLATE for r in rows) and any(r["phones"] == PHONE for r in rows)
    injected = next(r for r in rows if "SUM" in r["names"])
    assert injected["names"].startswith("'=SUM")  # a spreadsheet shows it, does not run it
    limited = client.get("/v1/events/export.csv", params={"q": FAMILY, "limit": 3},
                         headers=auth(role_keys, "analyst"))
    assert len(list(csv.DictReader(io.StringIO(limited.text)))) == 3
    assert client.get("/v1/events/export.csv", params={"limit": 50_001},
                      headers=auth(role_keys, "analyst")).status_code == 422


def test_geojson_export(client, role_keys):
    response = client.get("/v1/events/export.geojson", params={"q": FAMILY, "kind": "seizure"},
                          headers=auth(role_keys, "admin"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == N_SEIZURES
    for feature in collection["features"]:
        assert feature["geometry"] == {"type": "Point", "coordinates": [-117.03, 32.545]}
        assert feature["properties"]["category"] == "NARCOTICS" and feature["properties"]["substances"] == ["Cocaine"]


def test_export_pages_past_one_request(client, role_keys):
    """More rows than one Elasticsearch page: every event once (the demo data has thousands)."""
    response = client.get("/v1/events/export.csv", params={"limit": 2500}, headers=auth(role_keys, "analyst"))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    if len(rows) < 2500:
        pytest.skip("fewer than 2,500 events indexed")
    ids = [r["event_id"] for r in rows]
    assert len(ids) == 2500 and len(set(ids)) == 2500


# --- watchlist administration ----------------------------------------------------------------

def test_watchlist_writes_go_to_the_compacted_topic(client, role_keys, settings, catalog):
    codec = AvroCodec(catalog)
    admin = auth(role_keys, "admin")
    tail = KafkaTail(settings.kafka_bootstrap, WATCHLIST)
    person_id, doc_id = f"api-person-{TOKEN}", f"api-doc-{TOKEN}"
    try:
        ftm = {"id": person_id, "schema": "Person", "properties": {
            "name": [f"Yolanda {FAMILY}"], "birthDate": ["1980-02-03"], "nationality": ["co"], "topics": ["wanted"]}}
        created = client.post("/v1/watchlist/entries", params={"source_list": f"test-{TOKEN}"}, json=ftm,
                              headers=admin)
        assert created.status_code == 202, created.text
        assert created.json()["entry_id"] == person_id and created.json()["kind"] == "PERSON"

        entry = {"entry_id": doc_id, "kind": "DOCUMENT", "reason": "Stolen blank", "source_list": f"test-{TOKEN}",
                 "document_status": "STOLEN", "identifiers": [{"scheme": "PASSPORT", "value": "Z1", "country": "CO"}]}
        assert client.post("/v1/watchlist/entries", json=entry, headers=admin).status_code == 202
        changed = client.put(f"/v1/watchlist/entries/{doc_id}", json={**entry, "reason": "Stolen blank, series Z"},
                             headers=admin)
        assert changed.status_code == 202, changed.text
        assert client.delete(f"/v1/watchlist/entries/{person_id}", headers=admin).status_code == 202

        # Per key, records keep their order (one key, one partition).
        records = tail.read(at_least=4)
        person = [r.value for r in records if r.key.decode() == person_id]
        document = [r.value for r in records if r.key.decode() == doc_id]
        assert len(person) == 2 and len(document) == 2
        first = codec.decode(person[0], "watchlist")
        assert first["names"] == [f"Yolanda {FAMILY}"] and first["action_on_hit"] == "ARREST"
        assert first["source_list"] == f"test-{TOKEN}"
        assert person[1] is None  # tombstone
        assert codec.decode(document[1], "watchlist")["reason"] == "Stolen blank, series Z"

        bad_imo = {"entry_id": "x1", "kind": "VESSEL", "reason": "r", "source_list": "s",
                   "identifiers": [{"scheme": "IMO", "value": "1234568"}]}
        rejected = client.post("/v1/watchlist/entries", json=bad_imo, headers=admin)
        assert rejected.status_code == 422 and rejected.json()["problems"][0]["path"] == "identifiers.0.value"
        not_an_entry = client.post("/v1/watchlist/entries", json={"kind": "SPACESHIP"}, headers=admin)
        assert not_an_entry.status_code == 422 and not_an_entry.json()["problems"]
        other_id = client.put("/v1/watchlist/entries/another-id", json=entry, headers=admin)
        assert other_id.status_code == 422
        assert client.post("/v1/watchlist/entries", json={"schema": "Person", "properties": {}},
                           headers=admin).status_code == 422
        investigator = auth(role_keys, "investigator")
        assert client.post("/v1/watchlist/entries", json=entry, headers=investigator).status_code == 403
    finally:
        client.delete(f"/v1/watchlist/entries/{doc_id}", headers=admin)
        tail.close()


def test_watchlist_entry_view(client, role_keys, seeded):
    entry_id = seeded["entry_ids"][0]
    found = client.get(f"/v1/watchlist/entries/{entry_id}", headers=auth(role_keys, "investigator"))
    assert found.status_code == 200 and found.json()["document_status"] == "STOLEN"
    assert client.get("/v1/watchlist/entries/nope-nope", headers=auth(role_keys, "admin")).status_code == 404
    assert client.get(f"/v1/watchlist/entries/{entry_id}", headers=auth(role_keys, "officer")).status_code == 403


# --- screening --------------------------------------------------------------------------------

def test_screening_with_the_matching_engine(client, role_keys):
    entities = [
        {"id": "q-wanted", "schema": "Person",
         "properties": {"name": [f"Xavier {FAMILY}"], "birthDate": ["1970-05-05"], "nationality": ["mx"]}},
        {"id": "q-passport", "schema": "Passport",
         "properties": {"number": [f"{TOKEN[:3].upper()}000000"], "country": ["mx"]}},
        {"id": "q-nobody", "schema": "Person", "properties": {"name": ["Zebulon Nobodyatall Qwertz"]}},
        {"schema": "NoSuchSchema", "id": "q-bad"},
    ]
    response = client.post("/v1/screen", json=entities, headers=auth(role_keys, "officer"))
    assert response.status_code == 200, response.text
    results = {r["query_id"]: r for r in response.json()["results"]}
    wanted = results["q-wanted"]["matches"]
    assert wanted and wanted[0]["entry_id"] == f"wl-person-{TOKEN}" and wanted[0]["score"] >= 0.75
    assert wanted[0]["explanation"]
    assert [m["entry_id"] for m in results["q-passport"]["matches"]] == [f"wl-doc-{TOKEN}"]
    assert results["q-nobody"]["matches"] == []
    assert "error" in results["q-bad"] and results["q-bad"]["matches"] == []
    assert client.post("/v1/screen", json=[], headers=auth(role_keys, "officer")).status_code == 422
    assert client.post("/v1/screen", json=[{}] * 101, headers=auth(role_keys, "officer")).status_code == 422
    assert client.post("/v1/screen", json={"not": "a list"}, headers=auth(role_keys, "officer")).status_code == 422


# --- bad input is a clear 4xx, never a 5xx ----------------------------------------------------

BAD = [
    ("/v1/events/search", {"from": "yesterday"}),
    ("/v1/events/search", {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
    ("/v1/events/search", {"lat": 999, "lon": 0, "radius_km": 1}),
    ("/v1/events/search", {"lat": "nan", "lon": 0, "radius_km": 1}),
    ("/v1/events/search", {"lat": 10}),
    ("/v1/events/search", {"top": 10, "left": 0, "bottom": 20, "right": 5}),
    ("/v1/events/search", {"size": 0}),
    ("/v1/events/search", {"size": 100000}),
    ("/v1/events/search", {"kind": "spaceship"}),
    ("/v1/events/search", {"port": "not a port"}),
    ("/v1/events/search", {"nationality": "QQ"}),
    ("/v1/events/search", {"sort": "_id"}),
    ("/v1/events/search", {"q": "x" * 500}),
    ("/v1/events/search", {"cursor": "%%%"}),
    ("/v1/events/search", {"cursor": "eyJ2IjoxLCJhIjpbIngiLCJ5Il0sImYiOiIwIn0"}),
    ("/v1/entities/person:%00/timeline", {}),
    ("/v1/entities/doc:MX:X/network", {"depth": "deep"}),
    ("/v1/alerts", {"status": "open"}),
    ("/v1/alerts", {"severity": "SEVERE"}),
    ("/v1/stats/crossings", {"interval": "fortnight"}),
    ("/v1/audit", {"key_id": "a b"}),
]


@pytest.mark.parametrize("path, params", BAD)
def test_bad_input_is_a_clear_4xx(client, role_keys, path, params):
    response = client.get(path, params=params, headers=auth(role_keys, "admin"))
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["detail"]


# --- rate limit -------------------------------------------------------------------------------

def test_rate_limit_per_key(settings, role_keys, tmp_path_factory, seeded):
    limited = start_api(settings, tmp_path_factory, rate_limit=3)
    try:
        with httpx.Client(base_url=limited.url, timeout=30) as c:
            officer, analyst = auth(role_keys, "officer"), auth(role_keys, "analyst")
            assert [c.get("/v1/alerts", headers=officer).status_code for _ in range(3)] == [200] * 3
            refused = c.get("/v1/alerts", headers=officer)
            assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 20
            assert c.get("/v1/alerts", headers=analyst).status_code == 200  # each key has its own bucket
            assert c.get("/v1/alerts", headers={"X-API-Key": "bh_x_y"}).status_code == 401
            assert c.get("/healthz").status_code == 200
    finally:
        limited.stop()


# --- dashboard --------------------------------------------------------------------------------

def test_dashboard_page_snapshot_and_stream(client, role_keys):
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for asset in ("dashboard.js", "dashboard.css", "world.js"):
        assert client.get(f"/dashboard/static/{asset}").status_code == 200
    for asset in ("dashboard.js", "dashboard.css", "world.js"):  # no outside address anywhere
        assert "://" not in client.get(f"/dashboard/static/{asset}").text
    assert "://" not in page.text

    ops = auth(role_keys, "operations")
    ports = client.get("/v1/dashboard/ports", headers=ops).json()["ports"]
    assert any(p["locode"] == "USMIA" and p["lat"] for p in ports)
    snapshot = client.get("/v1/dashboard/snapshot", headers=ops).json()
    assert {h["component"]: h["status"] for h in snapshot["health"]}["elasticsearch"] == "up"
    assert {h["component"]: h["status"] for h in snapshot["health"]}["kafka"] == "up"
    assert "poe.crossings.v1" in [t["topic"] for t in snapshot["topics"]]
    assert {g["group"] for g in snapshot["lag"]} == {"borderhub-indexer", "borderhub-correlate"}
    miami = next(p for p in snapshot["ports"] if p["locode"] == "USMIA")
    assert miami["crossings"] >= N_CROSSINGS
    assert all("subject" not in a for a in snapshot["alerts"]["latest"])  # no names for operations
    assert len(snapshot["alerts"]["per_minute"]) >= 30

    deadline = time.monotonic() + 20
    events = 0
    with client.stream("GET", "/v1/dashboard/stream", headers=ops) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
                events += 1
            if events >= 2 or time.monotonic() > deadline:
                break
    assert events >= 2
