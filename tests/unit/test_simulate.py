"""The traffic simulator: determinism, contract-valid events, identifiers, planted truth."""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import phonenumbers
import pytest
from followthemoney import model
from stdnum import imo as stdnum_imo
from stdnum import iso6346

from borderhub.avro import SchemaCatalog, from_json
from borderhub.domain.events import check_biometric, check_crossing, check_seizure
from borderhub.domain.identifiers import normalize_plate
from borderhub.domain.mrz import check_mrz
from borderhub.domain.ports import port_info
from services.ingest.simulate import (
    CULTURES,
    HEAVY_PORTS,
    KINDS,
    Simulator,
    base_template,
    capture_template,
    container_number,
    write_dataset,
)
from services.ingest.watchlist import entries_from_ftm

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SEED = 11
COUNT = 5000


@pytest.fixture(scope="module")
def run():
    sim = Simulator(seed=SEED)
    events = list(itertools.islice(sim.events(), COUNT))
    return sim, events, sim.truth()


@pytest.fixture(scope="module")
def by_id(run):
    return {event["event_id"]: (kind, event) for kind, event in run[1]}


def of_kind(events, kind):
    return [e for k, e in events if k == kind]


def cosine(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---------------------------------------------------------------------------- determinism

def test_same_seed_same_stream_watchlist_and_truth():
    first, second = Simulator(seed=5), Simulator(seed=5)
    a = list(itertools.islice(first.events(), 800))
    b = list(itertools.islice(second.events(), 800))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert first.watchlist_entities() == second.watchlist_entities()
    assert first.truth() == second.truth()


def test_other_seed_other_stream_and_ids():
    a = list(itertools.islice(Simulator(seed=5).events(), 50))
    b = list(itertools.islice(Simulator(seed=6).events(), 50))
    assert {e["event_id"] for _, e in a}.isdisjoint({e["event_id"] for _, e in b})
    ids5 = {e["id"] for e in Simulator(seed=5).watchlist_entities()}
    ids6 = {e["id"] for e in Simulator(seed=6).watchlist_entities()}
    assert ids5.isdisjoint(ids6)


def test_watchlist_ids_do_not_depend_on_consumption():
    sim = Simulator(seed=5)
    before = sim.watchlist_entities()
    list(itertools.islice(sim.events(), 300))
    assert sim.watchlist_entities() == before


def test_start_and_simulated_rate():
    start = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
    events = list(itertools.islice(Simulator(seed=2, start=start, events_per_second=5).events(), 4000))
    stamps = sorted(datetime.fromisoformat(_event_time(e)) for _, e in events)
    assert stamps[0] >= start
    rate = len(events) / (stamps[-1] - start).total_seconds()
    assert 4 <= rate <= 6, rate  # a publisher pacing at 5/s stays near wall time


def test_per_kind_generators(run):
    sim = Simulator(seed=SEED)
    crossings = list(itertools.islice(sim.crossings(), 30))
    assert [e["event_id"] for e in crossings] == [e["event_id"] for e in of_kind(run[1], "crossings")[:30]]
    assert all("crossing_event_id" in e for e in itertools.islice(Simulator(seed=1).biometrics(), 5))
    assert all("category" in e for e in itertools.islice(Simulator(seed=1).seizures(), 5))


# ---------------------------------------------------------------------------- contract

def test_every_event_passes_the_gateway_contract_and_domain_checks(run):
    catalog = SchemaCatalog(SCHEMAS)
    checks = {"crossings": check_crossing, "seizures": check_seizure, "biometrics": check_biometric}
    failures = []
    for kind, event in run[1]:
        datum, problems = from_json(catalog.get(kind), event)
        if not problems:
            problems = checks[kind](datum, now=datetime.fromisoformat(_event_time(event)) + timedelta(hours=1))
        if problems:
            failures.append((kind, event["event_id"], problems[:3]))
    assert failures == []


def _event_time(event):
    return event.get("occurred_at") or event["captured_at"]


def test_required_fields_and_json_forms(run):
    catalog = SchemaCatalog(SCHEMAS)
    for kind, event in run[1]:
        fields = {f["name"] for f in catalog.get(kind).schema["fields"]}
        assert set(event) == fields, (kind, set(event) ^ fields)
        stamp = _event_time(event)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00", stamp)
    for event in of_kind(run[1], "seizures"):
        for item in event["items"]:
            if item["estimated_value"]:
                assert re.fullmatch(r"\d+\.\d{2}", item["estimated_value"]["amount"])


def test_kind_mix_is_realistic(run):
    counts = Counter(kind for kind, _ in run[1])
    assert set(counts) == set(KINDS)
    assert 0.80 <= counts["crossings"] / COUNT <= 0.90
    assert 0.03 <= counts["seizures"] / COUNT <= 0.08
    assert 0.07 <= counts["biometrics"] / COUNT <= 0.14


# ---------------------------------------------------------------------------- ports and modes

def test_heavy_ports_carry_most_traffic(run):
    crossings = of_kind(run[1], "crossings")
    ports = Counter(e["port_locode"] for e in crossings)
    assert set(HEAVY_PORTS) <= set(ports)
    assert sum(ports[p] for p in HEAVY_PORTS) / len(crossings) >= 0.6
    assert len(ports) >= 40  # plus a spread of other ports


def test_mode_matches_port_and_conveyance(run):
    function = {"AIR": "air", "SEA": "sea", "LAND": "land", "PEDESTRIAN": "land"}
    for event in of_kind(run[1], "crossings"):
        mode, conveyance = event["mode"], event["conveyance"]
        assert function[mode] in port_info(event["port_locode"]).functions, event["port_locode"]
        if mode == "AIR":
            assert re.fullmatch(r"[A-Z0-9]{2}\d{1,4}", conveyance["flight_number"])
            assert not conveyance["vehicle_plate"] and not conveyance["vessel_name"]
        elif mode == "SEA":
            assert conveyance["vessel_name"] and conveyance["vessel_mmsi"] and not conveyance["flight_number"]
        elif mode == "LAND":
            assert conveyance["vehicle_plate"] and conveyance["vehicle_country"]
        else:
            assert conveyance is None


# ---------------------------------------------------------------------------- identifiers

def _icao_digit(field: str) -> str:
    values = [int(c) if c.isdigit() else (ord(c) - 55 if c.isalpha() else 0) for c in field]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


def _all_documents(events):
    for kind, event in events:
        if event.get("document"):
            yield event["document"]
        yield from event.get("documents", [])


def test_mrz_check_digits_are_valid(run):
    documents = list(_all_documents(run[1]))
    types = Counter(d["document_type"] for d in documents)
    assert types["PASSPORT"] > 100 and types["ID_CARD"] > 10
    for doc in documents:
        lines = doc["mrz_lines"]
        parsed, problems = check_mrz(lines, today=date(2026, 12, 1))
        assert problems == [], (lines, problems)
        assert parsed.document_number == doc["number"]
        if doc["document_type"] == "PASSPORT":  # TD3, recomputed here independently
            assert [len(x) for x in lines] == [44, 44]
            l2 = lines[1]
            assert l2[9] == _icao_digit(l2[0:9]) and l2[19] == _icao_digit(l2[13:19])
            assert l2[27] == _icao_digit(l2[21:27])
            assert l2[43] == _icao_digit(l2[0:10] + l2[13:20] + l2[21:43])
        else:  # TD1
            assert [len(x) for x in lines] == [30, 30, 30]
            l1, l2 = lines[0], lines[1]
            assert l1[14] == _icao_digit(l1[5:14])
            assert l2[29] == _icao_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])


