"""Parse watchlist feeds into WatchlistEntry datums (schemas/watchlist_entry.avsc).

Pure functions, no I/O: the loader hands in lines, gets back one ``ParsedLine`` per input
line (blank lines are skipped), and publishes the entries to the compacted watchlist topic.
A bad line gives an error for that line only; the parse always goes on.

The entries are Avro datums: timestamps are timezone-aware ``datetime``, enums are symbol
strings, optional fields are ``None``, arrays are lists. Every field of the schema is present.

FollowTheMoney conventions (``entries_from_ftm``)
-------------------------------------------------
Entity ids become entry ids. Entities are read with ``followthemoney.model.get_proxy`` so
values are normalised by FtM (countries to ISO alpha-2, phones to E.164, dates to ISO).

* ``Person`` -> PERSON. names: ``name`` (or firstName/middleName/lastName joined when there is
  no ``name``); aliases: ``alias``, ``weakAlias``, ``previousName``, and the joined name parts
  when they differ from the names. ``birthDate``, ``nationality``/``citizenship``,
  ``gender``. Identifiers: ``passportNumber`` (PASSPORT), ``idNumber`` (ID_CARD), ``phone``
  (PHONE), plus every Passport/Identification entity in the feed whose ``holder`` is this
  person (two-pass join, so document lines may come before or after their holder).
* ``Passport`` / ``Identification`` -> DOCUMENT, scheme PASSPORT for a Passport or an
  Identification whose ``type`` says passport, OTHER_DOCUMENT when ``type`` names another
  document (driving licence, visa, permit), ID_CARD otherwise. ``country`` is the issuing
  country. names come from the holder when it is in the feed, else from the Passport's
  ``givenName``/``surname``. The holder of a lost or stolen document need not be in the
  feed (Interpol SLTD-style lists publish no holder); ``holder`` may point elsewhere.
  document_status: the first of STOLEN, LOST, REVOKED, INVALIDATED, VALID whose word
  (stolen/theft, lost, revoked/cancelled, invalidated/invalid, valid) appears in the raw
  ``status`` property, ``summary``, ``description`` or ``notes`` of the document (``status``
  is not an FtM property of documents, so it is read from the raw JSON), or in a
  ``doc.status:<word>`` keyword of the holder; otherwise UNKNOWN. A document takes the
  holder's topics, and its reason is the document's own summary or the holder's reason.
* ``Vehicle`` -> VEHICLE: ``registrationNumber`` (VEHICLE_PLATE, country = ``country``).
* ``Vessel`` -> VESSEL: ``imoNumber`` (IMO), ``mmsi`` (MMSI), ``registrationNumber``;
  ``flag`` (then ``country``) becomes nationalities.
* ``Organization`` / ``Company`` / ``PublicBody`` / ``LegalEntity`` -> ORGANISATION:
  ``registrationNumber`` (REGISTRATION_NUMBER, country = ``jurisdiction``), ``phone``
  (PHONE); ``jurisdiction``/``country`` become nationalities.
* Phone-only listing: a plain ``LegalEntity`` that has ``phone`` and whose names are empty
  or are only phone numbers -> PHONE, names empty, one PHONE identifier per number.
* ``Sanction`` entities are joined onto their ``entity``: ``reason``/``program`` go into the
  reason, ``startDate``/``endDate`` become valid_from/valid_until, topic ``sanction`` added.
  They produce no entry of their own (ParsedLine with entry and error both None), nor do
  other valid schemas that list nothing (Address, Ownership, ...).
* reason: ``notes``, then ``summary``, then ``description``, then the topic labels
  ("Wanted; Drug trafficking"), then "Listed on <source_list>".
* action_on_hit: a keyword ``action:<HitAction>`` (e.g. ``action:DETAIN``) wins; else topic
  ``wanted`` -> ARREST, any ``crime.traffick*`` -> DETAIN, a LOST/STOLEN document ->
  SEIZE_DOCUMENT, anything else -> REFER_SECONDARY.
* updated_at: the FtM ``last_change`` (top-level, as OpenSanctions exports it), else
  ``modifiedAt``, else ``now``.

CSV convention (``entries_from_csv``)
-------------------------------------
Header (column order free, extra columns ignored, only ``entry_id`` and ``kind`` required)::

    entry_id,kind,name,aliases,birth_date,nationality,sex,identifier_scheme,identifier_value,identifier_country,document_status,reason,action_on_hit,valid_until,topics

``aliases``, ``nationality`` and ``topics`` hold several values separated by ``;``.
``kind``, ``identifier_scheme``, ``document_status``, ``action_on_hit`` are enum symbols of
the schema (case-insensitive); ``identifier_scheme`` defaults by kind (DOCUMENT -> PASSPORT,
VEHICLE -> VEHICLE_PLATE, VESSEL -> IMO, PHONE -> PHONE). Countries are ISO 3166 alpha-2
or alpha-3. ``birth_date`` is YYYY, YYYY-MM or YYYY-MM-DD; ``valid_until`` is a date or an
ISO 8601 timestamp (UTC when it has no offset). PERSON and ORGANISATION rows need a name;
DOCUMENT, VEHICLE, VESSEL and PHONE rows need an identifier_value. Phones are stored in
E.164; IMO numbers must have a valid check digit and are stored as 7 digits (also from FtM). reason and action_on_hit default as for
FtM.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Iterable, Iterator

import phonenumbers
import pycountry
from followthemoney import model
from followthemoney.exc import InvalidData
from stdnum import imo as stdnum_imo

__all__ = ["CSV_HEADER", "ParsedLine", "entries_from_csv", "entries_from_ftm", "make_entry"]

ENTRY_KINDS = ("PERSON", "DOCUMENT", "VEHICLE", "VESSEL", "PHONE", "ORGANISATION", "UNKNOWN")
IDENTIFIER_SCHEMES = ("PASSPORT", "ID_CARD", "OTHER_DOCUMENT", "VEHICLE_PLATE", "VIN", "IMO", "MMSI",
                      "PHONE", "REGISTRATION_NUMBER", "OTHER")
DOCUMENT_STATUSES = ("LOST", "STOLEN", "REVOKED", "INVALIDATED", "VALID", "UNKNOWN")
HIT_ACTIONS = ("ARREST", "DETAIN", "REFER_SECONDARY", "SEIZE_DOCUMENT", "NOTIFY_ISSUER", "MONITOR")
SEXES = ("M", "F", "X", "UNKNOWN")

CSV_HEADER = ("entry_id,kind,name,aliases,birth_date,nationality,sex,identifier_scheme,identifier_value,"
              "identifier_country,document_status,reason,action_on_hit,valid_until,topics")


@dataclass(frozen=True)
class ParsedLine:
    """The outcome of one input line: an entry, an error, or neither (nothing to list)."""

    line_no: int
    entry: dict[str, Any] | None = None
    error: str | None = None


# ---------------------------------------------------------------------------- shared rules

def make_entry(entry_id: str, kind: str, source_list: str, updated_at: datetime, *, reason: str,
               names: Iterable[str] = (), aliases: Iterable[str] = (),
               identifiers: Iterable[dict[str, Any]] = (), birth_dates: Iterable[str] = (),
               nationalities: Iterable[str] = (), sex: str = "UNKNOWN", document_status: str = "UNKNOWN",
               topics: Iterable[str] = (), action_on_hit: str = "REFER_SECONDARY",
               valid_from: datetime | None = None, valid_until: datetime | None = None) -> dict[str, Any]:
    """A WatchlistEntry datum with every schema field, lists de-duplicated in order."""
    names = _unique(names)
    return {
        "entry_id": entry_id,
        "kind": kind,
        "names": names,
        "aliases": [a for a in _unique(aliases) if a not in names],
        "identifiers": _unique_identifiers(identifiers),
        "birth_dates": _unique(birth_dates),
        "nationalities": _unique(nationalities),
        "sex": sex,
        "document_status": document_status,
        "biometric_templates": [],  # neither feed format carries templates
        "topics": _unique(topics),
        "reason": reason,
        "action_on_hit": action_on_hit,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "source_list": source_list,
        "updated_at": updated_at,
    }


def default_action(topics: Iterable[str], document_status: str = "UNKNOWN") -> str:
    """The action a hit asks for when the feed does not say: the most severe topic wins."""
    topics = list(topics)
    if "wanted" in topics:
        return "ARREST"
    if any(t.startswith("crime.traffick") for t in topics):
        return "DETAIN"
    if document_status in ("LOST", "STOLEN"):
        return "SEIZE_DOCUMENT"
    return "REFER_SECONDARY"


def topic_reason(topics: Iterable[str]) -> str | None:
    """Human labels of FtM topics, e.g. 'Wanted; Drug trafficking'."""
    labels = model.get("Thing").properties["topics"].type.names
    found = [labels.get(t, t) for t in topics]
    return "; ".join(found) if found else None


def identifier(scheme: str, value: str, country: str | None = None) -> dict[str, Any]:
    return {"scheme": scheme, "value": value, "country": country}


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
    return list(seen)


def _unique_identifiers(idents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for ident in idents:
        seen.setdefault((ident["scheme"], ident["value"], ident["country"]), ident)
    return list(seen.values())


def _alpha2(value: str) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-2 or alpha-3 code; None when it is not a country."""
    value = value.strip()
    if not value:
        return None
    try:
        country = pycountry.countries.lookup(value) if len(value) in (2, 3) else None
    except LookupError:
        return None
    return country.alpha_2 if country else None


