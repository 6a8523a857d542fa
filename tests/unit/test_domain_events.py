import copy
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from borderhub.domain.events import (
    CHECKS,
    MAX_CLOCK_SKEW,
    canonicalise_event,
    check_biometric,
    check_crossing,
    check_seizure,
    check_watchlist_entry,
    vector_problem,
)
from borderhub.domain.mrz import make_td3

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _mrz(**overrides):
    args = dict(
        document_number="G12345678",
        issuing_state="MX",
        nationality="MX",
        family_names="García Núñez",
        given_names="José Luis",
        birth_date=date(1984, 3, 9),
        sex="M",
        expiry_date=date(2030, 3, 8),
    )
    return make_td3(**(args | overrides))


def traveller(**kw):
    return {
        "traveller_id": "t-1",
        "given_names": "José Luis",
        "family_names": "García Núñez",
        "names_latin": None,
        "date_of_birth": date(1984, 3, 9),
        "sex": "M",
        "nationality": "MX",
        "phone_numbers": ["+525512345678"],
    } | kw


def document(**kw):
    return {
        "document_type": "PASSPORT",
        "number": "G12345678",
        "issuing_country": "MX",
        "expiry_date": date(2030, 3, 8),
        "mrz_lines": _mrz(),
    } | kw


def conveyance(**kw):
    return {
        "vehicle_plate": "ABC1234",
        "vehicle_country": "MX",
        "vehicle_vin": None,
        "vessel_name": None,
        "vessel_imo": None,
        "vessel_mmsi": None,
        "flight_number": None,
        "container_numbers": [],
    } | kw


def crossing(**kw):
    return {
        "event_id": "6f1c2c3e-0000-4000-8000-000000000001",
        "occurred_at": NOW - timedelta(minutes=3),
        "port_locode": "USSYO",
        "lane": "7",
        "direction": "ENTRY",
        "mode": "LAND",
        "traveller": traveller(),
        "document": document(),
        "conveyance": conveyance(),
        "travel_group_id": None,
        "declared_currency": [{"amount": Decimal("9500.00"), "currency": "USD"}],
        "source_system": "cbp-sim",
    } | kw


def seizure(**kw):
    return {
        "event_id": "6f1c2c3e-0000-4000-8000-000000000002",
        "occurred_at": NOW - timedelta(hours=2),
        "port_locode": "NLRTM",
        "location": {"lat": 51.95, "lon": 4.05},
        "category": "NARCOTICS",
        "items": [
            {
                "description": "bricks",
                "substance": "cocaine",
                "quantity": 120.5,
                "unit": "KG",
                "estimated_value": {"amount": Decimal("3500000.00"), "currency": "EUR"},
            }
        ],
        "detection_method": "NON_INTRUSIVE_INSPECTION",
        "concealment": "reefer cargo",
        "conveyance": conveyance(
            vehicle_plate=None,
            vehicle_country=None,
            vessel_name="MSC Example",
            vessel_imo="IMO 9319466",
            vessel_mmsi="636012345",
            container_numbers=["CSQU3054383", "TASU1170000"],
        ),
        "persons": [traveller()],
        "documents": [document()],
        "phone_numbers": ["+31201234567"],
        "case_reference": "NL-2025-001",
        "source_system": "nl-customs",
    } | kw


def template(**kw):
    return {
        "modality": "FACE",
        "algorithm": "arcface",
        "algorithm_version": "1.0",
        "dimension": 4,
        "vector": [0.1, -0.2, 0.3, 0.4],
    } | kw


def biometric(**kw):
    return {
        "event_id": "6f1c2c3e-0000-4000-8000-000000000003",
        "captured_at": NOW - timedelta(seconds=30),
        "port_locode": "USMIA",
        "template": template(),
        "quality": 87,
        "document": document(),
        "traveller_id": "t-1",
        "crossing_event_id": None,
        "source_system": "mia-egates",
    } | kw


