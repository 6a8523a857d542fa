"""Scoring of one entry for one subject: persons, documents, vehicles, vessels, phones,
organisations, and the explanation (services/correlate/matching/scoring.py)."""

from datetime import date

import pytest

from services.correlate.matching.scoring import (
    DEFAULT_THRESHOLD,
    Thresholds,
    compare_birth_dates,
    make_subject,
    prepare_entry,
    score_entry,
)
from services.correlate.matching.synthetic import base_entry

PETROV = prepare_entry(base_entry("p1", "PERSON", names=["Иван Сергеевич Петров"], aliases=["Ivan Petrov"],
                                  birth_dates=["1975-03-12"], nationalities=["RU"], sex="M"))


def traveller(name="PETROV, IVAN", born="1975-03-12", nationality="RU", sex="M", **kw):
    return make_subject("traveller", names=[name], birth_dates=[born], nationalities=[nationality], sex=sex, **kw)


def features(explanation):
    return {f["feature"]: f for f in explanation}


@pytest.mark.parametrize("born,listed,weight", [
    ("1975-03-12", (1975, 3, 12), 0.15),  # exact
    ("1975-03-12", (1975, 0, 0), 0.07),  # the entry knows the year only
    ("1975-03-12", (1975, 3, 0), 0.10),  # year and month
    ("1975-03-12", (1975, 12, 3), 0.10),  # day and month swapped
    ("1975-03-12", (1976, 3, 12), 0.06),  # year off by one
    ("1975-03-12", (1975, 5, 20), -0.10),  # same year, another day
    ("1975-03-12", (1977, 3, 12), -0.25),  # two years apart
    ("1975-03-12", (1995, 3, 12), -0.40),  # a namesake twenty years younger
])
def test_birth_date_variants(born, listed, weight):
    found = compare_birth_dates(date.fromisoformat(born), [listed])
    assert found[0] == pytest.approx(weight)


def test_full_match_scores_high_with_evidence():
    score, explanation = score_entry(PETROV, traveller())
    assert score >= 0.95
    f = features(explanation)
    assert set(f) == {"name_similarity", "birth_date", "nationality", "sex"}
    assert f["birth_date"]["weight"] > 0 and f["nationality"]["weight"] > 0


def test_explanation_records_sum_to_the_score():
    score, explanation = score_entry(PETROV, traveller(name="PETROV, IVAM", born="1975-12-03"))
    assert all(set(f) == {"feature", "weight", "detail"} for f in explanation)
    assert all(isinstance(f["detail"], str) and f["detail"] for f in explanation)
    assert score == pytest.approx(sum(f["weight"] for f in explanation), abs=1e-3)
    assert "swapped" in features(explanation)["birth_date"]["detail"]
    assert "ivam~ivan" in features(explanation)["name_similarity"]["detail"]


def test_namesake_born_twenty_years_apart_is_no_alert():
    score, explanation = score_entry(PETROV, traveller(born="1995-06-01"))
    assert score < DEFAULT_THRESHOLD
    assert features(explanation)["birth_date"]["weight"] < 0


def test_bare_exact_name_is_an_alert_and_a_sex_conflict_is_not():
    bare = prepare_entry(base_entry("p2", "PERSON", names=["Ivan Petrov"]))
    assert score_entry(bare, traveller())[0] >= DEFAULT_THRESHOLD
    female = prepare_entry(base_entry("p3", "PERSON", names=["Ivan Petrov"], sex="F"))
    assert score_entry(female, traveller())[0] < DEFAULT_THRESHOLD


def test_shared_surname_is_no_alert():
    assert score_entry(PETROV, traveller(name="PETROV, SERGEI"))[0] < DEFAULT_THRESHOLD


STOLEN = prepare_entry(base_entry(
    "d1", "DOCUMENT", names=["Anna Schmidt"], document_status="STOLEN",
    identifiers=[{"scheme": "PASSPORT", "value": "C01X00T47", "country": "DE"}]))


def test_stolen_document_is_a_hit_whoever_carries_it():
    carrier = traveller(name="DOE, JOHN", nationality="GB", documents=[("C01X00T47", "DE")])
    score, explanation = score_entry(STOLEN, carrier)
    assert score >= 0.95
    f = features(explanation)
    assert f["document_status"]["weight"] > 0
    assert f["document_holder"]["weight"] == 0.0 and "Anna Schmidt" in f["document_holder"]["detail"]