_STATUS_WORDS = (  # order matters: "lost or stolen" is listed as STOLEN
    ("STOLEN", re.compile(r"\b(stolen|theft)\b", re.I)),
    ("LOST", re.compile(r"\blost\b", re.I)),
    ("REVOKED", re.compile(r"\b(revoked|cancell?ed)\b", re.I)),
    ("INVALIDATED", re.compile(r"\b(invalidated|invalid)\b", re.I)),
    ("VALID", re.compile(r"\bvalid\b", re.I)),
)


def document_status_from(texts: Iterable[str]) -> str:
    text = " ".join(texts)
    for status, pattern in _STATUS_WORDS:
        if pattern.search(text):
            return status
    return "UNKNOWN"


def _parse_timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time.min)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------- FtM

_ORG_SCHEMATA = ("Organization", "Company", "PublicBody", "LegalEntity")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")
_OTHER_DOCUMENT = re.compile(r"driv|licen|visa|permit|seaman|seafarer|residen", re.I)


@dataclass
class _Buffered:
    line_no: int
    proxy: Any = None
    raw: dict[str, Any] | None = None
    error: str | None = None


def entries_from_ftm(lines: Iterable[str], source_list: str,
                     now: datetime | None = None) -> Iterator[ParsedLine]:
    """FollowTheMoney JSON lines -> WatchlistEntry datums, one ParsedLine per non-blank line.

    All lines are buffered first: documents and sanctions join onto entities that may come
    later in the feed.
    """
    now = _now(now)
    buffered: list[_Buffered] = []
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            buffered.append(_read_ftm_line(line_no, line))

    proxies = {b.proxy.id: b for b in buffered if b.proxy is not None}
    documents_of: dict[str, list[_Buffered]] = {}
    sanctions_of: dict[str, list[Any]] = {}
    for b in proxies.values():
        schema = b.proxy.schema
        if schema.is_a("Identification"):
            for holder in b.proxy.get("holder"):
                documents_of.setdefault(holder, []).append(b)
        elif schema.is_a("Sanction"):
            for target in b.proxy.get("entity"):
                sanctions_of.setdefault(target, []).append(b.proxy)

    for b in buffered:
        if b.error:
            yield ParsedLine(b.line_no, error=b.error)
            continue
        try:
            entry = _entry_from_proxy(b, proxies, documents_of, sanctions_of, source_list, now)
        except Exception as exc:  # one odd entity must never stop the feed
            yield ParsedLine(b.line_no, error=f"cannot convert {b.proxy.schema.name} {b.proxy.id}: {exc}")
            continue
        yield ParsedLine(b.line_no, entry=entry)


