"""Identifiers as lookup keys: documents, plates, VINs, IMO and MMSI numbers, phones,
registration numbers. Normal forms come from ``borderhub.domain.identifiers``; this module only
adds the key spelling and the OCR-confusion rules.

Documents and plates are keyed on their *OCR-canonical* form (O->0, I->1, S->5, B->8), so a
number read with confusions finds the listed one with the same single lookup; scoring then
counts how many positions differ (0 = exact, 1 = one confusion, more = no match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from borderhub.domain.identifiers import normalize_document_number, normalize_phone, normalize_plate

__all__ = [
    "DOCUMENT_SCHEMES",
    "identifier_key",
    "normalize_identifier",
    "ocr_canonical",
    "ocr_confusions",
]

DOCUMENT_SCHEMES = frozenset({"PASSPORT", "ID_CARD", "OTHER_DOCUMENT"})
# The confusions OCR of machine readable zones and plates makes: letter read for digit and back.
_OCR_TO_DIGIT = str.maketrans({"O": "0", "I": "1", "S": "5", "B": "8"})
_CONFUSABLE = frozenset({("0", "O"), ("O", "0"), ("1", "I"), ("I", "1"), ("5", "S"), ("S", "5"),
                         ("8", "B"), ("B", "8")})
# Key prefixes, one family of identifiers each; the index stores keys from every family together.
KEY_PREFIX = {
    "PASSPORT": "d:", "ID_CARD": "d:", "OTHER_DOCUMENT": "d:",
    "VEHICLE_PLATE": "v:", "VIN": "n:", "IMO": "i:", "MMSI": "m:", "PHONE": "t:",
    "REGISTRATION_NUMBER": "r:",
}


_E164 = re.compile(r"\+[1-9]\d{5,14}")


def ocr_canonical(value: str) -> str:
    return value.translate(_OCR_TO_DIGIT)


def ocr_confusions(a: str, b: str) -> int | None:
    """Positions where a and b differ by an OCR confusion; None when they differ otherwise."""
    if len(a) != len(b):
        return None
    count = 0
    for x, y in zip(a, b):
        if x != y:
            if (x, y) not in _CONFUSABLE:
                return None
            count += 1
    return count


def _alnum(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def normalize_identifier(scheme: str, value: str | None) -> str | None:
    """The comparable form of an identifier of a scheme, or None when nothing is left."""
    if not value:
        return None
    if scheme in DOCUMENT_SCHEMES:
        out = normalize_document_number(value)
    elif scheme == "VEHICLE_PLATE":
        out = _alnum(normalize_plate(value) or "")
    elif scheme == "IMO":
        out = re.sub(r"\D", "", value)
    elif scheme == "MMSI":
        out = re.sub(r"\D", "", value)
    elif scheme == "PHONE":
        value = value.strip()
        if _E164.fullmatch(value):  # events carry E.164 already: skip the costly parse
            return value
        out = normalize_phone(value) or (re.sub(r"[^\d+]", "", value) if value.startswith("+") else None)
    else:
        out = _alnum(value)
    return out or None


def identifier_key(scheme: str, normalized: str) -> str | None:
    """The index key of a normalised identifier (None for schemes that are not looked up)."""
    prefix = KEY_PREFIX.get(scheme)
    if prefix is None:
        return None
    if prefix in ("d:", "v:"):
        return prefix + ocr_canonical(normalized)
    return prefix + normalized


def entry_identifier_keys(identifiers: Iterable[dict]) -> set[str]:
    keys = set()
    for ident in identifiers:
        scheme = ident.get("scheme") or "OTHER"
        normalized = normalize_identifier(scheme, ident.get("value"))
        if normalized:
            key = identifier_key(scheme, normalized)
            if key:
                keys.add(key)
    return keys
