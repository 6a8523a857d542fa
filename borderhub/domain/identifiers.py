"""Checks and normal forms for the identifiers events carry: containers, ships, phones, money,
plates, document numbers, flights. Each check_* returns the problems found (empty when fine)."""

from __future__ import annotations

import functools

import re

import phonenumbers
import pycountry
from stdnum import imo as stdnum_imo
from stdnum import iso6346
from stdnum.exceptions import InvalidChecksum, ValidationError

from .problems import Problem

# Owner code (3 letters), category (U freight container, J detachable equipment, Z trailer or
# chassis), 6-digit serial, check digit. python-stdnum's own pattern also admits digits in the
# owner code, which ISO 6346 does not.
CONTAINER_RE = re.compile(r"[A-Z]{3}[UJZ]\d{7}")
E164_RE = re.compile(r"\+[1-9]\d{1,14}")
# IATA designator (2 characters, not both digits) or ICAO designator (3 letters), 1-4 digit
# flight number, optional operational suffix letter.
FLIGHT_RE = re.compile(r"(?:[A-Z]{2}|[A-Z]\d|\d[A-Z]|[A-Z]{3})\d{1,4}[A-Z]?")
# Ship station MMSIs start with a maritime identification digit group (MID) from 201 to 775.
# Coast stations, aids to navigation, SAR aircraft and the like have other layouts; they are not
# vessels, so a vessel MMSI in one of those layouts is wrong here.
SHIP_MID_RANGE = range(201, 776)
# ISO 4217 codes that are no money at all: testing, and "no currency involved".
_NOT_MONEY = {"XTS", "XXX"}


def check_container(number: str | None, path: str) -> list[Problem]:
    if number is None:
        return []
    if not CONTAINER_RE.fullmatch(number):
        return [Problem(path, "iso6346_format", f"{number!r} is not an ISO 6346 container number (e.g. CSQU3054383)")]
    if not iso6346.is_valid(number):
        expected = iso6346.calc_check_digit(number[:10])
        return [Problem(path, "iso6346_check_digit", f"{number!r}: check digit should be {expected}")]
    return []


def check_imo(number: str | None, path: str) -> list[Problem]:
    """IMO ship number: 7 digits, the last a check digit; an "IMO" prefix is allowed."""
    if number is None:
        return []
    try:
        stdnum_imo.validate(number)
    except InvalidChecksum:
        return [Problem(path, "imo_check_digit", f"{number!r}: wrong IMO check digit")]
    except ValidationError:
        return [Problem(path, "imo_format", f"{number!r} is not an IMO number (7 digits, optional IMO prefix)")]
    return []


def check_mmsi(number: str | None, path: str) -> list[Problem]:
    """MMSI of a ship station: 9 digits starting with a ship MID (201-775)."""
    if number is None:
        return []
    if not re.fullmatch(r"\d{9}", number):
        return [Problem(path, "mmsi_invalid", f"{number!r} is not 9 digits")]
    if int(number[:3]) not in SHIP_MID_RANGE:
        return [Problem(path, "mmsi_invalid", f"{number!r} does not start with a ship MID (201-775)")]
    return []


@functools.lru_cache(maxsize=65_536)  # phones recur across events; parsing is the slow part
def normalize_phone(number: str | None, region: str | None = None) -> str | None:
    """E.164 form of a valid phone number, or None. region (alpha-2) reads national formats."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_phone(number: str | None, path: str) -> list[Problem]:
    """A stored phone must already be E.164 ("+" and digits) and a valid number for its country."""
    if number is None:
        return []
    if not E164_RE.fullmatch(number):
        return [Problem(path, "phone_invalid", f"{number!r} is not in E.164 form (+ and up to 15 digits)")]
    if normalize_phone(number) != number:
        return [Problem(path, "phone_invalid", f"{number!r} is not a valid phone number")]
    return []


def check_currency(code: str | None, path: str) -> list[Problem]:
    # pycountry looks codes up case-insensitively; the contract wants them uppercase.
    if code is not None and (
        code != code.upper() or code in _NOT_MONEY or pycountry.currencies.get(alpha_3=code) is None
    ):
        return [Problem(path, "currency_unknown", f"{code!r} is not an ISO 4217 currency code")]
    return []


def check_flight_number(flight: str | None, path: str) -> list[Problem]:
    if flight is not None and not FLIGHT_RE.fullmatch(flight):
        return [Problem(path, "flight_number_invalid", f"{flight!r} is not a flight designator (e.g. AA1234, BAW12)")]
    return []


def normalize_plate(plate: str | None) -> str | None:
    """Plates compare without spacing and punctuation: "ab-123 cd" and "AB123CD" are one plate."""
    return re.sub(r"[\s\-.·]", "", plate).upper() if plate is not None else None


def normalize_document_number(number: str | None) -> str | None:
    """Uppercase A-Z and 0-9 only, as an MRZ prints it ('<' fillers, spaces and dashes dropped)."""
    return re.sub(r"[^A-Z0-9]", "", number.upper()) if number is not None else None


def normalize_flight_number(flight: str | None) -> str | None:
    return re.sub(r"\s", "", flight).upper() if flight is not None else None


def normalize_container(number: str | None) -> str | None:
    """ISO 6346 numbers are often printed in groups ("CSQU 305438 3"); stored compact."""
    return iso6346.compact(number) if number is not None else None