def _read_ftm_line(line_no: int, line: str) -> _Buffered:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return _Buffered(line_no, error=f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(raw, dict):
        return _Buffered(line_no, error="not a JSON object")
    schema = raw.get("schema")
    if not schema or model.get(schema) is None:
        return _Buffered(line_no, error=f"unknown FtM schema: {schema!r}")
    if not raw.get("id"):
        return _Buffered(line_no, error="entity has no id")
    if not isinstance(raw.get("properties", {}), dict):
        return _Buffered(line_no, error="properties is not an object")
    try:
        proxy = model.get_proxy(raw, cleaned=False)  # cleaned=False: let FtM normalise values
    except (InvalidData, TypeError, ValueError) as exc:
        return _Buffered(line_no, error=f"invalid FtM entity: {exc}")
    return _Buffered(line_no, proxy=proxy, raw=raw)


def _countries(values: Iterable[str]) -> list[str]:
    # FtM country codes are lower-case and include non-ISO ones (e.g. "zz", "suhh")
    return [v.upper() for v in values if len(v) == 2 and _alpha2(v)]


def _updated_at(b: _Buffered, now: datetime) -> datetime:
    return (_parse_timestamp(b.raw.get("last_change"))
            or _parse_timestamp(next(iter(b.proxy.get("modifiedAt", quiet=True)), None)) or now)


def _reason(proxy: Any, topics: list[str], source_list: str) -> str:
    for prop in ("notes", "summary", "description"):
        values = proxy.get(prop, quiet=True)
        if values:
            return " ".join(values)
    return topic_reason(topics) or f"Listed on {source_list}"


def _keyword_action(proxy: Any) -> str | None:
    for keyword in proxy.get("keywords", quiet=True):
        if keyword.lower().startswith("action:"):
            action = keyword.split(":", 1)[1].strip().upper()
            if action in HIT_ACTIONS:
                return action
    return None


def _person_names(proxy: Any) -> tuple[list[str], list[str]]:
    parts = [" ".join(proxy.get(p)) for p in ("firstName", "secondName", "middleName", "lastName")]
    joined = " ".join(p for p in parts if p)
    names = list(proxy.get("name"))
    aliases = [*proxy.get("alias"), *proxy.get("weakAlias"), *proxy.get("previousName")]
    if not names and joined:
        names = [joined]
    elif joined:
        aliases.append(joined)
    return names, aliases


def _document_scheme(proxy: Any) -> str:
    kind = " ".join(proxy.get("type"))
    if proxy.schema.is_a("Passport") or "passport" in kind.lower():
        return "PASSPORT"
    if _OTHER_DOCUMENT.search(kind):
        return "OTHER_DOCUMENT"
    return "ID_CARD"


def _document_identifier(doc: Any) -> dict[str, Any] | None:
    numbers = doc.get("number") or doc.get("passportNumber", quiet=True)
    if not numbers:
        return None
    country = next(iter(_countries(doc.get("country"))), None)
    return identifier(_document_scheme(doc), numbers[0], country)


def _document_status(b: _Buffered, holder: _Buffered | None) -> str:
    raw_status = b.raw.get("properties", {}).get("status", [])
    texts = [*(raw_status if isinstance(raw_status, list) else [str(raw_status)]),
             *b.proxy.get("summary"), *b.proxy.get("description")]
    if holder is not None:
        texts += [k.split(":", 1)[1] for k in holder.proxy.get("keywords", quiet=True)
                  if k.lower().startswith("doc.status:")]
    return document_status_from(texts)


def _sanction_details(sanctions: list[Any]) -> tuple[list[str], datetime | None, datetime | None]:
    texts, starts, ends = [], [], []
    for s in sanctions:
        texts += [*s.get("program"), *s.get("reason")]
        starts += [t for t in map(_parse_timestamp, s.get("startDate")) if t]
        ends += [t for t in map(_parse_timestamp, s.get("endDate")) if t]
    return texts, min(starts, default=None), max(ends, default=None)


def _entry_from_proxy(b: _Buffered, proxies: dict[str, _Buffered], documents_of: dict[str, list[_Buffered]],
                      sanctions_of: dict[str, list[Any]], source_list: str, now: datetime) -> dict[str, Any] | None:
    proxy, schema = b.proxy, b.proxy.schema
    if schema.is_a("Identification"):
        holder = next((proxies[h] for h in proxy.get("holder") if h in proxies), None)
        return _document_entry(b, holder, sanctions_of, source_list, now)

    if schema.is_a("Person"):
        kind = "PERSON"
    elif schema.is_a("Vessel"):
        kind = "VESSEL"
    elif schema.is_a("Vehicle"):
        kind = "VEHICLE"
    elif schema.name in _ORG_SCHEMATA:
        kind = "ORGANISATION"
    else:
        return None  # Sanction, Address, Ownership...: nothing to list on their own

    names = list(proxy.get("name", quiet=True))
    aliases = [*proxy.get("alias", quiet=True), *proxy.get("weakAlias", quiet=True),
               *proxy.get("previousName", quiet=True)]
    identifiers: list[dict[str, Any]] = []
    birth_dates: list[str] = []
    nationalities: list[str] = []
    sex = "UNKNOWN"
    phones = list(proxy.get("phone", quiet=True))

    if kind == "PERSON":
        names, aliases = _person_names(proxy)
        birth_dates = list(proxy.get("birthDate"))
        nationalities = _countries([*proxy.get("nationality"), *proxy.get("citizenship")])
        sex = {"male": "M", "female": "F", "other": "X"}.get(next(iter(proxy.get("gender")), ""), "UNKNOWN")
        single_country = nationalities[0] if len(nationalities) == 1 else None
        identifiers += [identifier("PASSPORT", n, single_country) for n in proxy.get("passportNumber")]
        identifiers += [identifier("ID_CARD", n, single_country) for n in proxy.get("idNumber")]
        for doc in documents_of.get(proxy.id, []):
            ident = _document_identifier(doc.proxy)
            if ident:
                identifiers.append(ident)
    elif kind == "VESSEL":
        identifiers += [identifier("IMO", _compact_imo(n)) for n in proxy.get("imoNumber")]
        identifiers += [identifier("MMSI", n) for n in proxy.get("mmsi")]
        nationalities = _countries(proxy.get("flag")) or _countries(proxy.get("country"))
        identifiers += [identifier("REGISTRATION_NUMBER", n, next(iter(nationalities), None))
                        for n in proxy.get("registrationNumber")]
    elif kind == "VEHICLE":
        nationalities = _countries(proxy.get("country"))
        identifiers += [identifier("VEHICLE_PLATE", n, next(iter(nationalities), None))
                        for n in proxy.get("registrationNumber")]
    else:  # ORGANISATION, or a phone-only LegalEntity
        nationalities = _countries([*proxy.get("jurisdiction"), *proxy.get("country")])
        if schema.name == "LegalEntity" and phones and all(_PHONE_LIKE.match(n) for n in names):
            kind, names, aliases = "PHONE", [], []
        identifiers += [identifier("REGISTRATION_NUMBER", n, next(iter(nationalities), None))
                        for n in proxy.get("registrationNumber")]
    identifiers += [identifier("PHONE", p) for p in phones]

    topics = list(proxy.get("topics", quiet=True))
    sanction_texts, valid_from, valid_until = _sanction_details(sanctions_of.get(proxy.id, []))
    if sanction_texts or sanctions_of.get(proxy.id):
        topics.append("sanction")
    reason = _reason(proxy, topics, source_list)
    if sanction_texts:
        reason = f"{reason} ({'; '.join(_unique(sanction_texts))})"
    return make_entry(
        proxy.id, kind, source_list, _updated_at(b, now), reason=reason, names=names, aliases=aliases,
        identifiers=identifiers, birth_dates=birth_dates, nationalities=nationalities, sex=sex, topics=topics,
        action_on_hit=_keyword_action(proxy) or default_action(topics),
        valid_from=valid_from, valid_until=valid_until)


def _document_entry(b: _Buffered, holder: _Buffered | None, sanctions_of: dict[str, list[Any]],
                    source_list: str, now: datetime) -> dict[str, Any]:
    doc = b.proxy
    ident = _document_identifier(doc)
    if ident is None:
        raise ValueError("document has no number")
    status = _document_status(b, holder)
    names, aliases, birth_dates, nationalities, sex, topics = [], [], [], [], "UNKNOWN", []
    holder_reason, action = None, None
    if holder is not None:
        hp = holder.proxy
        if hp.schema.is_a("Person"):
            names, aliases = _person_names(hp)
            birth_dates = list(hp.get("birthDate"))
            nationalities = _countries([*hp.get("nationality"), *hp.get("citizenship")])
            sex = {"male": "M", "female": "F", "other": "X"}.get(next(iter(hp.get("gender")), ""), "UNKNOWN")
        else:
            names = list(hp.get("name"))
        topics = list(hp.get("topics", quiet=True))
        holder_reason = _reason(hp, topics, source_list)
        action = _keyword_action(hp)
    if not names:  # Passport carries the holder's name itself
        given, surname = " ".join(doc.get("givenName", quiet=True)), " ".join(doc.get("surname", quiet=True))
        names = [n for n in [f"{given} {surname}".strip()] if n]
        birth_dates = birth_dates or list(doc.get("birthDate", quiet=True))
        gender = next(iter(doc.get("gender", quiet=True)), "")
        sex = {"male": "M", "female": "F", "other": "X"}.get(gender, sex)
    kind_word = {"PASSPORT": "Passport", "ID_CARD": "Identity card"}.get(ident["scheme"], "Document")
    own_text = " ".join([*doc.get("summary"), *doc.get("description")])
    if own_text:
        reason = own_text
    elif holder_reason:
        reason = f"{kind_word} of {names[0] if names else holder.proxy.id}: {holder_reason}"
    elif status != "UNKNOWN":
        reason = f"{kind_word} reported {status.lower()}"
    else:
        reason = f"Listed on {source_list}"
    return make_entry(
        doc.id, "DOCUMENT", source_list, _updated_at(b, now), reason=reason, names=names, aliases=aliases,
        identifiers=[ident], birth_dates=birth_dates, nationalities=nationalities, sex=sex,
        document_status=status, topics=topics, action_on_hit=action or default_action(topics, status))


# ---------------------------------------------------------------------------- CSV

_REQUIRED_COLUMNS = ("entry_id", "kind")
_DEFAULT_SCHEME = {"DOCUMENT": "PASSPORT", "VEHICLE": "VEHICLE_PLATE", "VESSEL": "IMO", "PHONE": "PHONE"}
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class _RowError(ValueError):
    pass


def entries_from_csv(lines: Iterable[str], source_list: str,
                     now: datetime | None = None) -> Iterator[ParsedLine]:
    """CSV rows (header documented in the module docstring) -> WatchlistEntry datums."""
    now = _now(now)
    reader = csv.DictReader(iter(lines))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in _REQUIRED_COLUMNS if c not in header]
    if missing:
        yield ParsedLine(1, error=f"header lacks required column(s): {', '.join(missing)}")
        return
    reader.fieldnames = header
    for row in reader:
        line_no = reader.line_num  # the record's last physical line (quoted fields may span lines)
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue
        if row.get(None):
            yield ParsedLine(line_no, error=f"{len(row[None])} more field(s) than the header")
            continue
        try:
            yield ParsedLine(line_no, entry=_entry_from_row(row, source_list, now))
        except _RowError as exc:
            yield ParsedLine(line_no, error=str(exc))