def test_containers_vessels_and_phones_are_valid(run):
    containers, imos, mmsis, phones = set(), set(), set(), set()
    for kind, event in run[1]:
        conveyance = event.get("conveyance") or {}
        containers.update(conveyance.get("container_numbers") or [])
        if conveyance.get("vessel_imo"):
            imos.add(conveyance["vessel_imo"])
        if conveyance.get("vessel_mmsi"):
            mmsis.add(conveyance["vessel_mmsi"])
        people = [event["traveller"]] if kind == "crossings" else event.get("persons", [])
        phones.update(p for person in people for p in person["phone_numbers"])
        phones.update(event.get("phone_numbers", []))
    assert len(containers) > 20 and len(imos) > 10 and len(phones) > 500
    for number in containers:
        assert re.fullmatch(r"[A-Z]{3}U\d{7}", number) and iso6346.is_valid(number), number
    for number in imos:
        assert stdnum_imo.is_valid(number), number
    for number in mmsis:
        assert re.fullmatch(r"\d{9}", number) and 201 <= int(number[:3]) <= 775, number
    for number in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
        assert phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.E164) == number


def test_container_check_digit_helper():
    import random
    rng = random.Random(1)
    numbers = [container_number(rng) for _ in range(200)]
    assert all(iso6346.is_valid(n) for n in numbers)
    broken = numbers[0][:-1] + str((int(numbers[0][-1]) + 1) % 10)
    assert not iso6346.is_valid(broken)  # the check above can fail


# ---------------------------------------------------------------------------- people

