"""Watchlist feeds (FtM JSON lines, CSV) -> WatchlistEntry datums, with per-line errors."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from borderhub.avro import SchemaCatalog, encode_body
from borderhub.domain.events import check_watchlist_entry
from services.ingest.watchlist import CSV_HEADER, ParsedLine, entries_from_csv, entries_from_ftm

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def watchlist_schema():
    return SchemaCatalog(SCHEMAS).get("watchlist")


def ftm(entity_id, schema, **props):
    return json.dumps({"id": entity_id, "schema": schema,
                       "properties": {k: v if isinstance(v, list) else [v] for k, v in props.items()}},
                      ensure_ascii=False)


def by_id(parsed: list[ParsedLine]) -> dict[str, dict]:
    return {p.entry["entry_id"]: p.entry for p in parsed if p.entry}


def assert_valid_datum(entry, schema):
    """Exactly the schema's fields, encodable by fastavro, and clean for the domain checks."""
    assert list(entry) == [f["name"] for f in schema.schema["fields"]]
    encode_body(schema, entry)
    assert check_watchlist_entry(entry, now=NOW) == []


# ---------------------------------------------------------------------------- FtM

FEED = [
    # the passport comes before its holder: the join must not depend on order
    ftm("pp-1", "Passport", holder="p-1", number="G12345678", country="mx", type="passport"),
    ftm("p-1", "Person", name="José Luis Hernández García", alias="Pepe Hernández", weakAlias="El Güero",
        birthDate="1979-03-02", nationality="mx", gender="male", phone="+52 55 1234 5678",
        topics=["wanted", "crime.traffick.drug"], notes="Arrest warrant for cocaine importation"),
    ftm("id-1", "Identification", holder="p-1", number="HEGL790302HDFRRS09", country="mx", type="identity card"),
    ftm("p-2", "Person", firstName="Ivan", lastName="Petrov", passportNumber="721234567", nationality="ru",
        topics=["crime.traffick.human"]),
    ftm("sltd-1", "Passport", holder="nobody-in-feed", number="X9876543", country="us",
        givenName="Mary", surname="Smith", birthDate="1990-01-01",
        summary="Reported stolen on 2026-02-01"),
    ftm("sltd-2", "Identification", holder="nobody", number="ABC123456", country="es",
        description="Lost by its holder in Madrid"),
    ftm("dl-1", "Identification", holder="p-2", number="D1234567", country="ru", type="driving licence"),
    ftm("v-1", "Vehicle", name="grey Nissan NP300", registrationNumber="AHB-123-A", country="mx",
        topics=["crime.traffick.drug"]),
    ftm("s-1", "Vessel", name="OCEAN TRADER", imoNumber="9012343", mmsi="353123456", flag="pa",
        notes="Linked to rip-on cocaine shipments"),
    ftm("c-1", "Company", name="Transportes del Norte SA de CV", jurisdiction="mx", registrationNumber="TDN120304AB1",
        phone="+526641234567", topics=["crime.traffick.drug"]),
    ftm("ph-1", "LegalEntity", name="+525598765432", phone="+525598765432", topics=["crime.traffick.drug"]),
    ftm("san-1", "Sanction", entity="c-1", program="OFAC SDN Kingpin Act", startDate="2024-05-01"),
    ftm("o-1", "Organization", name="Los Flacos", keywords="action:MONITOR", topics=["crime.traffick"]),
]


@pytest.fixture(scope="module")
def parsed_feed():
    return list(entries_from_ftm(FEED, "national-wanted", NOW))


def test_ftm_one_result_per_line_and_no_errors(parsed_feed):
    assert [p.line_no for p in parsed_feed] == list(range(1, len(FEED) + 1))
    assert [p.error for p in parsed_feed if p.error] == []
    # the Sanction line lists nothing of its own
    assert [p.line_no for p in parsed_feed if p.entry is None] == [12]


def test_ftm_entries_are_valid_datums(parsed_feed, watchlist_schema):
    for p in parsed_feed:
        if p.entry:
            assert_valid_datum(p.entry, watchlist_schema)
            assert p.entry["source_list"] == "national-wanted"


