"""The ingest gateway against the real Kafka: what is acknowledged is on the topic and decodes,
what is rejected is not and says why, batches are partly accepted, nothing acknowledged is lost
when the gateway is killed."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import orjson
import pytest

from borderhub.avro import AvroCodec, encode_confluent, from_json
from borderhub.domain.mrz import make_td3
from borderhub.topics import BIOMETRICS, CROSSINGS, SEIZURES
from tests.integration.kafka_tail import KafkaTail


def crossing(**overrides) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    birth, expiry = dt.date(1986, 3, 14), dt.date(2031, 5, 2)
    mrz = make_td3(document_number="X1234567", issuing_state="MEX", nationality="MEX", family_names="GARCIA LOPEZ",
                   given_names="MARIA JOSE", birth_date=birth, sex="F", expiry_date=expiry)
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": now.isoformat(),
        "port_locode": "USSYO",
        "lane": "7",
        "direction": "ENTRY",
        "mode": "LAND",
        "traveller": {"given_names": "María José", "family_names": "García López", "date_of_birth": birth.isoformat(),
                      "sex": "F", "nationality": "MX", "phone_numbers": ["+525512345678"]},
        "document": {"document_type": "PASSPORT", "number": "X1234567", "issuing_country": "MX",
                     "expiry_date": expiry.isoformat(), "mrz_lines": mrz},
        "conveyance": {"vehicle_plate": "BCN-4821", "vehicle_country": "MX"},
        "declared_currency": [{"amount": "9500.00", "currency": "USD"}],
        "source_system": "tests",
    }
    event.update(overrides)
    return event


def seizure() -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "port_locode": "USOYM",
        "location": {"lat": 32.55, "lon": -116.94},
        "category": "NARCOTICS",
        "items": [{"description": "vacuum-sealed bricks", "substance": "fentanyl", "quantity": 4.2, "unit": "KG",
                   "estimated_value": {"amount": "126000.00", "currency": "USD"}}],
        "detection_method": "CANINE",
        "conveyance": {"vehicle_plate": "7XYZ123", "vehicle_country": "US", "container_numbers": ["CSQU3054383"]},
        "phone_numbers": ["+16195551234"],
        "case_reference": "CBP-2026-000042",
        "source_system": "tests",
    }


def biometric(vector: list[float]) -> dict:
    return {"event_id": str(uuid.uuid4()), "captured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "port_locode": "USSYO", "quality": 77, "traveller_id": "T-42", "source_system": "tests",
            "template": {"modality": "FACE", "algorithm": "arcface", "algorithm_version": "1.0",
                         "dimension": len(vector), "vector": vector}}


@pytest.fixture()
def client(ingest, producer_key):
    with httpx.Client(base_url=ingest.url, headers={"X-API-Key": producer_key}, timeout=30) as c:
        yield c


_codec = None


def _event_id(value: bytes) -> str:
    global _codec
    if _codec is None:
        from borderhub.avro import SchemaCatalog
        from borderhub.settings import get_settings
        _codec = AvroCodec(SchemaCatalog(get_settings().schemas_dir))
    return _codec.decode(value)["event_id"]


def test_accepted_event_is_on_kafka_and_decodes(client, settings, catalog):
    tail = KafkaTail(settings.kafka_bootstrap, CROSSINGS)
    event = crossing()
    response = client.post("/v1/events/crossings", json=event)
    assert response.status_code == 202, response.text
    assert response.json() == {"ids": [event["event_id"]]}
    (record,) = [r for r in tail.read(at_least=1) if _event_id(r.value) == event["event_id"]]
    assert record.value[:2] == b"\xc3\x01"
    assert record.key == b"doc:MX:X1234567"
    decoded = AvroCodec(catalog).decode(record.value, "crossings")
    assert decoded["traveller"]["family_names"] == "García López"
    assert str(decoded["declared_currency"][0]["amount"]) == "9500.00"


def test_rejected_event_is_not_on_kafka_and_says_why(client, settings):
    tail = KafkaTail(settings.kafka_bootstrap, CROSSINGS)
    event = crossing(port_locode="ZZ999")
    event["document"]["mrz_lines"][1] = event["document"]["mrz_lines"][1][:9] + "5" + event["document"]["mrz_lines"][1][10:]
    event["traveller"]["nationality"] = "QQ"
    event["declared_currency"][0]["currency"] = "XYZ"
    response = client.post("/v1/events/crossings", json=event)
    assert response.status_code == 422
    codes = {(p["path"], p["code"]) for p in response.json()["problems"]}
    assert ("port_locode", "country_unknown") in codes or ("port_locode", "locode_unknown") in codes
    assert any(path.startswith("document.mrz_lines") for path, _ in codes)
    assert ("traveller.nationality", "country_unknown") in codes
    assert ("declared_currency.0.currency", "currency_unknown") in codes
    # A valid event sent after it is on the topic, the rejected one is not.
    follower = crossing()
    assert client.post("/v1/events/crossings", json=follower).status_code == 202
    seen = {_event_id(r.value) for r in tail.read(at_least=1)}
    assert follower["event_id"] in seen and event["event_id"] not in seen


def test_batch_is_partly_accepted(client, settings):
    tail = KafkaTail(settings.kafka_bootstrap, CROSSINGS)
    good = [crossing() for _ in range(50)]
    bad = crossing(occurred_at="2026-11-23T10:00:00")  # no offset
    future = crossing(occurred_at=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat())
    lines = [orjson.dumps(e) for e in good[:25]] + [orjson.dumps(bad), b"{not json", orjson.dumps(future)] + \
        [orjson.dumps(e) for e in good[25:]]
    response = client.post("/v1/events/crossings/batch", content=b"\n".join(lines),
                           headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["counts"] == {"accepted": 50, "rejected": 3, "failed": 0}
    rejected = {r["index"]: r["problems"][0]["code"] for r in body["results"] if r["status"] == "rejected"}
    assert rejected == {25: "timestamp", 26: "json", 27: "timestamp_future"}
    seen = {_event_id(r.value) for r in tail.read(at_least=50)}
    assert {e["event_id"] for e in good} <= seen
    assert not {bad["event_id"], future["event_id"]} & seen


def test_avro_single_object_and_stream(client, settings, catalog):
    codec = AvroCodec(catalog)
    tail = KafkaTail(settings.kafka_bootstrap, SEIZURES)
    events = [seizure() for _ in range(3)]
    datums = [from_json(catalog.get("seizures"), e)[0] for e in events]
    single = client.post("/v1/events/seizures", content=codec.encode("seizures", datums[0]),
                         headers={"Content-Type": "application/vnd.apache.avro"})
    assert single.status_code == 202, single.text
    stream = b"".join(codec.encode("seizures", d) for d in datums[1:])
    batch = client.post("/v1/events/seizures/batch", content=stream,
                        headers={"Content-Type": "application/vnd.apache.avro"})
    assert batch.status_code == 202, batch.text
    assert {_event_id(r.value) for r in tail.read(at_least=3)} >= {e["event_id"] for e in events}


def test_a_template_vector_without_a_direction_is_rejected(client, settings, catalog):
    """Zero and non-finite vectors would fail Elasticsearch's cosine mapping downstream: the
    gateway refuses them with the reason and the field's path, and publishes nothing."""
    tail = KafkaTail(settings.kafka_bootstrap, BIOMETRICS)
    zero = biometric([0.0] * 512)
    response = client.post("/v1/events/biometrics", json=zero)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["path"] == "template.vector" and problem["code"] == "vector_zero_norm"
    assert "zero length" in problem["message"] and "cosine" in problem["message"]

    codec = AvroCodec(catalog)
    nan = biometric([0.6, 0.8])
    datum = from_json(catalog.get("biometrics"), nan)[0]
    datum["template"]["vector"] = [0.6, float("inf")]
    response = client.post("/v1/events/biometrics", content=codec.encode("biometrics", datum),
                           headers={"Content-Type": "application/vnd.apache.avro"})
    assert response.status_code == 422, response.text
    assert [(p["path"], p["code"]) for p in response.json()["problems"]] == [("template.vector", "value_range")]

    good = biometric([0.6, 0.8])
    batch = client.post("/v1/events/biometrics/batch", content=b"\n".join(orjson.dumps(e) for e in (good, zero)),
                        headers={"Content-Type": "application/x-ndjson"})
    assert batch.status_code == 207, batch.text
    rejected = [r for r in batch.json()["results"] if r["status"] == "rejected"]
    assert [(r["index"], r["problems"][0]["code"]) for r in rejected] == [(1, "vector_zero_norm")]
    seen = {_event_id(r.value) for r in tail.read(at_least=1)}
    assert good["event_id"] in seen and not {zero["event_id"], nan["event_id"]} & seen