def found(problems):
    return {(p.path, p.code) for p in problems}


def test_checks_registry():
    assert CHECKS == {"crossings": check_crossing, "seizures": check_seizure, "biometrics": check_biometric}


@pytest.mark.parametrize(
    "kind, event", [("crossings", crossing()), ("seizures", seizure()), ("biometrics", biometric())]
)
def test_valid_events_pass(kind, event):
    assert CHECKS[kind](event, now=NOW) == []


def test_expired_document_is_not_a_problem():
    lines = _mrz(expiry_date=date(2020, 1, 1))
    event = crossing(document=document(expiry_date=date(2020, 1, 1), mrz_lines=lines))
    assert check_crossing(event, now=NOW) == []


def test_now_defaults_to_the_clock():
    assert check_crossing(crossing(occurred_at=datetime.now(UTC))) == []


CROSSING_FAULTS = [
    (dict(occurred_at=NOW + MAX_CLOCK_SKEW + timedelta(seconds=1)), "occurred_at", "timestamp_future"),
    (dict(occurred_at=NOW - timedelta(days=3660)), "occurred_at", "timestamp_too_old"),
    (dict(port_locode="MXQQQ"), "port_locode", "locode_unknown"),
    (dict(port_locode="usmia"), "port_locode", "locode_format"),
    (dict(traveller=traveller(nationality="MEX")), "traveller.nationality", "country_unknown"),
    (dict(traveller=traveller(date_of_birth=date(2025, 6, 2))), "traveller.date_of_birth", "date_implausible"),
    (
        dict(traveller=traveller(phone_numbers=["+525512345678", "5512345678"])),
        "traveller.phone_numbers.1",
        "phone_invalid",
    ),
    (dict(document=document(issuing_country="QQ")), "document.issuing_country", "country_unknown"),
    (dict(document=document(number="G12345679")), "document.number", "mrz_mismatch"),
    (
        dict(
            document=document(
                mrz_lines=[_mrz()[0], _mrz()[1][:27] + str((int(_mrz()[1][27]) + 1) % 10) + _mrz()[1][28:]]
            )
        ),
        "document.mrz_lines.1",
        "mrz_check_digit",
    ),
    (dict(document=document(mrz_lines=_mrz()[:1])), "document.mrz_lines", "mrz_format"),
    (dict(traveller=traveller(family_names="Garza Núñez")), "traveller.family_names", "mrz_mismatch"),
    (dict(conveyance=conveyance(vehicle_country="MEX")), "conveyance.vehicle_country", "country_unknown"),
    (dict(conveyance=conveyance(flight_number="AM12345")), "conveyance.flight_number", "flight_number_invalid"),
    (
        dict(
            declared_currency=[
                {"amount": Decimal("1.00"), "currency": "USD"},
                {"amount": Decimal("5.00"), "currency": "MXP"},
            ]
        ),
        "declared_currency.1.currency",
        "currency_unknown",
    ),
    (
        dict(declared_currency=[{"amount": Decimal("-1.00"), "currency": "USD"}]),
        "declared_currency.0.amount",
        "value_range",
    ),
    (
        dict(declared_currency=[{"amount": Decimal("NaN"), "currency": "USD"}]),
        "declared_currency.0.amount",
        "value_range",
    ),
]


@pytest.mark.parametrize("change, path, code", CROSSING_FAULTS)
def test_crossing_faults(change, path, code):
    assert (path, code) in found(check_crossing(crossing(**change), now=NOW))


def test_age_limit_is_130():
    event = crossing(traveller=traveller(date_of_birth=date(1895, 6, 1)), document=document(mrz_lines=[]))
    assert found(check_crossing(event, now=NOW)) == {("traveller.date_of_birth", "date_implausible")}
    event["traveller"]["date_of_birth"] = date(1895, 6, 2)  # a day short of 130
    assert check_crossing(event, now=NOW) == []


