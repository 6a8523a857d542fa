"""Matcher: events, validity windows, per-list thresholds, FollowTheMoney screening
(services/correlate/matching/engine.py)."""

import json
from datetime import date, datetime, timezone

import numpy as np

from services.correlate.matching.engine import Match, Matcher
from services.correlate.matching.synthetic import base_entry

NOW = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)


def entries():
    return [
        base_entry("wanted-1", "PERSON", "national-wanted", names=["Юрий Алексеевич Гагарин"],
                   birth_dates=["1934-03-09"], nationalities=["RU"], sex="M", action_on_hit="ARREST"),
        base_entry("sltd-1", "DOCUMENT", "interpol-sltd", document_status="STOLEN", action_on_hit="SEIZE_DOCUMENT",
                   identifiers=[{"scheme": "PASSPORT", "value": "C01X00T47", "country": "DE"}]),
        base_entry("car-1", "VEHICLE", "stolen-vehicles",
                   identifiers=[{"scheme": "VEHICLE_PLATE", "value": "AB-123-CD", "country": "FR"}]),
        base_entry("ship-1", "VESSEL", "vessels", names=["MV Ocean Star"],
                   identifiers=[{"scheme": "IMO", "value": "9074729", "country": None}]),
        base_entry("phone-1", "PHONE", "phones", identifiers=[{"scheme": "PHONE", "value": "+447700900123",
                                                                "country": None}]),
    ]


def crossing(given="IURII", family="GAGARIN", born=date(1934, 3, 9), number="123456789", country="RU",
             plate=None, phones=()):
    return {
        "event_id": "e1", "occurred_at": NOW, "port_locode": "FRPAR",
        "traveller": {"given_names": given, "family_names": family, "names_latin": f"{family}, {given}",
                      "date_of_birth": born, "sex": "M", "nationality": "RU", "phone_numbers": list(phones)},
        "document": {"document_type": "PASSPORT", "number": number, "issuing_country": country},
        "conveyance": {"vehicle_plate": plate, "vehicle_country": "FR"} if plate else None,
    }


def matcher(**kw):
    m = Matcher(**kw)
    m.load(entries())
    return m


def test_crossing_matches_traveller_document_vehicle_and_phone():
    m = matcher()
    found = m.match_event("crossing", crossing(number="C01X00T47", country="DE", plate="AB 123 CD",
                                               phones=["+447700900123"]))
    assert {x.entry_id for x in found} == {"wanted-1", "sltd-1", "car-1", "phone-1"}
    assert [x.score for x in found] == sorted((x.score for x in found), reverse=True)
    wanted = next(x for x in found if x.entry_id == "wanted-1")
    assert isinstance(wanted, Match)
    assert (wanted.kind, wanted.source_list, wanted.action_on_hit, wanted.event_part) == \
        ("PERSON", "national-wanted", "ARREST", "traveller")
    assert "Гагарин" in wanted.subject and "1934-03-09" in wanted.subject
    assert {f["feature"] for f in wanted.explanation} >= {"name_similarity", "birth_date"}


def test_unrelated_crossing_matches_nothing():
    assert matcher().match_event("crossing", crossing(given="ANNA", family="SCHMIDT", born=date(1990, 1, 1))) == []


def test_namesake_with_another_birth_date_is_no_alert():
    assert matcher().match_event("crossing", crossing(born=date(1954, 3, 9))) == []


def test_seizure_persons_documents_phones_and_vessel():
    event = {
        "event_id": "s1", "occurred_at": NOW, "port_locode": "NLRTM",
        "persons": [{"given_names": "Anna", "family_names": "Schmidt", "date_of_birth": None},
                    {"given_names": "Yuri", "family_names": "Gagarin", "date_of_birth": "1934-03-09"}],
        "documents": [{"document_type": "PASSPORT", "number": "CO1X00T47", "issuing_country": "DE"}],
        "phone_numbers": ["+447700900123"],
        "conveyance": {"vessel_imo": "IMO9074729", "vessel_name": "Ocean Star"},
    }
    found = {x.entry_id: x for x in matcher().match_event("seizures", event)}
    assert set(found) == {"wanted-1", "sltd-1", "phone-1", "ship-1"}
    assert found["wanted-1"].event_part == "persons[1]"
    assert found["sltd-1"].event_part == "seized items"


def test_biometric_capture_against_the_gallery():
    rng = np.random.default_rng(1)
    face = rng.standard_normal(128).astype(np.float32)
    template = {"modality": "FACE", "algorithm": "acme-face", "algorithm_version": "3", "dimension": 128}
    m = matcher()
    m.upsert(base_entry("face-1", "PERSON", "national-wanted", names=["Jane Roe"],
                        biometric_templates=[{**template, "vector": face.tolist()}]))
    probe = face + rng.standard_normal(128).astype(np.float32) * 0.3
    event = {"event_id": "b1", "captured_at": NOW, "port_locode": "FRPAR", "quality": 80,
             "template": {**template, "vector": probe.tolist()}, "document": None}
    found = m.match_event("biometric", event)
    assert [x.entry_id for x in found] == ["face-1"]
    assert found[0].explanation[0]["feature"] == "biometric"
    stranger = {**event, "template": {**template, "vector": rng.standard_normal(128).tolist()}}
    assert m.match_event("biometric", stranger) == []
    m.remove("face-1")
    assert m.match_event("biometric", event) == []


