import pytest

from borderhub.domain.identifiers import (
    check_container,
    check_currency,
    check_flight_number,
    check_imo,
    check_mmsi,
    check_phone,
    normalize_container,
    normalize_document_number,
    normalize_phone,
    normalize_plate,
)


def result(problems):
    return [(p.path, p.code) for p in problems]


@pytest.mark.parametrize("number", ["CSQU3054383", "TASU1170000", None])
def test_valid_containers(number):
    assert check_container(number, "c") == []


@pytest.mark.parametrize(
    "number, code",
    [
        ("CSQU3054384", "iso6346_check_digit"),
        ("CSQU3054393", "iso6346_check_digit"),
        ("csqu3054383", "iso6346_format"),
        ("CS1U3054383", "iso6346_format"),  # owner codes are letters only
        ("CSQX3054383", "iso6346_format"),  # category must be U, J or Z
        ("CSQU305438", "iso6346_format"),
        ("CSQU 305438 3", "iso6346_format"),  # stored compact; see normalize_container
    ],
)
def test_bad_containers(number, code):
    assert result(check_container(number, "conveyance.container_numbers.0")) == [
        ("conveyance.container_numbers.0", code)
    ]


def test_normalize_container():
    assert normalize_container(" csqu 305438 3") == "CSQU3054383"


@pytest.mark.parametrize("number", ["9319466", "IMO 9319466", "IMO9319466", "8814275", None])
def test_valid_imo(number):
    assert check_imo(number, "v") == []


@pytest.mark.parametrize(
    "number, code",
    [
        ("9319467", "imo_check_digit"),
        ("8814274", "imo_check_digit"),
        ("931946", "imo_format"),
        ("93194660", "imo_format"),
        ("ABC", "imo_format"),
    ],
)
def test_bad_imo(number, code):
    assert result(check_imo(number, "conveyance.vessel_imo")) == [("conveyance.vessel_imo", code)]


@pytest.mark.parametrize("number", ["366123456", "201000000", "775999999", "538001234", None])
def test_valid_ship_mmsi(number):
    assert check_mmsi(number, "m") == []


@pytest.mark.parametrize(
    "number",
    [
        "200123456",
        "776000000",
        "003661234",  # coast station
        "993661234",  # aid to navigation
        "111366123",  # SAR aircraft
        "36612345",
        "3661234567",
        "36612345a",
        " 366123456",
    ],
)
def test_bad_mmsi(number):
    assert result(check_mmsi(number, "m")) == [("m", "mmsi_invalid")]


@pytest.mark.parametrize(
    "raw, region, e164",
    [
        ("+1 202 555 0100", None, "+12025550100"),
        ("(202) 555-0100", "US", "+12025550100"),
        ("+44 20 7946 0000", None, "+442079460000"),
        ("+12345", None, None),
        ("(202) 555-0100", None, None),  # national format without a region
        ("call me", None, None),
        ("", None, None),
    ],
)
def test_normalize_phone(raw, region, e164):
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize("number", ["+12025550100", "+525512345678", "+33612345678", None])
def test_valid_phones(number):
    assert check_phone(number, "p") == []


@pytest.mark.parametrize("number", ["+1 202 555 0100", "12025550100", "+12345", "+0123456789", "+447700900123"])
def test_bad_phones(number):
    assert result(check_phone(number, "phone_numbers.3")) == [("phone_numbers.3", "phone_invalid")]


@pytest.mark.parametrize(
    "code, ok",
    [
        ("USD", True),
        ("EUR", True),
        ("MXN", True),
        ("usd", False),
        ("XXX", False),
        ("XTS", False),
        ("ABC", False),
        ("US", False),
        (None, True),
    ],
)
def test_currency(code, ok):
    assert (check_currency(code, "c") == []) is ok
    if not ok:
        assert result(check_currency(code, "c")) == [("c", "currency_unknown")]


@pytest.mark.parametrize(
    "flight, ok",
    [
        ("AA1234", True),
        ("BAW12", True),
        ("U21234", True),
        ("9W5", True),
        ("LH400A", True),
        ("AA12345", False),
        ("aa123", False),
        ("A1", False),
        ("12345", False),
        ("AA 123", False),
    ],
)
def test_flight_number(flight, ok):
    problems = check_flight_number(flight, "f")
    assert result(problems) == ([] if ok else [("f", "flight_number_invalid")])


def test_normalize_plate_and_document_number():
    assert normalize_plate(" ab-123 cd. ") == "AB123CD"
    assert normalize_plate(None) is None
    assert normalize_document_number("l898902c3<<") == "L898902C3"
    assert normalize_document_number("AB 12-34") == "AB1234"
