import pytest

from borderhub.domain.countries import (
    canonical_country,
    check_country,
    icao_code,
    is_alpha2,
    to_alpha2,
    to_icao,
)


@pytest.mark.parametrize(
    "code, expected",
    [("MX", True), ("XK", True), ("mx", False), ("MEX", False), ("ZZ", False), ("", False), (None, False)],
)
def test_is_alpha2_is_exact(code, expected):
    assert is_alpha2(code) is expected


@pytest.mark.parametrize(
    "code, alpha2",
    [
        ("MX", "MX"),
        ("mx", "MX"),
        ("MEX", "MX"),
        ("deu", "DE"),
        ("D", "DE"),
        ("D<<", "DE"),
        ("GBD", "GB"),
        ("GBN", "GB"),
        ("GBO", "GB"),
        ("GBP", "GB"),
        ("GBS", "GB"),
        ("RKS", "XK"),
        ("XKX", "XK"),
        ("XXA", None),
        ("UNO", None),
        ("ZZZ", None),
        ("", None),
        (None, None),
    ],
)
def test_to_alpha2(code, alpha2):
    assert to_alpha2(code) == alpha2


@pytest.mark.parametrize("code", ["UNO", "UNA", "UNK", "XXA", "XXB", "XXC", "XXX", "EUE"])
def test_icao_special_codes_are_marked_not_mapped(code):
    ic = icao_code(code)
    assert ic is not None and ic.alpha2 is None and ic.special
    assert canonical_country(code) == code


def test_icao_code_reads_mrz_padding_and_describes_specials():
    assert icao_code("D<<").alpha2 == "DE"
    assert icao_code("D<<").code == "D"
    assert "Stateless" in icao_code("XXA").special
    assert icao_code("UTO") is None  # the ICAO specimen state is not a real one


@pytest.mark.parametrize("code, expected", [("deu", "DE"), ("GBR", "GB"), ("XXB", "XXB"), ("RKS", "XK"), ("QQQ", None)])
def test_canonical_country(code, expected):
    assert canonical_country(code) == expected


@pytest.mark.parametrize(
    "code, icao", [("DE", "D"), ("MX", "MEX"), ("MEX", "MEX"), ("XK", "RKS"), ("XXA", "XXA"), ("GBD", "GBD")]
)
def test_to_icao(code, icao):
    assert to_icao(code) == icao


def test_to_icao_rejects_unknown():
    with pytest.raises(ValueError):
        to_icao("ZZ")


def test_check_country_accepts_alpha2_and_absent():
    assert check_country("MX", "traveller.nationality") == []
    assert check_country(None, "traveller.nationality") == []


def test_check_country_flags_alpha3_with_a_hint():
    [p] = check_country("MEX", "traveller.nationality")
    assert (p.path, p.code) == ("traveller.nationality", "country_unknown")
    assert "'MX'" in p.message


def test_check_country_specials_only_where_allowed():
    assert check_country("XXA", "n", allow_special=True) == []
    assert [p.code for p in check_country("XXA", "n")] == ["country_unknown"]
    assert [p.code for p in check_country("ZZ", "n", allow_special=True)] == ["country_unknown"]