def _scripts(text: str) -> set[str]:
    return {unicodedata.name(ch).split()[0] for ch in text if ch.isalpha()}


def test_names_in_many_scripts_with_latin_transliteration(run):
    travellers = [e["traveller"] for e in of_kind(run[1], "crossings")]
    scripts = set().union(*(_scripts(t["given_names"] + t["family_names"]) for t in travellers))
    assert {"LATIN", "CYRILLIC", "ARABIC", "CJK", "GREEK", "HANGUL"} <= scripts
    for t in travellers:
        latin = _scripts(t["given_names"] + t["family_names"]) <= {"LATIN"}
        if latin:
            assert t["names_latin"] is None
        else:
            assert re.fullmatch(r"[A-Z' -]+, [A-Za-z' -]+", t["names_latin"]), t
    # Latin-script names carry diacritics (Spanish, Polish, Turkish, Vietnamese...)
    assert any(c in t["family_names"] for t in travellers for c in "ñéáíóúłşğệễẫ")


def test_spanish_names_have_two_surnames_and_nationality_fits_the_culture(run):
    travellers = [e["traveller"] for e in of_kind(run[1], "crossings")]
    spanish = [t for t in travellers if t["nationality"] == "MX"]
    assert sum(len(t["family_names"].split()) >= 2 for t in spanish) / len(spanish) > 0.6
    cyrillic = [t for t in travellers if "CYRILLIC" in _scripts(t["family_names"])]
    slavic = set(CULTURES["russian"].countries) | set(CULTURES["ukrainian"].countries)
    assert sum(t["nationality"] in slavic for t in cyrillic) / len(cyrillic) > 0.75
    hangul = [t for t in travellers if "HANGUL" in _scripts(t["family_names"])]
    assert sum(t["nationality"] == "KR" for t in hangul) / len(hangul) > 0.75


def test_birth_dates_between_1950_and_2008(run):
    births = [e["traveller"]["date_of_birth"] for e in of_kind(run[1], "crossings")]
    births += [p["date_of_birth"] for e in of_kind(run[1], "seizures") for p in e["persons"]]
    assert min(births) >= "1950-01-01" and max(births) <= "2008-12-31"


# ---------------------------------------------------------------------------- seizures

def test_seizures_are_realistic(run):
    seizures = of_kind(run[1], "seizures")
    categories = Counter(e["category"] for e in seizures)
    assert categories.most_common(1)[0][0] == "NARCOTICS" and len(categories) >= 7
    for event in seizures:
        port = port_info(event["port_locode"])
        assert abs(event["location"]["lat"] - port.lat) < 0.1 and abs(event["location"]["lon"] - port.lon) < 0.1
        assert re.fullmatch(r"[A-Z]+-2026-\d{6}", event["case_reference"])
        mode = ("SEA" if event["conveyance"] and event["conveyance"]["vessel_name"] else
                "LAND" if event["conveyance"] and event["conveyance"]["vehicle_plate"] else None)
        for item in event["items"]:
            assert item["quantity"] > 0
            if item["substance"] == "cocaine" and mode == "SEA":
                assert 5 <= item["quantity"] <= 800
            if item["substance"] == "fentanyl" and item["unit"] == "KG" and mode == "LAND":
                assert 0.5 <= item["quantity"] <= 20
        unit = {"FIREARMS": "UNITS", "AMMUNITION": "ROUNDS", "SMUGGLED_PERSONS": "PERSONS",
                "TRAFFICKED_PERSONS": "PERSONS"}.get(event["category"])
        if unit:
            assert all(i["unit"] == unit for i in event["items"])
        if event["category"] in ("SMUGGLED_PERSONS", "TRAFFICKED_PERSONS"):
            assert len(event["persons"]) >= event["items"][0]["quantity"]
        if event["category"] == "FIREARMS":
            assert all(i["substance"] for i in event["items"])
        if event["category"] == "CURRENCY":
            assert event["items"][0]["estimated_value"]["currency"] in {"USD", "MXN", "EUR", "COP", "GBP", "CAD"}


# ---------------------------------------------------------------------------- biometrics

def test_biometrics_link_to_crossings_and_are_unit_vectors(run, by_id):
    captures = of_kind(run[1], "biometrics")
    modalities = Counter(c["template"]["modality"] for c in captures)
    assert set(modalities) == {"FACE", "FINGERPRINT", "IRIS"}
    for capture in captures:
        template = capture["template"]
        assert template["dimension"] == len(template["vector"]) == {"FACE": 512}.get(template["modality"], 256)
        assert math.isclose(float(np.linalg.norm(template["vector"])), 1.0, abs_tol=1e-4)
        assert 20 <= capture["quality"] <= 99
        kind, crossing = by_id[capture["crossing_event_id"]]
        assert kind == "crossings"
        assert capture["document"] == crossing["document"]
        assert capture["traveller_id"] == crossing["traveller"]["traveller_id"]


