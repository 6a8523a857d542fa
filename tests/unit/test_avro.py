"""Avro contracts: schema hygiene, wire formats, JSON conversion, interop with the reference
Apache ``avro`` package, and backward/forward compatibility."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import io
import json
import struct

import avro.io
import avro.schema
import fastavro
import pytest

from borderhub.avro import (
    AvroCodec, DecodeError, SchemaCatalog, encode_body, encode_single_object, from_json, to_json,
)
from borderhub.settings import get_settings

CROSSING_JSON = {
    "event_id": "6f1c1e1a-52a4-4f3c-9a57-0c2f8a1f0b11",
    "occurred_at": "2026-11-23T10:15:00.123+00:00",
    "port_locode": "USMIA",
    "direction": "ENTRY",
    "mode": "AIR",
    "traveller": {"given_names": "Ана Мария", "family_names": "Иванова", "names_latin": "IVANOVA, ANA MARIIA",
                  "date_of_birth": "1984-07-09", "sex": "F", "nationality": "RU",
                  "phone_numbers": ["+79161234567"]},
    "document": {"document_type": "PASSPORT", "number": "751234567", "issuing_country": "RU",
                 "expiry_date": "2031-01-01", "mrz_lines": []},
    "conveyance": {"flight_number": "SU110"},
    "declared_currency": [{"amount": "12000.5", "currency": "USD"}],
    "source_system": "apis-miami",
}


@pytest.fixture(scope="module")
def catalog() -> SchemaCatalog:
    return SchemaCatalog(get_settings().schemas_dir)


@pytest.fixture(scope="module")
def codec(catalog) -> AvroCodec:
    return AvroCodec(catalog)


def crossing_datum(catalog) -> dict:
    datum, problems = from_json(catalog.get("crossings"), CROSSING_JSON)
    assert problems == []
    return datum


# --- schema hygiene ------------------------------------------------------------------------------

def walk_named(schema, seen=None):
    """Every record and enum definition inside an expanded schema."""
    seen = seen if seen is not None else []
    if isinstance(schema, list):
        for branch in schema:
            walk_named(branch, seen)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum"):
            seen.append(schema)
        for field in schema.get("fields", []):
            walk_named(field["type"], seen)
        for key in ("items", "values"):
            if key in schema:
                walk_named(schema[key], seen)
    return seen


@pytest.mark.parametrize("name", ["crossings", "seizures", "biometrics", "watchlist", "alerts", "deadletters", "links",
                                  "ruleinputs"])
def test_every_field_documented_enums_defaulted(catalog, name):
    record = catalog.get(name)
    assert record.fullname.startswith("org.borderhub.")
    for named in walk_named(record.schema):
        assert named.get("doc"), f"{named['name']} has no doc"
        if named["type"] == "enum":
            assert named.get("default") in named["symbols"], f"enum {named['name']} needs a default"
        for field in named.get("fields", []):
            assert field.get("doc"), f"{named['name']}.{field['name']} has no doc"


def test_contract_uses_logical_types(catalog):
    text = json.dumps([catalog.get(n).schema for n in ("crossings", "seizures", "biometrics", "watchlist")])
    for logical in ("timestamp-millis", "uuid", "date", "decimal"):
        assert f'"logicalType": "{logical}"' in text


# --- wire formats --------------------------------------------------------------------------------

def test_single_object_roundtrip_and_header(catalog, codec):
    datum = crossing_datum(catalog)
    data = codec.encode("crossings", datum)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == catalog.get("crossings").fingerprint
    assert codec.decode(data, "crossings") == datum


def test_decimal_and_timestamps_survive(catalog, codec):
    back = codec.decode(codec.encode("crossings", crossing_datum(catalog)), "crossings")
    assert back["declared_currency"][0]["amount"] == decimal.Decimal("12000.50")
    assert back["occurred_at"] == dt.datetime(2026, 11, 23, 10, 15, 0, 123000, tzinfo=dt.timezone.utc)
    assert back["traveller"]["date_of_birth"] == dt.date(1984, 7, 9)


class InMemoryRegistry:
    """Stands in for the schema registry's two REST calls (not for Kafka)."""

    def __init__(self):
        self.schemas: dict[int, dict] = {}

    def register(self, subject, record):
        self.schemas[len(self.schemas) + 1] = record.schema
        return len(self.schemas)

    def schema(self, schema_id):
        if schema_id not in self.schemas:
            raise DecodeError(f"schema id {schema_id} is unknown to the registry")
        return self.schemas[schema_id]