def test_ftm_person_with_joined_documents(parsed_feed):
    person = by_id(parsed_feed)["p-1"]
    assert person["kind"] == "PERSON"
    assert person["names"] == ["José Luis Hernández García"]
    assert set(person["aliases"]) == {"Pepe Hernández", "El Güero"}
    assert person["birth_dates"] == ["1979-03-02"] and person["nationalities"] == ["MX"] and person["sex"] == "M"
    assert {(i["scheme"], i["value"], i["country"]) for i in person["identifiers"]} == {
        ("PASSPORT", "G12345678", "MX"), ("ID_CARD", "HEGL790302HDFRRS09", "MX"), ("PHONE", "+525512345678", None)}
    assert person["action_on_hit"] == "ARREST"  # wanted beats trafficking
    assert person["reason"] == "Arrest warrant for cocaine importation"
    assert person["updated_at"] == NOW


def test_ftm_person_name_from_parts_and_passport_number(parsed_feed):
    person = by_id(parsed_feed)["p-2"]
    assert person["names"] == ["Ivan Petrov"]
    assert ("PASSPORT", "721234567", "RU") in {(i["scheme"], i["value"], i["country"]) for i in person["identifiers"]}
    assert ("OTHER_DOCUMENT", "D1234567", "RU") in {(i["scheme"], i["value"], i["country"]) for i in person["identifiers"]}
    assert person["action_on_hit"] == "DETAIN"
    assert person["reason"] == "Human trafficking"  # from the topic label


def test_ftm_document_entries(parsed_feed):
    entries = by_id(parsed_feed)
    holder_doc = entries["pp-1"]
    assert holder_doc["kind"] == "DOCUMENT"
    assert holder_doc["identifiers"] == [{"scheme": "PASSPORT", "value": "G12345678", "country": "MX"}]
    assert holder_doc["names"] == ["José Luis Hernández García"]  # from the holder
    assert holder_doc["document_status"] == "UNKNOWN" and holder_doc["action_on_hit"] == "ARREST"

    stolen = entries["sltd-1"]
    assert (stolen["document_status"], stolen["action_on_hit"]) == ("STOLEN", "SEIZE_DOCUMENT")
    assert stolen["names"] == ["Mary Smith"] and stolen["birth_dates"] == ["1990-01-01"]
    lost = entries["sltd-2"]
    assert (lost["document_status"], lost["action_on_hit"]) == ("LOST", "SEIZE_DOCUMENT")
    assert lost["identifiers"] == [{"scheme": "ID_CARD", "value": "ABC123456", "country": "ES"}]


def test_ftm_vehicle_vessel_company_phone(parsed_feed):
    entries = by_id(parsed_feed)
    vehicle = entries["v-1"]
    assert vehicle["kind"] == "VEHICLE" and vehicle["action_on_hit"] == "DETAIN"
    assert vehicle["identifiers"] == [{"scheme": "VEHICLE_PLATE", "value": "AHB-123-A", "country": "MX"}]
    vessel = entries["s-1"]
    assert vessel["kind"] == "VESSEL" and vessel["nationalities"] == ["PA"]
    assert {(i["scheme"], i["value"]) for i in vessel["identifiers"]} == {("IMO", "9012343"), ("MMSI", "353123456")}
    assert vessel["action_on_hit"] == "REFER_SECONDARY" and vessel["reason"] == "Linked to rip-on cocaine shipments"
    company = entries["c-1"]
    assert company["kind"] == "ORGANISATION" and company["nationalities"] == ["MX"]
    assert {(i["scheme"], i["value"]) for i in company["identifiers"]} == {
        ("REGISTRATION_NUMBER", "TDN120304AB1"), ("PHONE", "+526641234567")}
    assert "sanction" in company["topics"] and "OFAC SDN Kingpin Act" in company["reason"]
    assert company["valid_from"] == datetime(2024, 5, 1, tzinfo=timezone.utc)
    phone = entries["ph-1"]
    assert phone["kind"] == "PHONE" and phone["names"] == []
    assert phone["identifiers"] == [{"scheme": "PHONE", "value": "+525598765432", "country": None}]
    assert entries["o-1"]["action_on_hit"] == "MONITOR"  # keyword beats topics