def test_expiry_before_birth():
    event = crossing(document=document(expiry_date=date(1980, 1, 1), mrz_lines=[]))
    assert found(check_crossing(event, now=NOW)) == {("document.expiry_date", "date_implausible")}


def test_birth_date_is_judged_at_the_event_date():
    # Born after the event but before "now": the event cannot be right.
    event = crossing(
        occurred_at=datetime(2020, 1, 1, tzinfo=UTC),
        traveller=traveller(date_of_birth=date(2021, 1, 1)),
        document=document(mrz_lines=[]),
    )
    assert ("traveller.date_of_birth", "date_implausible") in found(check_crossing(event, now=NOW))


def test_all_crossing_faults_reported_together():
    event = crossing(
        port_locode="ZZABC",
        traveller=traveller(nationality="QQ", sex="F", phone_numbers=["+1"]),
        document=document(number="G00000000"),
        conveyance=conveyance(vessel_imo="9319467", vessel_mmsi="123456789", container_numbers=["CSQU3054384"]),
        declared_currency=[{"amount": Decimal("-5"), "currency": "usd"}],
    )
    assert found(check_crossing(event, now=NOW)) == {
        ("port_locode", "country_unknown"),
        ("traveller.nationality", "country_unknown"),
        ("traveller.phone_numbers.0", "phone_invalid"),
        ("traveller.sex", "mrz_mismatch"),
        ("document.number", "mrz_mismatch"),
        ("conveyance.vessel_imo", "imo_check_digit"),
        ("conveyance.vessel_mmsi", "mmsi_invalid"),
        ("conveyance.container_numbers.0", "iso6346_check_digit"),
        ("declared_currency.0.currency", "currency_unknown"),
        ("declared_currency.0.amount", "value_range"),
    }


SEIZURE_FAULTS = [
    (lambda d: d["location"].update(lat=91.0), "location.lat", "value_range"),
    (lambda d: d["location"].update(lon=-180.5), "location.lon", "value_range"),
    (lambda d: d["items"][0].update(quantity=0.0), "items.0.quantity", "value_range"),
    (lambda d: d["items"][0].update(quantity=math.inf), "items.0.quantity", "value_range"),
    (
        lambda d: d["items"][0]["estimated_value"].update(currency="EURO"),
        "items.0.estimated_value.currency",
        "currency_unknown",
    ),
    (
        lambda d: d["conveyance"].update(container_numbers=["CSQU3054383", "TASU1170001"]),
        "conveyance.container_numbers.1",
        "iso6346_check_digit",
    ),
    (lambda d: d["conveyance"].update(vessel_mmsi="003661234"), "conveyance.vessel_mmsi", "mmsi_invalid"),
    (lambda d: d["persons"][0].update(date_of_birth=date(2030, 1, 1)), "persons.0.date_of_birth", "date_implausible"),
    (lambda d: d["documents"][0].update(issuing_country="GT"), "documents.0.issuing_country", "mrz_mismatch"),
    (lambda d: d.update(phone_numbers=["+31201234567", "+3120"]), "phone_numbers.1", "phone_invalid"),
]


@pytest.mark.parametrize("mutate, path, code", SEIZURE_FAULTS)
def test_seizure_faults(mutate, path, code):
    event = seizure()
    mutate(event)
    assert found(check_seizure(event, now=NOW)) == {(path, code)}


def test_all_seizure_faults_reported_together():
    event = seizure()
    for mutate, _, _ in SEIZURE_FAULTS[::2]:
        mutate(event)
    assert found(check_seizure(event, now=NOW)) == {(path, code) for _, path, code in SEIZURE_FAULTS[::2]}