def test_same_person_matches_across_captures_and_strangers_do_not(run):
    by_person = defaultdict(list)
    for capture in of_kind(run[1], "biometrics"):
        if capture["traveller_id"]:
            by_person[(capture["traveller_id"], capture["template"]["modality"])].append(capture["template"]["vector"])
    repeated = [vectors for vectors in by_person.values() if len(vectors) >= 2]
    assert len(repeated) >= 5
    for vectors in repeated:
        assert cosine(vectors[0], vectors[1]) > 0.9
    faces = [v[0] for (_, modality), v in by_person.items() if modality == "FACE"][:40]
    strangers = [cosine(a, b) for a, b in itertools.combinations(faces, 2)]
    assert max(abs(s) for s in strangers) < 0.3


def test_template_noise_model():
    rng = np.random.default_rng(0)
    base = base_template(42, "FACE")
    worst = [capture_template(base, 20, rng) for _ in range(20)]
    assert min(cosine(a, b) for a, b in itertools.combinations(worst, 2)) > 0.9
    assert abs(cosine(base, base_template(43, "FACE"))) < 0.2


# ---------------------------------------------------------------------------- planted truth

def test_truth_references_events_that_exist(run, by_id):
    truth = run[2]
    assert truth["event_counts"] == dict(Counter(kind for kind, _ in run[1]))
    assert truth["expected_alerts"] and truth["should_not_alert"]
    for item in truth["items"]:
        for appearance in item["appearances"]:
            kind, _ = by_id[appearance["event_id"]]
            assert kind == appearance["event_kind"]
    reached = [i for i in truth["items"] if i["event_ids"]]
    assert len(reached) == len(truth["items"])  # one round of the plan fits in COUNT events
    kinds = {i["kind"] for i in truth["items"]}
    assert kinds == {"wanted_person", "lost_stolen_document", "vehicle", "vessel", "organisation", "phone", "namesake"}


def _documents_of(kind, event):
    docs = [event["document"]] if event.get("document") else []
    return docs + event.get("documents", [])


def _phones_of(kind, event):
    people = [event["traveller"]] if kind == "crossings" else event.get("persons", [])
    return {p for person in people for p in person["phone_numbers"]} | set(event.get("phone_numbers", []))


def test_planted_appearances_carry_what_the_truth_says(run, by_id):
    sim, _, truth = run
    entities = {e["id"]: e for e in sim.watchlist_entities()}
    for item in truth["items"]:
        entity = entities.get(item["entity_id"])
        for appearance in item["appearances"]:
            kind, event = by_id[appearance["event_id"]]
            via = appearance["matched_via"]
            listed_numbers = {entities[v]["properties"]["number"][0] for v in via if v in entities
                              and entities[v]["schema"] in ("Passport", "Identification")}
            numbers = {d["number"] for d in _documents_of(kind, event)}
            assert listed_numbers <= numbers, (item["item_id"], appearance)
            if item["kind"] == "vehicle":
                plate = normalize_plate(event["conveyance"]["vehicle_plate"])
                listed = entity["properties"]["registrationNumber"][0]
                assert sum(a != b for a, b in zip(plate, listed)) == (appearance["variant"] == "ocr_misread")
            if item["kind"] == "vessel":
                conveyance = event["conveyance"]
                assert conveyance["vessel_mmsi"] == entity["properties"]["mmsi"][0]
                if appearance["variant"] != "mmsi_only":
                    assert stdnum_imo.compact(conveyance["vessel_imo"]) == entity["properties"]["imoNumber"][0]
            if item["kind"] in ("phone", "organisation"):
                assert entity["properties"]["phone"][0] in _phones_of(kind, event)
            if item["kind"] == "lost_stolen_document":
                assert appearance["variant"] in {"impostor", "altered", "seized"}


def test_wanted_people_appear_with_name_variants(run, by_id):
    truth = run[2]
    variants = Counter(a["variant"] for i in truth["items"] if i["kind"] == "wanted_person" for a in i["appearances"])
    assert {"exact", "typo", "order_swapped", "translit", "other_document"} <= set(variants)
    for item in truth["items"]:
        if item["kind"] != "wanted_person":
            continue
        for appearance in item["appearances"]:
            if appearance["variant"] == "other_document":
                assert appearance["matched_via"] == [item["entity_id"]] or appearance["event_kind"] == "biometrics"