def test_ftm_bad_lines_give_errors_and_good_lines_still_parse():
    lines = [
        FEED[1],
        '{"id": "x", "schema": "Person", "properties": {',   # truncated JSON
        "",                                                  # blank: skipped
        '{"id": "y", "schema": "Starship", "properties": {}}',
        '{"schema": "Person", "properties": {"name": ["No Id"]}}',
        '["not", "an", "object"]',
        ftm("pp-orphan", "Passport", holder="p-1", country="mx"),  # no number
        FEED[7],
    ]
    parsed = list(entries_from_ftm(lines, "x", NOW))
    errors = {p.line_no: p.error for p in parsed if p.error}
    assert set(errors) == {2, 4, 5, 6, 7}
    assert "invalid JSON" in errors[2] and "Starship" in errors[4] and "no id" in errors[5]
    assert "number" in errors[7]
    assert {p.line_no: p.entry["entry_id"] for p in parsed if p.entry} == {1: "p-1", 8: "v-1"}
    assert 3 not in {p.line_no for p in parsed}


def test_ftm_status_words():
    lines = [ftm("a", "Passport", holder="h", number="A1", summary="Lost or stolen"),
             ftm("b", "Passport", holder="h", number="B1", summary="Revoked by issuer"),
             ftm("c", "Passport", holder="h", number="C1", description="Cancelled after renewal"),
             ftm("d", "Passport", holder="h", number="D1")]
    raw = json.loads(ftm("e", "Passport", holder="h", number="E1"))
    raw["properties"]["status"] = ["lost"]  # not an FtM property, read from the raw JSON
    entries = by_id(list(entries_from_ftm(lines + [json.dumps(raw)], "x", NOW)))
    assert {k: e["document_status"] for k, e in entries.items()} == {
        "a": "STOLEN", "b": "REVOKED", "c": "REVOKED", "d": "UNKNOWN", "e": "LOST"}
    assert entries["b"]["action_on_hit"] == "REFER_SECONDARY"