BIOMETRIC_FAULTS = [
    (dict(template=template(dimension=5)), {("template.vector", "vector_dimension")}),
    (dict(template=template(dimension=0, vector=[])), {("template.dimension", "value_range")}),
    (dict(template=template(dimension=4097, vector=[0.5] * 4097)), {("template.dimension", "value_range")}),
    (dict(template=template(vector=[0.1, math.nan, math.inf, 0.4])), {("template.vector", "value_range")}),
    (dict(template=template(vector=[0.0, 0.0, 0.0, 0.0])), {("template.vector", "vector_zero_norm")}),
    (dict(template=template(vector=[1e-30, -1e-30, 0.0, 1e-30])), {("template.vector", "vector_zero_norm")}),
    (dict(template=template(vector=[1e20, 0.0, 0.0, 1.0])), {("template.vector", "vector_norm_range")}),
    (dict(quality=101), {("quality", "value_range")}),
    (dict(quality=-1), {("quality", "value_range")}),
    (dict(captured_at=NOW + timedelta(hours=1)), {("captured_at", "timestamp_future")}),
    (dict(port_locode="US MIA"), {("port_locode", "locode_format")}),
    (
        dict(document=document(mrz_lines=[_mrz()[0], "X" + _mrz()[1][1:]])),
        {("document.mrz_lines.1", "mrz_check_digit"), ("document.number", "mrz_mismatch")},
    ),
]


@pytest.mark.parametrize("change, expected", BIOMETRIC_FAULTS)
def test_biometric_faults(change, expected):
    assert found(check_biometric(biometric(**change), now=NOW)) == expected


def test_vector_problem_says_why_a_template_cannot_be_compared():
    assert vector_problem([0.1, -0.2, 0.3, 0.4]) is None
    assert vector_problem([]) is None  # the dimension check reports an empty vector
    assert vector_problem([2e-19, 0.0]) is None  # tiny, but float32 still sees a length
    assert vector_problem([1e19, 1e19]) is None
    code, message = vector_problem([0.0] * 512)
    assert code == "vector_zero_norm" and "zero length" in message and "cosine" in message
    assert vector_problem([1e-20] * 4)[0] == "vector_zero_norm"  # squares underflow float32
    assert vector_problem([1e20, 1.0])[0] == "vector_norm_range"
    assert vector_problem([0.0, math.nan, 0.0]) == ("value_range", "1 elements are not finite numbers (first at index 1)")
    assert vector_problem([math.inf])[0] == "value_range"  # not a length problem as well


def test_zero_template_is_reported_once_with_its_path():
    problems = check_biometric(biometric(template=template(vector=[0.0] * 4)), now=NOW)
    assert [(p.path, p.code) for p in problems] == [("template.vector", "vector_zero_norm")]
    entry = watchlist_entry(biometric_templates=[template(), template(vector=[0.0] * 4)])
    assert found(check_watchlist_entry(entry, now=NOW)) == {("biometric_templates.1.vector", "vector_zero_norm")}


def test_largest_template_passes():
    assert check_biometric(biometric(template=template(dimension=4096, vector=[0.5] * 4096)), now=NOW) == []


def watchlist_entry(**kw):
    return {
        "entry_id": "NK-1",
        "kind": "PERSON",
        "names": ["José Luis García Núñez"],
        "aliases": [],
        "identifiers": [
            {"scheme": "PASSPORT", "value": "G12345678", "country": "MX"},
            {"scheme": "PHONE", "value": "+525512345678", "country": None},
        ],
        "birth_dates": ["1984-03-09", "1984"],
        "nationalities": ["MX"],
        "sex": "M",
        "document_status": "UNKNOWN",
        "biometric_templates": [template()],
        "topics": ["wanted"],
        "reason": "drug trafficking",
        "action_on_hit": "ARREST",
        "valid_from": None,
        "valid_until": None,
        "source_list": "national-wanted",
        "updated_at": NOW - timedelta(days=4000),
    } | kw