def test_validity_window():
    m = Matcher()
    past = datetime(2024, 1, 1, tzinfo=timezone.utc)
    future = datetime(2030, 1, 1, tzinfo=timezone.utc)
    for entry_id, valid_from, valid_until in (("expired", None, past), ("pending", future, None),
                                              ("current", past, future)):
        m.upsert(base_entry(entry_id, "VEHICLE", valid_from=valid_from, valid_until=valid_until,
                            identifiers=[{"scheme": "VEHICLE_PLATE", "value": "ZZ999ZZ", "country": "FR"}]))
    event = {"event_id": "e", "occurred_at": NOW, "traveller": {"given_names": "A", "family_names": "B"},
             "conveyance": {"vehicle_plate": "ZZ999ZZ", "vehicle_country": "FR"}}
    assert [x.entry_id for x in m.match_event("crossing", event)] == ["current"]
    later = {**event, "occurred_at": datetime(2031, 1, 1, tzinfo=timezone.utc)}
    assert [x.entry_id for x in m.match_event("crossing", later)] == ["pending"]


def test_per_list_thresholds():
    event = crossing(number="CO1X00T47", country="DE")  # one OCR confusion: scores 0.85
    assert "sltd-1" in {x.entry_id for x in matcher().match_event("crossing", event)}
    strict = matcher(list_thresholds={"interpol-sltd": 0.9})
    assert "sltd-1" not in {x.entry_id for x in strict.match_event("crossing", event)}
    assert "wanted-1" in {x.entry_id for x in strict.match_event("crossing", event)}


def test_batch_equals_one_by_one():
    m = matcher()
    events = [crossing(), crossing(given="ANNA", family="SCHMIDT"), crossing(number="C01X00T47", country="DE")]
    assert m.match_events("crossings", events) == [m.match_event("crossing", e) for e in events]


FTM_WATCHLIST = [
    {"id": "ftm-p1", "schema": "Person", "properties": {
        "name": ["Viktor Anatolyevich Bout"], "alias": ["Виктор Анатольевич Бут"], "birthDate": ["1967-01-13"],
        "nationality": ["ru"], "gender": ["male"], "topics": ["sanction"]}},
    {"id": "ftm-c1", "schema": "Company", "properties": {"name": ["Air Cess Holdings Ltd"], "jurisdiction": ["ae"]}},
    {"id": "ftm-v1", "schema": "Vessel", "properties": {"name": ["Ocean Star"], "imoNumber": ["IMO9074729"]}},
]


def ftm_matcher():
    m = Matcher()
    assert m.load_ftm([json.dumps(e) for e in FTM_WATCHLIST], "sanctions") == []
    return m


def test_screen_entity():
    m = ftm_matcher()
    query = {"id": "q1", "schema": "Person", "properties": {"name": ["BOUT, VIKTOR"], "birthDate": ["1967-01-13"]}}
    found = m.screen_entity(query)
    assert [x.entry_id for x in found] == ["ftm-p1"] and found[0].score >= 0.9
    company = {"id": "q2", "schema": "Company", "properties": {"name": ["AIR CESS HOLDINGS LIMITED"]}}
    assert [x.entry_id for x in m.screen_entity(company)] == ["ftm-c1"]


def test_screen_contract():
    m = ftm_matcher()
    lines = [json.dumps(q) for q in (
        {"id": "q1", "schema": "Person", "properties": {"name": ["Viktor Bout"], "birthDate": ["1967"]}},
        {"id": "q2", "schema": "Person", "properties": {"name": ["Anna Schmidt"]}},
        {"id": "q3", "schema": "Vessel", "properties": {"name": ["Star of the Ocean"], "imoNumber": ["9074729"]}},
        {"id": "q4", "schema": "Address", "properties": {"full": ["1 Main St"]}},
    )]
    results = list(m.screen_ftm(lines))
    assert [r["query_id"] for r in results] == ["q1", "q2", "q3", "q4"]
    assert [[x["entity_id"] for x in r["matches"]] for r in results] == [["ftm-p1"], [], ["ftm-v1"], []]
    hit = results[0]["matches"][0]
    assert set(hit) == {"entity_id", "score", "explanation"} and hit["score"] >= 0.75
    assert all(set(f) == {"feature", "weight", "detail"} for f in hit["explanation"])
    json.dumps(results)  # the output is plain JSON


def test_bulk_load_of_a_changed_entry_drops_the_templates_it_lost():
    rng = np.random.default_rng(2)
    face = rng.standard_normal(128).astype(np.float32)
    template = {"modality": "FACE", "algorithm": "acme-face", "algorithm_version": "3", "dimension": 128}
    event = {"event_id": "b1", "captured_at": NOW, "port_locode": "FRPAR", "quality": 80,
             "template": {**template, "vector": face.tolist()}, "document": None}
    m = matcher()
    m.load([base_entry("face-1", "PERSON", "national-wanted", names=["Jane Roe"],
                       biometric_templates=[{**template, "vector": face.tolist()}])])
    assert [x.entry_id for x in m.match_event("biometric", event)] == ["face-1"]
    m.load([base_entry("face-1", "PERSON", "national-wanted", names=["Jane Roe"])])  # a later chunk: no template now
    assert m.match_event("biometric", event) == []