def test_ftm_last_change_sets_updated_at():
    raw = json.loads(FEED[7])
    raw["last_change"] = "2026-06-01T12:30:00"
    (entry,) = [p.entry for p in entries_from_ftm([json.dumps(raw)], "x", NOW)]
    assert entry["updated_at"] == datetime(2026, 6, 1, 12, 30, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------- CSV

def csv_lines(*rows: str) -> list[str]:
    return [CSV_HEADER + "\n", *(r + "\n" for r in rows)]


def test_csv_good_rows(watchlist_schema):
    rows = csv_lines(
        'w-1,PERSON,Ana Sofía Ruiz Peña,"Ana Ruiz; La Jefa",1985-07,MEX;US,F,PASSPORT,G7654321,MX,,,,2027-01-01,wanted;crime.traffick.drug',
        "d-1,document,,,,,,,X1234567,US,stolen,,,,",
        "v-1,VEHICLE,,,,,,,ABC 1234,US,,Used in a fentanyl seizure,,,",
        "s-1,VESSEL,OCEAN TRADER,,,PA,,IMO,IMO 9012343,PA,,,MONITOR,,",
        "ph-1,PHONE,,,,,,,(664) 123 4567,MX,,,,,",
        "o-1,ORGANISATION,Los Flacos,,,,,,,,,,,2026-12-31T23:00:00+01:00,crime.traffick",
    )
    parsed = list(entries_from_csv(rows, "csv-list", NOW))
    assert [p.error for p in parsed] == [None] * 6
    assert [p.line_no for p in parsed] == [2, 3, 4, 5, 6, 7]
    for p in parsed:
        assert_valid_datum(p.entry, watchlist_schema)
    e = by_id(parsed)
    person = e["w-1"]
    assert person["aliases"] == ["Ana Ruiz", "La Jefa"] and person["birth_dates"] == ["1985-07"]
    assert person["nationalities"] == ["MX", "US"] and person["sex"] == "F"
    assert person["identifiers"] == [{"scheme": "PASSPORT", "value": "G7654321", "country": "MX"}]
    assert person["action_on_hit"] == "ARREST" and person["reason"] == "Wanted; Drug trafficking"
    assert person["valid_until"] == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert (e["d-1"]["document_status"], e["d-1"]["action_on_hit"]) == ("STOLEN", "SEIZE_DOCUMENT")
    assert e["d-1"]["identifiers"][0]["scheme"] == "PASSPORT"  # default scheme of a DOCUMENT
    assert e["v-1"]["identifiers"][0] == {"scheme": "VEHICLE_PLATE", "value": "ABC 1234", "country": "US"}
    assert e["s-1"]["identifiers"][0]["value"] == "9012343" and e["s-1"]["action_on_hit"] == "MONITOR"
    assert e["ph-1"]["identifiers"][0]["value"] == "+526641234567"
    assert e["o-1"]["valid_until"] == datetime(2026, 12, 31, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("row, message", [
    ("x-1,ALIEN,Someone,,,,,,,,,,,,", "kind"),
    ("x-2,PERSON,,,,,,,,,,,,,", "needs a name"),
    (",PERSON,Someone,,,,,,,,,,,,", "entry_id"),
    ("x-3,PERSON,Someone,,1985-13-01,,,,,,,,,,", "birth_date"),
    ("x-4,PERSON,Someone,,02/03/1985,,,,,,,,,,", "birth_date"),
    ("x-5,PERSON,Someone,,,Atlantis,,,,,,,,,", "nationality"),
    ("x-6,PERSON,Someone,,,,Q,,,,,,,,", "sex"),
    ("x-7,DOCUMENT,,,,,,,,,,,,,", "identifier_value"),
    ("x-8,VESSEL,,,,,,IMO,9012344,,,,,,", "check digit"),
    ("x-9,PHONE,,,,,,,not a phone,,,,,,", "phone"),
    ("x-10,PERSON,Someone,,,,,,,,BROKEN,,,,", "document_status"),
    ("x-11,PERSON,Someone,,,,,,,,,,SHOOT,,", "action_on_hit"),
    ("x-12,PERSON,Someone,,,,,,,,,,,next week,", "valid_until"),
    ("x-13,PERSON,Someone,,,,,,,,,,,,,extra,fields", "more field"),
    ("x-14,VEHICLE,,,,,,,ABC123,ZZ,,,,,", "identifier_country"),
])
def test_csv_bad_row_gives_an_error_for_that_row_only(row, message):
    parsed = list(entries_from_csv(csv_lines("ok-1,PERSON,First Good,,,,,,,,,,,,", row, "ok-2,PHONE,,,,,,,+14155550123,,,,,,"),
                                   "csv-list", NOW))
    assert [p.line_no for p in parsed] == [2, 3, 4]
    assert parsed[1].entry is None and message in parsed[1].error, parsed[1].error
    assert [p.entry["entry_id"] for p in (parsed[0], parsed[2])] == ["ok-1", "ok-2"]


def test_csv_header_without_required_columns():
    parsed = list(entries_from_csv(["name,kind\n", "Someone,PERSON\n"], "csv-list", NOW))
    assert len(parsed) == 1 and parsed[0].line_no == 1 and "entry_id" in parsed[0].error


def test_csv_columns_in_any_order_and_quoted_commas():
    lines = ['kind,entry_id,name,reason\n', 'ORGANISATION,o-9,"Fletes Rápidos, S.A.","Front company, per case 12"\n', "\n"]
    (parsed,) = list(entries_from_csv(lines, "csv-list", NOW))
    assert parsed.entry["names"] == ["Fletes Rápidos, S.A."] and parsed.entry["reason"] == "Front company, per case 12"
