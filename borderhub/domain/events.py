"""Semantic checks of whole events, and the cheap canonical forms the gateway applies first.

Events are in Avro datum form, as fastavro reads and writes them: timestamps are aware
datetimes, dates are `date`, money is `Decimal`, enums are strings, absent optionals are None.
The Avro/JSON converter has already checked types and required fields; these checks find
what a schema cannot say. Every problem is reported, not just the first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .countries import canonical_country, check_country
from .identifiers import (
    check_container,
    check_currency,
    check_flight_number,
    check_imo,
    check_mmsi,
    check_phone,
    normalize_container,
    normalize_flight_number,
    normalize_phone,
)
from .mrz import check_mrz, compare_mrz_with_document
from .ports import check_locode
from .problems import Problem, join_path

# Clocks of port systems drift; more than this ahead of ours is a wrong clock or a wrong zone.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Older events are back-loads of archives, which go through a separate path, or wrong dates.
MAX_EVENT_AGE = timedelta(days=3653)  # ten years
MAX_AGE_YEARS = 130
MAX_TEMPLATE_DIMENSION = 4096
QUALITY_RANGE = (0, 100)

Datum = Mapping[str, Any]


# --- building blocks ---------------------------------------------------------------------------


def check_timestamp(ts: datetime | None, path: str, now: datetime, *, too_old: bool = True) -> list[Problem]:
    if ts is None:
        return []
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)  # fastavro writes naive datetimes as UTC
    if ts > now + MAX_CLOCK_SKEW:
        return [
            Problem(
                path, "timestamp_future", f"{ts.isoformat()} is more than {MAX_CLOCK_SKEW} ahead of {now.isoformat()}"
            )
        ]
    if too_old and ts < now - MAX_EVENT_AGE:
        return [Problem(path, "timestamp_too_old", f"{ts.isoformat()} is more than ten years old")]
    return []


def _age_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_birth_date(born: date | None, path: str, on: date) -> list[Problem]:
    """A birth date must not follow the event date, and nobody is 130."""
    if born is None:
        return []
    if born > on:
        return [Problem(path, "date_implausible", f"birth date {born} is after {on}")]
    if _age_years(born, on) >= MAX_AGE_YEARS:
        return [
            Problem(path, "date_implausible", f"birth date {born} makes the person {MAX_AGE_YEARS} or older on {on}")
        ]
    return []


def _check_range(
    value: float | Decimal | int | None, path: str, low: float, high: float | None = None, *, low_inclusive: bool = True
) -> list[Problem]:
    if value is None:
        return []
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    # Checked first: comparing a Decimal NaN raises instead of answering False.
    if finite and (value >= low if low_inclusive else value > low) and (high is None or value <= high):
        return []
    bounds = f"{'[' if low_inclusive else '('}{low}, {high if high is not None else '∞'}]"
    return [Problem(path, "value_range", f"{value} is outside {bounds}")]


def check_money(m: Datum | None, path: str) -> list[Problem]:
    if m is None:
        return []
    problems = check_currency(m.get("currency"), join_path(path, "currency"))
    return problems + _check_range(m.get("amount"), join_path(path, "amount"), 0)


def check_geo(g: Datum | None, path: str) -> list[Problem]:
    if g is None:
        return []
    problems = _check_range(g.get("lat"), join_path(path, "lat"), -90, 90)
    return problems + _check_range(g.get("lon"), join_path(path, "lon"), -180, 180)


# Templates are compared by cosine similarity, in 32-bit floats (Elasticsearch's dense_vector,
# the correlation galleries). A vector without a direction cannot be compared: Elasticsearch
# refuses one whose squared length is 0 in float32 (all zeros, or elements so small their squares
# underflow) or infinite (elements too large). Bounds on the squared length, as float32 sees it.
_FLOAT32_MIN_NORMAL = 2.0**-126
_FLOAT32_MAX = 3.4028234663852886e38


def vector_problem(vector: Sequence[float]) -> tuple[str, str] | None:
    """(code, message) when a template vector cannot be compared by cosine similarity: an
    element that is not a finite number, or a length of zero or out of float32's range. None
    when it can (an empty vector too: its dimension is what is wrong). The gateway rejects such
    templates with it; the indexer leaves such a vector out of the similarity index with it."""
    bad = [i for i, x in enumerate(vector) if not math.isfinite(x)]
    if bad:  # one problem for the vector, not one per element
        return "value_range", f"{len(bad)} elements are not finite numbers (first at index {bad[0]})"
    if not vector:
        return None
    norm = math.hypot(*vector)  # no overflow or underflow on the way, unlike a sum of squares
    if norm * norm < _FLOAT32_MIN_NORMAL:
        return ("vector_zero_norm",
                f"vector has zero length (norm {norm:.3g}): all elements are 0 or too small, so it has no "
                "direction to compare by cosine similarity")
    if norm * norm > _FLOAT32_MAX:
        return ("vector_norm_range",
                f"vector length {norm:.3g} is too large: its square overflows 32-bit floats, so it cannot be "
                "compared by cosine similarity")
    return None


def check_template(t: Datum | None, path: str) -> list[Problem]:
    if t is None:
        return []
    vector = t.get("vector") or []
    dimension = t.get("dimension")
    problems = _check_range(dimension, join_path(path, "dimension"), 1, MAX_TEMPLATE_DIMENSION)
    if dimension is not None and dimension != len(vector):
        problems.append(
            Problem(
                join_path(path, "vector"),
                "vector_dimension",
                f"vector has {len(vector)} elements, dimension says {dimension}",
            )
        )
    if found := vector_problem(vector):
        problems.append(Problem(join_path(path, "vector"), *found))
    return problems


def check_traveller(t: Datum | None, path: str, on: date) -> list[Problem]:
    if t is None:
        return []
    problems = check_country(t.get("nationality"), join_path(path, "nationality"), allow_special=True)
    problems += check_birth_date(t.get("date_of_birth"), join_path(path, "date_of_birth"), on)
    for i, phone in enumerate(t.get("phone_numbers") or []):
        problems += check_phone(phone, join_path(path, "phone_numbers", i))
    return problems


def check_document(
    doc: Datum | None, path: str, on: date, traveller: Datum | None = None, traveller_path: str = "traveller"
) -> list[Problem]:
    """A travel document, and its MRZ against itself and against the traveller when one is given.

    An expired document is not a problem: expired documents are presented at borders, and that
    is worth knowing, not rejecting.
    """
    if doc is None:
        return []
    problems = check_country(doc.get("issuing_country"), join_path(path, "issuing_country"), allow_special=True)
    if not re.search(r"[A-Za-z0-9]", doc.get("number") or ""):
        problems.append(
            Problem(
                join_path(path, "number"), "document_number_invalid", "the document number has no letters or digits"
            )
        )
    born, expiry = (traveller or {}).get("date_of_birth"), doc.get("expiry_date")
    if born and expiry and expiry <= born:
        problems.append(
            Problem(join_path(path, "expiry_date"), "date_implausible", f"expiry {expiry} is not after birth {born}")
        )
    lines = doc.get("mrz_lines") or []
    if lines:
        mrz_path = join_path(path, "mrz_lines")
        parsed, mrz_problems = check_mrz(lines, mrz_path, today=on)
        problems += mrz_problems
        if parsed is not None:
            if parsed.birth_date and parsed.expiry_date and parsed.expiry_date <= parsed.birth_date:
                problems.append(
                    Problem(join_path(mrz_path, 1), "date_implausible", "MRZ expiry date is not after the birth date")
                )
            problems += compare_mrz_with_document(
                parsed, doc, traveller, document_path=path, traveller_path=traveller_path
            )
    return problems


def check_conveyance(c: Datum | None, path: str) -> list[Problem]:
    if c is None:
        return []
    problems = check_country(c.get("vehicle_country"), join_path(path, "vehicle_country"))
    problems += check_imo(c.get("vessel_imo"), join_path(path, "vessel_imo"))
    problems += check_mmsi(c.get("vessel_mmsi"), join_path(path, "vessel_mmsi"))
    problems += check_flight_number(c.get("flight_number"), join_path(path, "flight_number"))
    for i, number in enumerate(c.get("container_numbers") or []):
        problems += check_container(number, join_path(path, "container_numbers", i))
    return problems


def _event_date(ts: datetime | None, now: datetime) -> date:
    if ts is None:
        return now.date()
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).date()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# --- events ------------------------------------------------------------------------------------


def check_crossing(d: Datum, now: datetime | None = None) -> list[Problem]:
    now = _now(now)
    on = _event_date(d.get("occurred_at"), now)
    problems = check_timestamp(d.get("occurred_at"), "occurred_at", now)
    problems += check_locode(d.get("port_locode"), "port_locode")
    traveller = d.get("traveller")
    problems += check_traveller(traveller, "traveller", on)
    problems += check_document(d.get("document"), "document", on, traveller or {}, "traveller")
    problems += check_conveyance(d.get("conveyance"), "conveyance")
    for i, m in enumerate(d.get("declared_currency") or []):
        problems += check_money(m, join_path("declared_currency", i))
    return problems


def check_seizure(d: Datum, now: datetime | None = None) -> list[Problem]:
    now = _now(now)
    on = _event_date(d.get("occurred_at"), now)
    problems = check_timestamp(d.get("occurred_at"), "occurred_at", now)
    problems += check_locode(d.get("port_locode"), "port_locode")
    problems += check_geo(d.get("location"), "location")
    for i, item in enumerate(d.get("items") or []):
        problems += _check_range(item.get("quantity"), join_path("items", i, "quantity"), 0, low_inclusive=False)
        problems += check_money(item.get("estimated_value"), join_path("items", i, "estimated_value"))
    problems += check_conveyance(d.get("conveyance"), "conveyance")
    for i, person in enumerate(d.get("persons") or []):
        problems += check_traveller(person, join_path("persons", i), on)
    # Seized documents are not tied to one of the persons, so their MRZ is checked on its own.
    for i, doc in enumerate(d.get("documents") or []):
        problems += check_document(doc, join_path("documents", i), on)
    for i, phone in enumerate(d.get("phone_numbers") or []):
        problems += check_phone(phone, join_path("phone_numbers", i))
    return problems


def check_biometric(d: Datum, now: datetime | None = None) -> list[Problem]:
    now = _now(now)
    on = _event_date(d.get("captured_at"), now)
    problems = check_timestamp(d.get("captured_at"), "captured_at", now)
    problems += check_locode(d.get("port_locode"), "port_locode")
    problems += check_template(d.get("template"), "template")
    problems += _check_range(d.get("quality"), "quality", *QUALITY_RANGE)
    problems += check_document(d.get("document"), "document", on)
    return problems


_PARTIAL_DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def check_watchlist_entry(d: Datum, now: datetime | None = None) -> list[Problem]:
    now = _now(now)
    problems: list[Problem] = []
    for i, ident in enumerate(d.get("identifiers") or []):
        path = join_path("identifiers", i)
        scheme, value = ident.get("scheme"), ident.get("value")
        documents = scheme in ("PASSPORT", "ID_CARD", "OTHER_DOCUMENT")  # may be issued by the UN, the EU...
        problems += check_country(ident.get("country"), join_path(path, "country"), allow_special=documents)
        check = {"IMO": check_imo, "MMSI": check_mmsi, "PHONE": check_phone}.get(scheme)
        if check:
            problems += check(value, join_path(path, "value"))
    for i, text in enumerate(d.get("birth_dates") or []):
        problems += _check_partial_birth_date(text, join_path("birth_dates", i), now.date())
    for i, code in enumerate(d.get("nationalities") or []):
        problems += check_country(code, join_path("nationalities", i), allow_special=True)
    for i, template in enumerate(d.get("biometric_templates") or []):
        problems += check_template(template, join_path("biometric_templates", i))
    valid_from, valid_until = d.get("valid_from"), d.get("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        problems.append(
            Problem("valid_until", "value_range", f"valid_until {valid_until.isoformat()} is before valid_from")
        )
    # Listings are often old; only a change date from the future is wrong.
    problems += check_timestamp(d.get("updated_at"), "updated_at", now, too_old=False)
    return problems


def _check_partial_birth_date(text: str, path: str, today: date) -> list[Problem]:
    """Birth dates from lists are often partial (YYYY or YYYY-MM); the earliest possible day is checked."""
    m = _PARTIAL_DATE_RE.fullmatch(text or "")
    try:
        born = date(int(m[1]), int(m[2] or 1), int(m[3] or 1)) if m else None
    except ValueError:
        born = None
    if born is None:
        return [Problem(path, "date_format", f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")]
    return check_birth_date(born, path, today)


CHECKS: dict[str, Callable[..., list[Problem]]] = {
    "crossings": check_crossing,
    "seizures": check_seizure,
    "biometrics": check_biometric,
}


# --- canonical forms ---------------------------------------------------------------------------


def _country(code: str | None) -> str | None:
    # Unknown codes are left alone so the check reports them as sent.
    return canonical_country(code) or code


def _upper(text: str | None, *, squeeze: bool = False) -> str | None:
    if text is None:
        return None
    text = text.strip().upper()
    return re.sub(r"\s+", "", text) if squeeze else text


def _phone(number: str) -> str:
    # Only numbers written internationally are rewritten; a national number needs a country guess.
    return (normalize_phone(number) or number) if number.strip().startswith("+") else number


def _set(d: Datum | None, key: str, fn: Callable[[Any], Any]) -> None:
    if d is not None and d.get(key) is not None:
        d[key] = fn(d[key])  # type: ignore[index]


def _canon_traveller(t: Datum | None) -> dict | None:
    if t is None:
        return None
    t = dict(t)
    _set(t, "nationality", _country)
    _set(t, "phone_numbers", lambda phones: [_phone(p) for p in phones])
    return t


def _canon_document(doc: Datum | None) -> dict | None:
    if doc is None:
        return None
    doc = dict(doc)
    _set(doc, "issuing_country", _country)
    _set(doc, "number", lambda n: _upper(n, squeeze=True))
    return doc


def _canon_conveyance(c: Datum | None) -> dict | None:
    if c is None:
        return None
    c = dict(c)
    _set(c, "vehicle_plate", _upper)
    _set(c, "vehicle_country", _country)
    _set(c, "flight_number", normalize_flight_number)
    _set(c, "container_numbers", lambda numbers: [normalize_container(n) for n in numbers])
    return c


def _canon_money(m: Datum | None) -> dict | None:
    if m is None:
        return None
    m = dict(m)
    _set(m, "currency", _upper)
    return m


def canonicalise_event(kind: str, d: Datum) -> dict:
    """A new event with ICAO / alpha-3 countries as alpha-2, and LOCODEs, plates, document numbers,
    container and flight numbers, currencies in their stored case and spacing; E.164 phones
    compacted. Only rewrites that cannot change meaning; the input is not modified."""
    out = dict(d)
    _set(out, "port_locode", lambda s: _upper(s, squeeze=True))  # "US MIA" is how UN/LOCODE prints USMIA
    _set(out, "conveyance", _canon_conveyance)
    if kind == "crossings":
        _set(out, "traveller", _canon_traveller)
        _set(out, "document", _canon_document)
        _set(out, "declared_currency", lambda ms: [_canon_money(m) for m in ms])
    elif kind == "seizures":
        _set(out, "persons", lambda ps: [_canon_traveller(p) for p in ps])
        _set(out, "documents", lambda ds: [_canon_document(x) for x in ds])
        _set(out, "phone_numbers", lambda phones: [_phone(p) for p in phones])
        _set(
            out,
            "items",
            lambda items: [{**it, "estimated_value": _canon_money(it.get("estimated_value"))} for it in items],
        )
    elif kind == "biometrics":
        _set(out, "document", _canon_document)
    elif kind == "watchlist":
        _set(out, "nationalities", lambda codes: [_country(c) for c in codes])
        _set(out, "identifiers", lambda ids: [{**i, "country": _country(i.get("country"))} for i in ids])
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    return out