def test_watchlist_entry():
    assert check_watchlist_entry(watchlist_entry(), now=NOW) == []
    bad = watchlist_entry(
        identifiers=[
            {"scheme": "IMO", "value": "9319467", "country": "PAN"},
            {"scheme": "MMSI", "value": "12", "country": None},
        ],
        birth_dates=["1984-13", "2090", "1984-02-30"],
        nationalities=["MX", "XXA", "Mexico"],
        biometric_templates=[template(dimension=3)],
        valid_from=NOW,
        valid_until=NOW - timedelta(days=1),
        updated_at=NOW + timedelta(days=1),
    )
    assert found(check_watchlist_entry(bad, now=NOW)) == {
        ("identifiers.0.country", "country_unknown"),
        ("identifiers.0.value", "imo_check_digit"),
        ("identifiers.1.value", "mmsi_invalid"),
        ("birth_dates.0", "date_format"),
        ("birth_dates.1", "date_implausible"),
        ("birth_dates.2", "date_format"),
        ("nationalities.2", "country_unknown"),
        ("biometric_templates.0.vector", "vector_dimension"),
        ("valid_until", "value_range"),
        ("updated_at", "timestamp_future"),
    }


# --- canonical forms ---------------------------------------------------------------------------


def test_canonicalise_crossing_maps_codes_and_does_not_mutate():
    raw = crossing(
        port_locode=" us syo ",
        traveller=traveller(nationality="MEX", phone_numbers=["+52 55 1234 5678", "55 1234 5678"]),
        document=document(issuing_country="mex", number="g1234 5678"),
        conveyance=conveyance(
            vehicle_plate="abc-1234", vehicle_country="MEX", container_numbers=["csqu 305438 3"], flight_number="am 12"
        ),
        declared_currency=[{"amount": Decimal("1.00"), "currency": "usd"}],
    )
    before = copy.deepcopy(raw)
    out = canonicalise_event("crossings", raw)
    assert raw == before
    assert out["port_locode"] == "USSYO"
    assert out["traveller"]["nationality"] == "MX"
    assert out["traveller"]["phone_numbers"] == [
        "+525512345678",
        "55 1234 5678",
    ]  # a national number is left for the check
    assert (out["document"]["issuing_country"], out["document"]["number"]) == ("MX", "G12345678")
    assert out["conveyance"]["vehicle_plate"] == "ABC-1234"
    assert out["conveyance"]["vehicle_country"] == "MX"
    assert out["conveyance"]["container_numbers"] == ["CSQU3054383"]
    assert out["conveyance"]["flight_number"] == "AM12"
    assert out["declared_currency"][0]["currency"] == "USD"
    assert found(check_crossing(out, now=NOW)) == {("traveller.phone_numbers.1", "phone_invalid")}


def test_canonicalise_icao_specials_and_unknowns():
    out = canonicalise_event(
        "crossings", crossing(traveller=traveller(nationality="XXA"), document=document(issuing_country="D"))
    )
    assert (out["traveller"]["nationality"], out["document"]["issuing_country"]) == ("XXA", "DE")
    out = canonicalise_event("crossings", crossing(traveller=traveller(nationality="Mexico")))
    assert out["traveller"]["nationality"] == "Mexico"  # left as sent, for the check to report


def test_canonicalise_seizure_and_biometric():
    event = seizure(
        persons=[traveller(nationality="GTM")],
        documents=[document(issuing_country="GTM", number="x 1")],
        port_locode="nlrtm",
    )
    out = canonicalise_event("seizures", event)
    assert out["persons"][0]["nationality"] == "GT"
    assert out["documents"][0]["issuing_country"] == "GT" and out["documents"][0]["number"] == "X1"
    assert out["port_locode"] == "NLRTM"
    assert event["persons"][0]["nationality"] == "GTM"
    out = canonicalise_event("biometrics", biometric(document=document(issuing_country="MEX")))
    assert out["document"]["issuing_country"] == "MX"
    assert out["template"]["vector"] == [0.1, -0.2, 0.3, 0.4]


def test_canonicalise_rejects_unknown_kind():
    with pytest.raises(ValueError):
        canonicalise_event("parcels", {})