def _cell(row: dict[str, Any], column: str) -> str:
    return (row.get(column) or "").strip()


def _enum(row: dict[str, Any], column: str, symbols: tuple[str, ...], default: str | None) -> str | None:
    value = _cell(row, column).upper().replace(" ", "_")
    if not value:
        return default
    if value not in symbols:
        raise _RowError(f"{column}: {value!r} is not one of {', '.join(symbols)}")
    return value


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def _country(value: str, column: str) -> str:
    code = _alpha2(value)
    if code is None:
        raise _RowError(f"{column}: {value!r} is not an ISO 3166 country code")
    return code


def _entry_from_row(row: dict[str, Any], source_list: str, now: datetime) -> dict[str, Any]:
    entry_id = _cell(row, "entry_id")
    if not entry_id:
        raise _RowError("entry_id is empty")
    kind = _enum(row, "kind", ENTRY_KINDS, None)
    if kind is None:
        raise _RowError("kind is empty")
    name = _cell(row, "name")
    if kind in ("PERSON", "ORGANISATION") and not name:
        raise _RowError(f"a {kind} entry needs a name")

    birth_date = _cell(row, "birth_date")
    if birth_date:
        if not _PARTIAL_DATE.match(birth_date):
            raise _RowError(f"birth_date: {birth_date!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        try:
            padded = (birth_date + "-01-01")[:10] if len(birth_date) < 10 else birth_date
            date.fromisoformat(padded)
        except ValueError:
            raise _RowError(f"birth_date: {birth_date!r} is not a real date") from None

    nationalities = [_country(c, "nationality") for c in _split(_cell(row, "nationality"))]
    sex = _enum(row, "sex", SEXES, "UNKNOWN")

    identifiers = []
    value = _cell(row, "identifier_value")
    ident_country = _cell(row, "identifier_country")
    ident_country = _country(ident_country, "identifier_country") if ident_country else None
    scheme = _enum(row, "identifier_scheme", IDENTIFIER_SCHEMES, _DEFAULT_SCHEME.get(kind, "OTHER"))
    if value:
        identifiers.append(identifier(scheme, _identifier_value(scheme, value, ident_country), ident_country))
    elif kind in _DEFAULT_SCHEME:
        raise _RowError(f"a {kind} entry needs an identifier_value")

    status = _enum(row, "document_status", DOCUMENT_STATUSES, "UNKNOWN")
    topics = _split(_cell(row, "topics"))
    action = _enum(row, "action_on_hit", HIT_ACTIONS, None) or default_action(topics, status)
    valid_until = None
    if _cell(row, "valid_until"):
        valid_until = _parse_timestamp(_cell(row, "valid_until"))
        if valid_until is None:
            raise _RowError(f"valid_until: {_cell(row, 'valid_until')!r} is not an ISO 8601 date or timestamp")
    reason = _cell(row, "reason") or topic_reason(topics) or (
        f"Document reported {status.lower()}" if status != "UNKNOWN" else f"Listed on {source_list}")
    return make_entry(
        entry_id, kind, source_list, now, reason=reason, names=[name] if name else [],
        aliases=_split(_cell(row, "aliases")), identifiers=identifiers,
        birth_dates=[birth_date] if birth_date else [], nationalities=nationalities, sex=sex,
        document_status=status, topics=topics, action_on_hit=action, valid_until=valid_until)


def _identifier_value(scheme: str, value: str, country: str | None) -> str:
    if scheme == "PHONE":
        try:
            number = phonenumbers.parse(value, country)
        except phonenumbers.NumberParseException as exc:
            raise _RowError(f"identifier_value: {value!r} is not a phone number ({exc})") from None
        if not phonenumbers.is_possible_number(number):
            raise _RowError(f"identifier_value: {value!r} is not a possible phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if scheme == "IMO":
        if not stdnum_imo.is_valid(value):
            raise _RowError(f"identifier_value: {value!r} is not an IMO number with a valid check digit")
        return stdnum_imo.compact(value)
    return re.sub(r"\s+", " ", value)


def _compact_imo(value: str) -> str:
    """IMO numbers are stored as their 7 digits (FtM writes 'IMO9012343')."""
    return stdnum_imo.compact(value) if stdnum_imo.is_valid(value) else value