def test_one_ocr_confusion_scores_lower_two_do_not_match():
    exact = score_entry(STOLEN, traveller(documents=[("C01X00T47", "DE")]))[0]
    one = score_entry(STOLEN, traveller(documents=[("CO1X00T47", "DE")]))  # 0 read as O
    assert DEFAULT_THRESHOLD <= one[0] < exact
    assert "one OCR confusion" in features(one[1])["document_number"]["detail"]
    assert score_entry(STOLEN, traveller(documents=[("COIX00T47", "DE")]))[1] == []  # two confusions
    assert score_entry(STOLEN, traveller(documents=[("C01X00T48", "DE")]))[1] == []  # not an OCR confusion


def test_document_of_another_country_is_no_alert():
    assert score_entry(STOLEN, traveller(documents=[("C01X00T47", "FR")]))[0] < DEFAULT_THRESHOLD


def test_listed_persons_passport_presented_by_someone_else():
    wanted = prepare_entry(base_entry("p4", "PERSON", names=["Ivan Petrov"], identifiers=[
        {"scheme": "PASSPORT", "value": "752341987", "country": "RU"}]))
    score, explanation = score_entry(wanted, traveller(name="SMITH, JOHN", documents=[("752341987", "RU")]))
    assert score >= DEFAULT_THRESHOLD
    assert features(explanation)["name_similarity"]["weight"] == 0.0


def test_vehicle_plate_and_country():
    car = prepare_entry(base_entry("v1", "VEHICLE", identifiers=[
        {"scheme": "VEHICLE_PLATE", "value": "AB-123-CD", "country": "FR"}]))
    assert score_entry(car, make_subject("c", plates=[("ab 123 cd", "FR")]))[0] >= 0.95
    assert score_entry(car, make_subject("c", plates=[("AB123CD", None)]))[0] >= DEFAULT_THRESHOLD
    assert score_entry(car, make_subject("c", plates=[("AB123CD", "BE")]))[0] < DEFAULT_THRESHOLD
    assert score_entry(car, make_subject("c", plates=[("AB124CD", "FR")]))[1] == []


def test_vessel_by_imo_or_mmsi():
    ship = prepare_entry(base_entry("s1", "VESSEL", names=["MV Ocean Star"], identifiers=[
        {"scheme": "IMO", "value": "9074729", "country": None},
        {"scheme": "MMSI", "value": "636012345", "country": None}]))
    assert score_entry(ship, make_subject("c", imos=["IMO 9074729"]))[0] == 1.0
    score, explanation = score_entry(ship, make_subject("c", mmsis=["636012345"], vessel_names=["Ocean Star"]))
    assert score >= DEFAULT_THRESHOLD and {"mmsi", "vessel_name"} <= set(features(explanation))
    assert score_entry(ship, make_subject("c", imos=["9074730"]))[1] == []


def test_phone_by_e164():
    phone = prepare_entry(base_entry("t1", "PHONE", identifiers=[{"scheme": "PHONE", "value": "+44 7700 900123",
                                                                  "country": None}]))
    assert score_entry(phone, make_subject("c", phones=["+447700900123"]))[0] >= 0.9
    assert score_entry(phone, make_subject("c", phones=["+447700900124"]))[1] == []


def test_organisation_by_name_and_jurisdiction():
    org = prepare_entry(base_entry("o1", "ORGANISATION", names=["Golden Crescent Trading LLC"], nationalities=["AE"]))
    query = make_subject("q", names=["GOLDEN CRESCENT TRADING LIMITED"], organisation=True, nationalities=["AE"])
    score, explanation = score_entry(org, query)
    assert score >= 0.9 and features(explanation)["jurisdiction"]["weight"] > 0
    other = make_subject("q", names=["Silver Crescent Shipping"], organisation=True)
    assert score_entry(org, other)[0] < DEFAULT_THRESHOLD


def test_thresholds_per_list():
    thresholds = Thresholds(0.75, {"interpol-sltd": 0.9})
    assert thresholds.for_list("interpol-sltd") == 0.9
    assert thresholds.for_list("national-wanted") == 0.75
    assert thresholds.lowest == 0.75


def test_entry_round_trip():
    entry = base_entry("p5", "PERSON", names=["A B"], valid_until=1_900_000_000_000)
    back = prepare_entry(entry).to_entry()
    assert back["valid_until"].timestamp() == 1_900_000_000
    assert {k: v for k, v in back.items() if k not in ("valid_until", "updated_at")} == \
        {k: v for k, v in entry.items() if k not in ("valid_until", "updated_at")}


def test_round_score_is_pythons_round_to_four_places():
    import random

    from services.correlate.matching.alignment import round_score

    rng = random.Random(4)
    values = [rng.random() for _ in range(200_000)] + [k / 20_000 for k in range(20_001)]
    values += [v + d for v in values[-20_001:] for d in (1e-17, -1e-17) if 0.0 <= v + d <= 1.0]  # at ties
    assert all(round_score(v) == round(v, 4) for v in values)
