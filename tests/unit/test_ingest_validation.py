"""The gateway's pure pipeline: decode, check, canonicalise, key, encode."""

import datetime as dt

import orjson
import pytest

from borderhub.avro import AvroCodec
from borderhub.keys import ApiKey
from services.ingest.validation import EventValidator, partition_key

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)


def event(**overrides):
    base = {
        "event_id": "0d9c4a3e-7d2b-4a55-9a43-2f1f3b8e9c01",
        "occurred_at": "2026-11-23T11:59:00Z",
        "port_locode": "uslgb",
        "mode": "SEA",
        "traveller": {"given_names": "Nguyễn", "family_names": "Văn An", "nationality": "VNM"},
        "document": {"document_type": "SEAFARER_ID", "number": "c 1234 567", "issuing_country": "VNM"},
        "conveyance": {"vessel_imo": "IMO 9074729", "vessel_mmsi": "574001230", "container_numbers": ["CSQU3054383"]},
        "source_system": "unit",
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def validator(catalog):
    return EventValidator(AvroCodec(catalog))


def test_canonical_forms_before_publishing(validator):
    outcome = validator.single("crossings", orjson.dumps(event()), "application/json", None, now=NOW)
    assert outcome.accepted, outcome.problems
    assert outcome.datum["port_locode"] == "USLGB"
    assert outcome.datum["traveller"]["nationality"] == "VN"
    assert outcome.key == b"doc:VN:C1234567"
    assert outcome.value[:2] == b"\xc3\x01"


def test_port_limited_key(validator):
    key = ApiKey("k", "producer", "h", ports=("USMIA",))
    outcome = validator.single("crossings", orjson.dumps(event()), "application/json", key, now=NOW)
    assert [p.code for p in outcome.problems] == ["port_forbidden"]


def test_batch_json_array_and_ndjson_agree(validator):
    items = [event(event_id=f"0d9c4a3e-7d2b-4a55-9a43-2f1f3b8e9c0{i}") for i in range(3)]
    items[1]["conveyance"]["vessel_imo"] = "9074728"  # wrong check digit
    as_array = validator.batch("crossings", orjson.dumps(items), "application/json", None, now=NOW)
    as_lines = validator.batch("crossings", b"\n".join(map(orjson.dumps, items)), "application/x-ndjson", None, now=NOW)
    for outcomes in (as_array, as_lines):
        assert [o.accepted for o in outcomes] == [True, False, True]
        assert outcomes[1].problems[0].path == "conveyance.vessel_imo"


def test_keys_keep_a_traveller_on_one_partition():
    with_doc = {"document": {"issuing_country": "FR", "number": "12ab34567"}, "traveller": {}}
    assert partition_key("crossings", with_doc) == b"doc:FR:12AB34567"
    by_id = {"document": None, "traveller": {"traveller_id": "T-9"}, "source_system": "apis"}
    assert partition_key("crossings", by_id) == b"tid:apis:T-9"
    anonymous = {"document": None, "traveller": {"family_names": "Ли", "given_names": "Вэй", "date_of_birth": None}}
    assert partition_key("crossings", anonymous) == partition_key("crossings", dict(anonymous))
    assert partition_key("seizures", {"event_id": "e1"}) == b"e1"


def capture(vector):
    return {"event_id": "0d9c4a3e-7d2b-4a55-9a43-2f1f3b8e9c09", "captured_at": "2026-11-23T11:59:00Z",
            "port_locode": "USMIA", "quality": 80, "traveller_id": "T-1", "source_system": "unit",
            "template": {"modality": "FACE", "algorithm": "arcface", "algorithm_version": "1",
                         "dimension": len(vector), "vector": vector}}


def test_a_template_without_a_direction_is_rejected_with_its_path(validator):
    """Elasticsearch's cosine dense_vector refuses such a vector; the gateway says so first."""
    assert validator.single("biometrics", orjson.dumps(capture([0.6, 0.8, 0.0, 0.0])), "application/json", None,
                            now=NOW).accepted
    zero = validator.single("biometrics", orjson.dumps(capture([0.0] * 512)), "application/json", None, now=NOW)
    assert [(p.path, p.code) for p in zero.problems] == [("template.vector", "vector_zero_norm")]
    assert "zero length" in zero.problems[0].message and zero.value is None
    # JSON has no NaN; Avro does.
    codec = validator.codec
    datum = codec.decode(validator.single("biometrics", orjson.dumps(capture([0.6, 0.8])), "application/json", None,
                                          now=NOW).value, "biometrics")
    datum["template"]["vector"] = [float("nan"), 0.8]
    nan = validator.single("biometrics", codec.encode("biometrics", datum), "application/vnd.apache.avro", None,
                           now=NOW)
    assert [(p.path, p.code) for p in nan.problems] == [("template.vector", "value_range")]
    assert "not finite" in nan.problems[0].message