def test_confluent_framing_roundtrip_and_both_framings_decode(catalog):
    registry = InMemoryRegistry()
    with_registry = AvroCodec(catalog, registry)
    datum = crossing_datum(catalog)
    confluent = with_registry.encode("crossings", datum)
    assert confluent[0] == 0 and struct.unpack(">I", confluent[1:5])[0] == 1
    single = AvroCodec(catalog).encode("crossings", datum)
    assert with_registry.decode(confluent, "crossings") == datum
    assert with_registry.decode(single, "crossings") == datum
    with pytest.raises(DecodeError, match="no schema registry"):
        AvroCodec(catalog).decode(confluent, "crossings")


@pytest.mark.parametrize("data, message", [
    (b"", "not Avro"),
    (b"{\"json\": true}", "not Avro"),
    (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown schema fingerprint"),
])
def test_decode_rejects_with_reason(codec, data, message):
    with pytest.raises(DecodeError, match=message):
        codec.decode(data, "crossings")


def test_truncated_body_is_a_decode_error(catalog, codec):
    data = codec.encode("crossings", crossing_datum(catalog))
    with pytest.raises(DecodeError, match="undecodable"):
        codec.decode(data[:30], "crossings")


def test_stream_of_records_and_corrupt_tail(catalog, codec):
    datum = crossing_datum(catalog)
    one = codec.encode("crossings", datum)
    results = codec.decode_stream(one + one + b"\xc3\x01garbage", "crossings")
    assert [r[0] == datum for r in results[:2]] == [True, True]
    assert results[2][0] is None and isinstance(results[2][2], DecodeError)


# --- JSON ----------------------------------------------------------------------------------------

def test_json_roundtrip(catalog):
    datum = crossing_datum(catalog)
    again, problems = from_json(catalog.get("crossings"), to_json(datum))
    assert problems == [] and again == datum


def test_json_reports_every_problem_with_paths(catalog):
    bad = copy.deepcopy(CROSSING_JSON)
    bad["occurred_at"] = "yesterday"
    bad["mode"] = "BOAT"
    bad["traveller"]["given_names"] = 42
    bad["traveller"]["date_of_birth"] = "1984-13-40"
    bad["declared_currency"][0]["amount"] = "lots"
    bad["surprise"] = 1
    del bad["port_locode"]
    _, problems = from_json(catalog.get("crossings"), bad)
    found = {(p.path, p.code) for p in problems}
    assert found == {
        ("occurred_at", "timestamp"), ("mode", "enum"), ("traveller.given_names", "type"),
        ("traveller.date_of_birth", "date"), ("declared_currency.0.amount", "type"), ("surprise", "unknown_field"),
        ("port_locode", "missing"),
    }


def test_naive_timestamp_is_rejected(catalog):
    bad = dict(CROSSING_JSON, occurred_at="2026-11-23T10:15:00")
    _, problems = from_json(catalog.get("crossings"), bad)
    assert [(p.path, p.code) for p in problems] == [("occurred_at", "timestamp")]
    assert "offset" in problems[0].message


def test_defaults_fill_omitted_optional_fields(catalog):
    minimal = {k: CROSSING_JSON[k] for k in ("event_id", "occurred_at", "port_locode", "source_system")}
    minimal["traveller"] = {"given_names": "A", "family_names": "B"}
    datum, problems = from_json(catalog.get("crossings"), minimal)
    assert problems == []
    assert datum["direction"] == "UNKNOWN" and datum["document"] is None and datum["declared_currency"] == []
    assert datum["traveller"]["sex"] == "UNKNOWN"


# --- interop with the reference implementation ---------------------------------------------------

def reference_schema(record):
    return avro.schema.parse(json.dumps(record.schema))


def test_reference_reads_what_we_write(catalog, codec):
    record = catalog.get("crossings")
    datum = crossing_datum(catalog)
    body = codec.encode("crossings", datum)[10:]
    decoded = avro.io.DatumReader(reference_schema(record)).read(avro.io.BinaryDecoder(io.BytesIO(body)))
    assert decoded["traveller"]["family_names"] == "Иванова"
    assert decoded["declared_currency"][0]["amount"] == decimal.Decimal("12000.50")
    assert decoded["document"]["expiry_date"] == dt.date(2031, 1, 1)
    assert decoded["occurred_at"] == datum["occurred_at"]


def test_we_read_what_reference_writes(catalog, codec):
    record = catalog.get("crossings")
    datum = crossing_datum(catalog)
    out = io.BytesIO()
    avro.io.DatumWriter(reference_schema(record)).write(datum, avro.io.BinaryEncoder(out))
    framed = b"\xc3\x01" + record.fingerprint + out.getvalue()
    assert codec.decode(framed, "crossings") == datum
    assert out.getvalue() == encode_body(record, datum)  # byte-identical bodies


def test_fingerprint_matches_reference_where_it_follows_the_spec(catalog):
    # The reference Python package keeps {"type": "string"} for logical types in its canonical
    # form (the spec and the Java implementation reduce it to "string"), so compare a record
    # without logical types: the dead letter's nested Problem record.
    problem = {"type": "record", "name": "Problem", "namespace": "org.borderhub.hub",
               "fields": [{"name": "path", "type": "string"}, {"name": "code", "type": "string"},
                          {"name": "message", "type": "string"}]}
    ours = SchemaCatalog(get_settings().schemas_dir, extra=[problem]).records["org.borderhub.hub.Problem"]
    theirs = avro.schema.parse(json.dumps(problem))
    assert theirs.fingerprint("CRC-64-AVRO") == ours.fingerprint[::-1]  # reference gives big-endian


# --- schema evolution ----------------------------------------------------------------------------

def evolved_crossing(catalog) -> dict:
    """A plausible v1.1: a new optional field and a new travel mode."""
    schema = copy.deepcopy(catalog.get("crossings").schema)
    schema["fields"].append({"name": "risk_flags", "type": {"type": "array", "items": "string"},
                             "default": [], "doc": "New in v1.1."})
    mode = next(f for f in schema["fields"] if f["name"] == "mode")
    mode["type"]["symbols"] = mode["type"]["symbols"] + ["DRONE"]
    return schema


def test_old_reader_reads_new_data(catalog):
    new = fastavro.parse_schema(evolved_crossing(catalog))
    old = catalog.get("crossings").parsed
    datum = dict(crossing_datum(catalog), risk_flags=["split-currency"], mode="DRONE")
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, new, datum)
    read = fastavro.schemaless_reader(io.BytesIO(buf.getvalue()), new, old)
    assert "risk_flags" not in read
    assert read["mode"] == "UNKNOWN"  # the enum default absorbs the unknown symbol
    assert read["traveller"] == datum["traveller"]


def test_new_reader_reads_old_data(catalog):
    new = fastavro.parse_schema(evolved_crossing(catalog))
    datum = crossing_datum(catalog)
    body = encode_body(catalog.get("crossings"), datum)
    read = fastavro.schemaless_reader(io.BytesIO(body), catalog.get("crossings").parsed, new)
    assert read["risk_flags"] == [] and read["mode"] == "AIR"


def test_single_object_decoding_resolves_an_older_writer(catalog):
    """A producer still on the old schema: its fingerprint is known, the reader is the new one."""
    old_record = catalog.get("crossings")
    new_catalog = SchemaCatalog(get_settings().schemas_dir, extra=[evolved_crossing(catalog)])
    new_catalog.by_fingerprint[old_record.fingerprint] = old_record
    data = encode_single_object(old_record, crossing_datum(catalog))
    read = AvroCodec(new_catalog).decode(data, "org.borderhub.poe.CrossingEvent")
    assert read["risk_flags"] == []