def test_namesakes_share_a_name_but_not_the_person(run, by_id):
    sim, _, truth = run
    entities = {e["id"]: e for e in sim.watchlist_entities()}
    assert len(truth["should_not_alert"]) >= 3
    for row in truth["should_not_alert"]:
        kind, event = by_id[row["event_id"]]
        if kind != "crossings":
            continue
        listed = entities[row["entity_id"]]["properties"]
        traveller = event["traveller"]
        full = {f"{traveller['given_names']} {traveller['family_names']}", traveller["family_names"] + traveller["given_names"],
                f"{traveller['family_names']} {traveller['given_names']}"}
        assert full & set(listed["name"])
        years = abs(int(traveller["date_of_birth"][:4]) - int(listed["birthDate"][0][:4]))
        assert years == 20
        assert traveller["nationality"].lower() not in listed["nationality"]


def test_planted_faces_match_their_watchlist_template(run, by_id):
    sim, _, truth = run
    checked = 0
    for item in truth["items"]:
        if item["kind"] != "wanted_person":
            continue
        for appearance in item["appearances"]:
            _, event = by_id[appearance["event_id"]]
            if appearance["event_kind"] == "biometrics" and event["template"]["modality"] == "FACE":
                assert cosine(event["template"]["vector"], sim.template_for(item["entity_id"])) > 0.9
                checked += 1
    assert checked >= 1


# ---------------------------------------------------------------------------- watchlist

def test_watchlist_is_valid_ftm_with_linked_documents(run):
    entities = run[0].watchlist_entities()
    ids = [e["id"] for e in entities]
    assert len(ids) == len(set(ids))
    schemata = Counter(e["schema"] for e in entities)
    assert {"Person", "Passport", "Vehicle", "Vessel", "Company", "LegalEntity"} <= set(schemata)
    by_id = {e["id"]: e for e in entities}
    for entity in entities:
        proxy = model.get_proxy(entity, cleaned=False)  # FtM validates and normalises every value
        assert proxy.schema.name == entity["schema"]
        for prop, values in entity["properties"].items():
            assert len(proxy.get(prop)) == len(values), (entity["id"], prop, values)
        if entity["schema"] in ("Passport", "Identification"):
            holder = entity["properties"]["holder"][0]
            summary = " ".join(entity["properties"].get("summary", []))
            assert (holder in by_id) != ("Reported" in summary)  # SLTD holders are not in the feed


def test_watchlist_reparses_into_entries_with_the_same_ids(run):
    entities = run[0].watchlist_entities()
    parsed = list(entries_from_ftm([json.dumps(e, ensure_ascii=False) for e in entities], "sim"))
    assert [p.error for p in parsed if p.error] == []
    entries = {p.entry["entry_id"]: p.entry for p in parsed}
    assert set(entries) == {e["id"] for e in entities}
    for entity in entities:
        entry, props = entries[entity["id"]], entity["properties"]
        if entity["schema"] == "Person":
            documents = {e["properties"]["number"][0] for e in entities
                         if e["schema"] in ("Passport", "Identification") and e["properties"]["holder"] == [entity["id"]]}
            assert documents <= {i["value"] for i in entry["identifiers"]}
            assert entry["action_on_hit"] == ("ARREST" if "wanted" in props["topics"] else "DETAIN")
        if entity["schema"] in ("Passport", "Identification") and "summary" in props:
            expected = "STOLEN" if "stolen" in props["summary"][0] else "LOST"
            assert (entry["document_status"], entry["action_on_hit"]) == (expected, "SEIZE_DOCUMENT")
        if entity["schema"] == "LegalEntity":
            assert entry["kind"] == "PHONE" and entry["identifiers"][0]["value"] == props["phone"][0]


# ---------------------------------------------------------------------------- dataset files

def test_write_dataset(tmp_path):
    summary = write_dataset(1200, tmp_path, seed=3, show_progress=False)
    lines = {kind: (tmp_path / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines() for kind in KINDS}
    assert sum(len(v) for v in lines.values()) == 1200
    assert summary["event_counts"] == {kind: len(v) for kind, v in lines.items()}
    ids = {json.loads(line)["event_id"] for v in lines.values() for line in v}
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["expected_alerts"]
    assert {row["event_id"] for row in truth["expected_alerts"] + truth["should_not_alert"]} <= ids
    watchlist = (tmp_path / "watchlist.ftm.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(watchlist) == summary["watchlist_entities"]
    assert [e["id"] for e in map(json.loads, watchlist)] == [e["id"] for e in Simulator(seed=3).watchlist_entities()]
