"""Retro-hunt without servers (services/correlate/retro_hunt.py): the entry -> Elasticsearch
query, the event document -> datum round trip, and the choice of the hunting worker."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from borderhub.avro import AvroCodec, SchemaCatalog, from_json
from borderhub.settings import get_settings
from services.correlate.matching.synthetic import base_entry
from services.correlate.retro_hunt import (
    KNN_MARGIN,
    birth_date_clauses,
    candidate_query,
    event_datum,
    hunt_partition,
    identifier_clauses,
    knn_clauses,
    name_clauses,
    ocr_variants,
    one_entry_matcher,
    searchable_templates,
)

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
SINCE = NOW - dt.timedelta(days=30)


@pytest.fixture(scope="module")
def codec():
    return AvroCodec(SchemaCatalog(get_settings().schemas_dir))


def clauses_of(query: dict, kind: str) -> list[dict]:
    return [c[kind] for c in query["bool"]["should"] if kind in c]


def name_queries(query: dict) -> set[str]:
    return {c["names"]["query"] for c in clauses_of(query, "match")}


# ---------------------------------------------------------------------------- query building

def test_person_entry_yields_name_and_birth_date_clauses_within_the_window():
    entry = base_entry("p1", "PERSON", names=["Виктор Сергеевич Петров"], aliases=["Petrov, Viktor"],
                       birth_dates=["1971-03-02"])
    query = candidate_query(entry, SINCE)
    assert query["bool"]["filter"] == [{"range": {"@timestamp": {"gte": "2026-10-24T10:00:00.000Z"}}}]
    assert query["bool"]["minimum_should_match"] == 1
    names = name_queries(query)
    # as written (same-script events), and the Latin forms the matcher compares
    assert "Виктор Сергеевич Петров" in names
    assert "viktor sergeevich petrov" in names and "petrov viktor" in names
    for match in clauses_of(query, "match"):
        assert match["names"]["fuzziness"] == "AUTO" and match["names"]["minimum_should_match"] == 2
    terms = clauses_of(query, "terms")
    # the date as listed and with day and month swapped, for travellers and seized persons
    assert {"traveller.date_of_birth": ["1971-03-02", "1971-02-03"]} in terms
    assert {"persons.date_of_birth": ["1971-03-02", "1971-02-03"]} in terms
    assert identifier_clauses(entry) == [] and knn_clauses(entry, SINCE) == []


def test_accented_latin_names_query_the_folded_and_icao_spellings():
    names = {c["match"]["names"]["query"] for c in name_clauses(base_entry("p", "PERSON", names=["Jürgen Müller"]))}
    assert {"jurgen muller", "juergen mueller"} <= names


def test_single_token_name_needs_one_token_and_year_only_birth_date_is_not_a_clause():
    entry = base_entry("p2", "PERSON", names=["Madonna"], birth_dates=["1958", "1990-13-40"])
    (clause,) = name_clauses(entry)
    assert clause["match"]["names"]["minimum_should_match"] == 1
    assert birth_date_clauses(entry) == []  # a year alone would fetch a large share of all travellers


def test_document_entry_yields_the_number_terms_with_ocr_variants():
    entry = base_entry("d1", "DOCUMENT", names=["Ana Ruiz"], document_status="STOLEN",
                       identifiers=[{"scheme": "PASSPORT", "value": "zx-1o5 7", "country": "ES"}])
    query = candidate_query(entry, SINCE)
    numbers = {c["document_numbers"]["value"] for c in clauses_of(query, "term") if "document_numbers" in c}
    assert {"ZX1O57", "ZXIO57", "ZX1057", "ZX1OS7", "zx-1o5 7"} <= numbers
    assert all(c["document_numbers"]["case_insensitive"] for c in clauses_of(query, "term") if "document_numbers" in c)
    keys = {c["entities"]["value"] for c in clauses_of(query, "wildcard")}
    assert "doc:*:ZX1O57" in keys and "doc:*:ZX1057" in keys
    assert name_queries(query) == set()  # a document's holder is no blocking key of the live index


def test_ocr_variants_are_one_confusion_away():
    assert ocr_variants("AB8") == ["AB8", "A88", "ABB"]
    assert ocr_variants("XYZ") == ["XYZ"]


def test_vehicle_vessel_and_phone_entries_yield_their_identifier_terms():
    vehicle = base_entry("v", "VEHICLE", identifiers=[{"scheme": "VEHICLE_PLATE", "value": "ab-123 cd", "country": "FR"},
                                                      {"scheme": "VIN", "value": "1hgcm82633a004352", "country": None}])
    clauses = identifier_clauses(vehicle)
    assert {"term": {"plates": {"value": "AB123CD", "case_insensitive": True}}} in clauses
    assert {"wildcard": {"entities": {"value": "vehicle:*:AB123CD"}}} in clauses
    assert {"term": {"conveyance.vehicle_vin": {"value": "1HGCM82633A004352", "case_insensitive": True}}} in clauses
    vessel = base_entry("s", "VESSEL", names=["MV Ocean Star"],
                        identifiers=[{"scheme": "IMO", "value": "IMO 9074729", "country": None},
                                     {"scheme": "MMSI", "value": "538 001 234", "country": None}])
    clauses = identifier_clauses(vessel)
    assert {"term": {"entities": "vessel:imo:9074729"}} in clauses
    assert {"term": {"conveyance.vessel_mmsi": "538001234"}} in clauses
    phone = base_entry("t", "PHONE", identifiers=[{"scheme": "PHONE", "value": "+44 7700 900123", "country": "GB"}])
    (clause,) = identifier_clauses(phone)
    assert clause["terms"]["phones"][0] == "+447700900123"  # E.164, as the indexer stores phones


def test_biometric_template_yields_a_knn_clause_on_its_modality_field():
    rng = np.random.default_rng(3)
    face = {"modality": "FACE", "algorithm": "arcface", "algorithm_version": "2.1", "dimension": 512,
            "vector": rng.normal(size=512).tolist()}
    odd = {"modality": "FACE", "algorithm": "tiny", "algorithm_version": "1", "dimension": 128,
           "vector": rng.normal(size=128).tolist()}
    entry = base_entry("b", "PERSON", names=["Unknown Courier"], biometric_templates=[face, odd])
    assert searchable_templates(entry) == ([face], [odd])  # 128-d faces have no vector field
    (knn,) = knn_clauses(entry, SINCE, {"FACE": 0.7})
    knn = knn["knn"]
    assert knn["field"] == "template.face_vector" and len(knn["query_vector"]) == 512
    assert knn["similarity"] == pytest.approx(0.7 - KNN_MARGIN)
    assert {"term": {"template.algorithm": "arcface"}} in knn["filter"]
    assert {"term": {"template.algorithm_version": "2.1"}} in knn["filter"]
    assert {"range": {"@timestamp": {"gte": "2026-10-24T10:00:00.000Z"}}} in knn["filter"]
    assert clauses_of(candidate_query(entry, SINCE), "knn")


def test_entry_without_anything_to_look_for_has_no_query():
    entry = base_entry("o", "ORGANISATION", names=["Acme Trading LLC"],
                       identifiers=[{"scheme": "REGISTRATION_NUMBER", "value": "123", "country": "CY"}])
    assert candidate_query(entry, SINCE) is None


# ---------------------------------------------------------------------------- document -> datum

def as_hit(kind: str, datum: dict) -> dict:
    """What a search hit carries for an event the indexer wrote: _source without the vectors,
    which come back as doc values."""
    from services.search_api.indices import event_document
    _, doc_id, doc = event_document(kind, datum, now=NOW)
    template = doc.get("template") or {}
    fields = {f"template.{k}": [v] for k, v in template.items() if k.endswith("_vector")}
    source = {**doc, "template": {k: v for k, v in template.items() if not k.endswith("_vector")}} if template else doc
    return {"_id": doc_id, "_source": source, "fields": fields}


def simulated(codec, kind: str, count: int = 5) -> list[dict]:
    from services.ingest.simulate import Simulator
    events = getattr(Simulator(seed=11, start=NOW), kind)()
    return [from_json(codec.catalog.get(kind), e)[0] for e in itertools.islice(events, count)]


@pytest.mark.parametrize("kind", ["crossings", "seizures", "biometrics"])
def test_indexed_document_reads_back_as_the_event(codec, kind):
    for datum in simulated(codec, kind):
        found = event_datum(codec.catalog, as_hit(kind, datum))
        assert found is not None
        back_kind, back = found
        assert back_kind == kind
        if kind == "biometrics":  # float32 through the index
            assert np.allclose(back["template"]["vector"], datum["template"]["vector"], atol=1e-6)
            back["template"]["vector"] = datum["template"]["vector"]
        assert back == datum


def test_read_back_event_scores_as_the_original(codec):
    datum = simulated(codec, "crossings", 1)[0]
    t = datum["traveller"]
    entry = base_entry("p", "PERSON", names=[f"{t['given_names']} {t['family_names']}"],
                       birth_dates=[t["date_of_birth"].isoformat()] if t.get("date_of_birth") else [])
    one = one_entry_matcher(None, entry)
    _, back = event_datum(codec.catalog, as_hit("crossings", datum))
    assert one.match_event("crossings", back) == one.match_event("crossings", datum) != []


def test_unknown_fields_of_a_newer_schema_are_dropped(codec):
    datum = simulated(codec, "crossings", 1)[0]
    hit = as_hit("crossings", datum)
    hit["_source"]["traveller"]["eye_colour"] = "green"
    assert event_datum(codec.catalog, hit)[1] == datum
    hit["_source"]["kind"] = "telegram"
    assert event_datum(codec.catalog, hit) is None


# ---------------------------------------------------------------------------- who hunts

def test_one_deterministic_hunting_partition_per_entry():
    from aiokafka.partitioner import DefaultPartitioner
    ids = [f"entry-{i}" for i in range(600)]
    parts = [hunt_partition(i, 6) for i in ids]
    assert set(parts) == set(range(6))
    assert parts == [hunt_partition(i, 6) for i in ids]
    # the partition Kafka would give the entry id as a key: the same rule on every worker
    assert parts[:50] == [DefaultPartitioner()(i.encode(), list(range(6)), list(range(6))) for i in ids[:50]]


def test_one_entry_matcher_keeps_the_live_thresholds():
    from services.correlate.matching.engine import Matcher
    live = Matcher(default_threshold=0.8, list_thresholds={"x": 0.9}, biometric_thresholds={"FACE": 0.5})
    one = one_entry_matcher(live, base_entry("p", "PERSON", names=["Ivan Petrov"]))
    assert len(one) == 1 and one.thresholds.default == 0.8 and one.thresholds.for_list("x") == 0.9
    assert one.gallery.threshold("FACE") == 0.5