def test_confluent_framing_without_registry_is_a_clear_rejection(client, catalog):
    datum = from_json(catalog.get("seizures"), seizure())[0]
    body = encode_confluent(42, catalog.get("seizures"), datum)
    response = client.post("/v1/events/seizures", content=body, headers={"Content-Type": "application/vnd.apache.avro"})
    assert response.status_code == 422
    assert "schema registry" in response.json()["problems"][0]["message"]


@pytest.mark.parametrize("content, content_type, status", [
    (b"{broken", "application/json", 422),
    (b"<xml/>", "application/xml", 415),
    (b"\x00\x01", "application/vnd.apache.avro", 422),
    (b"[]", "application/json", 422),
])
def test_bad_bodies_get_4xx(client, content, content_type, status):
    response = client.post("/v1/events/crossings", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.status_code < 500


def test_body_size_limit(client):
    huge = b"[" + b" " * (33 * 1024 * 1024) + b"]"
    response = client.post("/v1/events/crossings/batch", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_authentication_and_roles(ingest, keys):
    event = crossing()
    with httpx.Client(base_url=ingest.url, timeout=30) as anonymous:
        assert anonymous.post("/v1/events/crossings", json=event).status_code == 401
        assert anonymous.post("/v1/events/crossings", json=event,
                              headers={"X-API-Key": "bh_00000000_forged"}).status_code == 401
        officer = keys.create("officer")[1]
        assert anonymous.post("/v1/events/crossings", json=event, headers={"X-API-Key": officer}).status_code == 403
        tijuana_only = keys.create("producer", ports=["MXTIJ"])[1]
        response = anonymous.post("/v1/events/crossings", json=event, headers={"X-API-Key": tijuana_only})
        assert response.status_code == 403
        assert response.json()["problems"][0]["code"] == "port_forbidden"
        record, revoked = keys.create("producer")
        keys.revoke(record.key_id)
        assert anonymous.post("/v1/events/crossings", json=crossing(), headers={"X-API-Key": revoked}).status_code == 401


def test_acknowledged_events_survive_kill_9(ingest, producer_key, settings):
    tail = KafkaTail(settings.kafka_bootstrap, CROSSINGS)
    events = [crossing() for _ in range(200)]
    with httpx.Client(base_url=ingest.url, headers={"X-API-Key": producer_key}, timeout=30) as client:
        response = client.post("/v1/events/crossings/batch", content=b"\n".join(orjson.dumps(e) for e in events),
                               headers={"Content-Type": "application/x-ndjson"})
        assert response.status_code == 202
        acknowledged = set(response.json()["ids"])
    ingest.kill9()
    ingest.start()
    after = crossing()
    with httpx.Client(base_url=ingest.url, headers={"X-API-Key": producer_key}, timeout=30) as client:
        assert client.post("/v1/events/crossings", json=after).status_code == 202
    seen = {_event_id(r.value) for r in tail.read(at_least=201)}
    assert acknowledged == {e["event_id"] for e in events}
    assert acknowledged | {after["event_id"]} <= seen


def test_openapi_and_health(ingest):
    assert httpx.get(f"{ingest.url}/healthz").json()["kafka"] == "connected"
    spec = httpx.get(f"{ingest.url}/openapi.json").json()
    assert "/v1/events/{kind}/batch" in spec["paths"]
    assert "text/plain" in httpx.get(f"{ingest.url}/metrics").headers["content-type"]

