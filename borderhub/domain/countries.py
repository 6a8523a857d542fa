"""ISO 3166-1 country codes, and the ICAO 9303 codes that travel documents print instead.

The hub stores countries as ISO 3166-1 alpha-2. Machine readable zones carry ICAO 9303 codes:
ISO alpha-3 for most states, plus a few of ICAO's own (Germany is "D", British nationality
classes are GBD/GBN/...) and codes for no state at all (UN officials, stateless persons,
refugees). Those last ones have no alpha-2; they are kept as their ICAO code and marked special.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

from .problems import Problem

# Kosovo has no ISO 3166-1 code; "XK" is the user-assigned code the EU, the IMF and most
# border agencies use, and Kosovo's own documents print RKS.
KOSOVO = "XK"

_ALPHA2: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {KOSOVO}
_ALPHA3_TO_2: dict[str, str] = {c.alpha_3: c.alpha_2 for c in pycountry.countries}

# ICAO codes that stand for a state but are not its ISO alpha-3.
_ICAO_STATE_ALIASES: dict[str, str] = {
    "D": "DE",
    "GBD": "GB",  # British Overseas Territories Citizen
    "GBN": "GB",  # British National (Overseas)
    "GBO": "GB",  # British Overseas Citizen
    "GBP": "GB",  # British Protected Person
    "GBS": "GB",  # British Subject
    "RKS": KOSOVO,
    "XKX": KOSOVO,
}
_ALPHA2_TO_ICAO: dict[str, str] = {a2: a3 for a3, a2 in _ALPHA3_TO_2.items()} | {"DE": "D", KOSOVO: "RKS"}

# ICAO 9303 Part 3 codes for issuers and nationalities that are not states.
ICAO_SPECIAL: dict[str, str] = {
    "UNO": "United Nations Organization or one of its officials",
    "UNA": "Specialized agency of the United Nations or one of its officials",
    "UNK": "Resident of Kosovo with a document issued by UNMIK",
    "XXA": "Stateless person (1954 Convention)",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other than the 1951 Convention)",
    "XXX": "Person of unspecified nationality",
    "EUE": "European Union",
    "XPO": "INTERPOL",
    "XOM": "Sovereign Military Order of Malta",
    "XCC": "Caribbean Community",
    "XES": "Organisation of Eastern Caribbean States",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XDC": "Southern African Development Community",
    "XEC": "Economic Community of West African States",
}


@dataclass(frozen=True, slots=True)
class IcaoCode:
    code: str  # the ICAO code, uppercase, without '<' fillers
    alpha2: str | None  # the state it stands for, None for special codes
    special: str | None  # what a non-state code stands for, None for states


def is_alpha2(code: str | None) -> bool:
    """Exactly an assigned ISO 3166-1 alpha-2 code (or XK), uppercase as the contract requires."""
    return code in _ALPHA2


def is_special(code: str | None) -> bool:
    return code in ICAO_SPECIAL


def icao_code(code: str | None) -> IcaoCode | None:
    """Read an ICAO 9303 nationality / issuing-state code as printed in an MRZ ("D<<", "UTO", "XXA")."""
    if not code:
        return None
    c = code.replace("<", "").strip().upper()
    if c in ICAO_SPECIAL:
        return IcaoCode(c, None, ICAO_SPECIAL[c])
    alpha2 = _ICAO_STATE_ALIASES.get(c) or _ALPHA3_TO_2.get(c)
    return IcaoCode(c, alpha2, None) if alpha2 else None


def to_alpha2(code: str | None) -> str | None:
    """Alpha-2 for an alpha-2, alpha-3 or ICAO state code in any case; None for non-states and unknowns."""
    if not code:
        return None
    c = code.strip().upper()
    if c in _ALPHA2:
        return c
    ic = icao_code(c)
    return ic.alpha2 if ic else None


def canonical_country(code: str | None) -> str | None:
    """The form the hub stores: alpha-2 for a state, the ICAO code for a special; None if unknown."""
    a2 = to_alpha2(code)
    if a2:
        return a2
    ic = icao_code(code)
    return ic.code if ic else None


def to_icao(code: str) -> str:
    """The ICAO 9303 code an MRZ prints for a country given as alpha-2, alpha-3 or ICAO code."""
    c = code.strip().upper()
    if c in ICAO_SPECIAL or c in _ICAO_STATE_ALIASES:
        return c
    a2 = to_alpha2(c)
    if a2 is None:
        raise ValueError(f"unknown country code {code!r}")
    return _ALPHA2_TO_ICAO[a2]


def check_country(code: str | None, path: str, *, allow_special: bool = False) -> list[Problem]:
    """Problems with a stored country code; None means absent and is fine.

    allow_special admits the ICAO non-state codes, for nationalities (stateless, refugee) and
    issuers (UN, EU laissez-passer) only.
    """
    if code is None or is_alpha2(code) or (allow_special and is_special(code)):
        return []
    hint = canonical_country(code)
    if hint and (allow_special or is_alpha2(hint)):
        message = f"{code!r} is not in stored form; use {hint!r}"
    else:
        kinds = "ISO 3166-1 alpha-2 or ICAO special" if allow_special else "ISO 3166-1 alpha-2"
        message = f"{code!r} is not an {kinds} country code"
    return [Problem(path, "country_unknown", message)]
