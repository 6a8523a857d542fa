"""Elasticsearch request bodies built from validated parameters. Pure functions, no I/O.

User input only ever lands in *values* of structured queries (term, terms, match, range,
geo_distance, geo_bounding_box); nothing here passes text to a query parser (no
query_string / simple_query_string), so no input can become query syntax.

Cursor pagination: a cursor is an opaque token carrying the search_after values of the last
hit, the point-in-time id when one is open, and a fingerprint of the filters it belongs to, so
a cursor cannot be replayed against a different query.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from borderhub.domain.identifiers import normalize_document_number, normalize_flight_number, normalize_plate
from services.search_api.indices import ALERTS_ORDER, EVENTS_ORDER

# --- events -------------------------------------------------------------------------------------

EVENT_KINDS = ("crossing", "seizure", "biometric")
SORTS = ("time_desc", "time_asc", "relevance")
# Vectors are excluded from _source by the mapping; excluding them again per request keeps them
# out should a mapping ever be changed. The event search, the hot path, leaves it to the API's
# SafeJSONResponse: source filtering costs Elasticsearch a parse and rewrite of every hit.
SOURCE_EXCLUDES = ["template.*_vector", "template.vector", "*.vector", "biometric_templates"]
FACETS = {"kind": "kind", "port": "port_locode", "category": "category", "nationality": "nationalities"}
ENTITY_PREFIXES = ("person", "doc", "vehicle", "vessel", "phone", "container", "seizure", "port")
ENTITY_KEY_RE = re.compile(r"(?:%s):[^\s\x00-\x1f]{1,200}" % "|".join(ENTITY_PREFIXES))


@dataclass(frozen=True)
class GeoRadius:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class GeoBox:
    top: float
    left: float
    bottom: float
    right: float


@dataclass(frozen=True)
class EventFilters:
    q: str | None = None
    kinds: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None
    nationality: str | None = None
    document: str | None = None
    category: str | None = None
    substance: str | None = None
    plate: str | None = None
    vessel: str | None = None
    flight: str | None = None
    radius: GeoRadius | None = None
    box: GeoBox | None = None


def iso(when: dt.datetime) -> str:
    """UTC ISO 8601; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_range(fieldname: str, start: dt.datetime | None, end: dt.datetime | None) -> dict | None:
    bounds = {}
    if start is not None:
        bounds["gte"] = iso(start)
    if end is not None:
        bounds["lt"] = iso(end)
    return {"range": {fieldname: bounds}} if bounds else None


_WORD_RE = re.compile(r"\w+")


def _fuzzy_edits(word: str) -> int:
    """Edits ``fuzziness: AUTO`` allows a word of this length."""
    return 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2


def could_be_a_name(q: str) -> bool:
    """Whether the name clauses can match ``q`` at all. Names hold no digits, and every word
    must match (operator and): a word with more digits than its fuzzy edits (a document number,
    a plate, a case reference) matches no name, while the fuzzy walk of the term dictionary
    for it was most of the cost of such a search. "J0SE" (one digit, one edit) still can."""
    return all(sum(c.isdigit() for c in word) <= _fuzzy_edits(word) for word in _WORD_RE.findall(q))


def text_query(q: str) -> dict:
    """Full text over the event: fuzzy names, name prefixes, identifiers typed as seen, and the
    free-text fields. All clauses are plain match/term queries with ``q`` as their value."""
    upper = q.strip().upper()
    identifiers = sorted({upper, normalize_document_number(upper) or upper})
    # ``names`` holds every name of the event, Latin transliterations included, so fuzzy names
    # are looked up there once rather than again in each person's names_latin (same matches,
    # a third of the fuzzy expansions).
    names = [
        {"multi_match": {"query": q, "fields": ["names^3"], "fuzziness": "AUTO", "prefix_length": 1,
                         "operator": "and"}},
        {"match": {"names.prefix": {"query": q, "operator": "and", "boost": 1.5}}},
    ] if could_be_a_name(q) else []
    return {"bool": {"should": [
        *names,
        {"terms": {"document_numbers": identifiers, "boost": 4}},
        {"terms": {"plates": sorted({upper, normalize_plate(upper) or upper}), "boost": 4}},
        {"term": {"phones": {"value": q.strip(), "boost": 4}}},
        {"term": {"case_reference": {"value": q.strip(), "boost": 4}}},
        {"multi_match": {"query": q, "fields": ["port_name", "concealment", "conveyance.vessel_name"],
                         "operator": "and"}},
        {"nested": {"path": "items", "query": {"match": {"items.description": {"query": q, "operator": "and"}}}}},
    ], "minimum_should_match": 1}}


def _geo_clauses(f: EventFilters) -> list[dict]:
    """An event is placed where it happened when it says so, else at its port."""
    clauses = []
    if f.radius:
        r = f.radius
        clauses.append({"bool": {"should": [
            {"geo_distance": {"distance": f"{r.radius_km}km", name: {"lat": r.lat, "lon": r.lon}}}
            for name in ("location", "port_location")], "minimum_should_match": 1}})
    if f.box:
        b = f.box
        box = {"top_left": {"lat": b.top, "lon": b.left}, "bottom_right": {"lat": b.bottom, "lon": b.right}}
        should = [{"geo_bounding_box": {name: box}} for name in ("location", "port_location")]
        clauses.append({"bool": {"should": should, "minimum_should_match": 1}})
    return clauses


def event_filter_clauses(f: EventFilters) -> list[dict]:
    clauses: list[dict] = []
    if f.kinds:
        clauses.append({"terms": {"kind": list(f.kinds)}})
    if f.ports:
        clauses.append({"terms": {"port_locode": list(f.ports)}})
    if (r := time_range("@timestamp", f.time_from, f.time_to)) is not None:
        clauses.append(r)
    if f.nationality:
        clauses.append({"term": {"nationalities": f.nationality}})
    if f.document:
        raw = f.document.strip().upper()
        clauses.append({"terms": {"document_numbers": sorted({raw, normalize_document_number(raw) or raw})}})
    if f.category:
        clauses.append({"term": {"category": f.category}})
    if f.substance:
        clauses.append({"nested": {"path": "items", "query": {"term": {"items.substance": f.substance}}}})
    if f.plate:
        raw = f.plate.strip().upper()
        clauses.append({"terms": {"plates": sorted({raw, normalize_plate(raw) or raw})}})
    if f.vessel:
        clauses.append(vessel_clause(f.vessel))
    if f.flight:
        clauses.append({"term": {"conveyance.flight_number": normalize_flight_number(f.flight)}})
    clauses += _geo_clauses(f)
    return clauses


def vessel_clause(vessel: str) -> dict:
    """An IMO number (7 digits, "IMO" prefix allowed), an MMSI (9 digits) or a vessel name."""
    digits = re.sub(r"^IMO\s*", "", vessel.strip(), flags=re.I)
    if re.fullmatch(r"\d{7}", digits):
        return {"term": {"conveyance.vessel_imo": digits}}
    if re.fullmatch(r"\d{9}", digits):
        return {"term": {"conveyance.vessel_mmsi": digits}}
    return {"match": {"conveyance.vessel_name": {"query": vessel, "operator": "and"}}}


def event_query(f: EventFilters) -> dict:
    body: dict[str, Any] = {"filter": event_filter_clauses(f)}
    if f.q:
        body["must"] = [text_query(f.q)]
    return {"bool": body}


def event_sort(order: str) -> list[dict]:
    """Sort keys with ``event_id`` as the unique tiebreaker search_after needs; time_desc is
    the events indices' own order (``indices.EVENTS_ORDER``)."""
    if order not in SORTS:
        raise ValueError(f"unknown sort {order!r}")
    if order == "relevance":
        return [{"_score": "desc"}, {"event_id": "asc"}]
    if order == "time_desc":
        return [{field: direction} for field, direction in EVENTS_ORDER.items()]
    return [{"@timestamp": "asc"}, {"event_id": "asc"}]


def facet_aggs(size: int = 20) -> dict:
    return {name: {"terms": {"field": fieldname, "size": size}} for name, fieldname in FACETS.items()}


def facets_from(aggregations: dict | None) -> dict:
    return {name: [{"key": b["key"], "count": b["doc_count"]} for b in agg["buckets"]]
            for name, agg in (aggregations or {}).items()}


# --- entities -----------------------------------------------------------------------------------

def is_entity_key(key: str) -> bool:
    return bool(ENTITY_KEY_RE.fullmatch(key))


def timeline_query(entity_key: str, start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict:
    clauses: list[dict] = [{"term": {"entities": entity_key}}]
    if (r := time_range("@timestamp", start, end)) is not None:
        clauses.append(r)
    return {"bool": {"filter": clauses}}


def links_query(keys: list[str]) -> dict:
    """Link sets with an edge touching any of ``keys``: one step outwards in the link graph."""
    return {"bool": {"filter": [{"terms": {"nodes": sorted(keys)}}]}}


@dataclass(frozen=True)
class Identifier:
    """What a graph node is, as a watchlist identifier."""
    schemes: tuple[str, ...]
    value: str
    country: str | None = None


_DOCUMENT_SCHEMES = ("PASSPORT", "ID_CARD", "OTHER_DOCUMENT")


def identifier_of(entity_key: str) -> Identifier | None:
    """The watchlist identifier an entity key stands for (documents, plates, phones, vessels)."""
    kind, _, rest = entity_key.partition(":")
    if kind == "doc" and ":" in rest:
        country, number = rest.split(":", 1)
        return Identifier(_DOCUMENT_SCHEMES, number, country)
    if kind == "vehicle" and ":" in rest:
        country, plate = rest.split(":", 1)
        return Identifier(("VEHICLE_PLATE",), plate, None if country == "??" else country)
    if kind == "phone":
        return Identifier(("PHONE",), rest)
    if kind == "vessel" and ":" in rest:
        scheme, number = rest.split(":", 1)
        return Identifier(("IMO",) if scheme == "imo" else ("MMSI",), number)
    return None


def _normal_identifier(scheme: str, value: str) -> str:
    if scheme in _DOCUMENT_SCHEMES:
        return normalize_document_number(value) or ""
    if scheme == "VEHICLE_PLATE":
        return normalize_plate(value) or ""
    if scheme == "IMO":
        return re.sub(r"\D", "", value)
    return value.strip()


def watchlist_identifier_query(identifiers: list[Identifier]) -> dict:
    values = sorted({i.value for i in identifiers})
    return {"bool": {"filter": [{"terms": {"identifiers.value": values}}]}}


def listed_matches(identifier: Identifier, entries: list[dict], now: dt.datetime) -> list[dict]:
    """The watchlist entries (ES sources) that list ``identifier`` and are in force at ``now``."""
    found = []
    for entry in entries:
        until = entry.get("valid_until")
        if until and until < iso(now):
            continue
        for ident in entry.get("identifiers") or ():
            scheme = ident.get("scheme")
            if scheme not in identifier.schemes:
                continue
            if _normal_identifier(scheme, ident.get("value") or "") != _normal_identifier(scheme, identifier.value):
                continue
            if identifier.country and ident.get("country") and ident["country"] != identifier.country:
                continue
            found.append({"entry_id": entry.get("entry_id"), "source_list": entry.get("source_list"),
                          "action_on_hit": entry.get("action_on_hit")})
            break
    return found


# --- alerts -------------------------------------------------------------------------------------

ALERT_STATUSES = ("new", "in_review", "confirmed", "false_positive", "escalated")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


@dataclass(frozen=True)
class AlertFilters:
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    source_list: str | None = None
    ports: tuple[str, ...] = ()
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None


def status_clause(statuses: tuple[str, ...]) -> dict:
    """Alerts nobody has triaged yet carry no status, or the indexer's initial "NEW": both count
    as "new". Stored statuses are matched in either case."""
    should: list[dict] = [{"terms": {"status": sorted({v for s in statuses for v in (s, s.upper())})}}]
    if "new" in statuses:
        should.append({"bool": {"must_not": [{"exists": {"field": "status"}}]}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def alert_query(f: AlertFilters) -> dict:
    clauses: list[dict] = []
    if f.statuses:
        clauses.append(status_clause(f.statuses))
    if f.severities:
        clauses.append({"terms": {"severity": list(f.severities)}})
    if f.source_list:
        clauses.append({"term": {"source_list": f.source_list}})
    if f.ports:
        clauses.append({"terms": {"port_locode": list(f.ports)}})
    if (r := time_range("created_at", f.time_from, f.time_to)) is not None:
        clauses.append(r)
    return {"bool": {"filter": clauses}}


ALERT_SORT = [{field: direction} for field, direction in ALERTS_ORDER.items()]  # the index's own order


def with_triage_defaults(alert: dict) -> dict:
    alert["status"] = (alert.get("status") or "new").lower()
    alert.setdefault("assignee", None)
    alert.setdefault("history", [])
    return alert


def triage_update(alert: dict, status: str, assignee: str | None, note: str | None, at: dt.datetime, *,
                  by: str, by_name: str = "", by_role: str = "") -> dict:
    """The partial document of one triage step: new state plus the history entry appended
    (``by`` is the key id; name and role as they were at the time)."""
    if status not in ALERT_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    entry = {"at": iso(at), "by": by, "by_name": by_name, "by_role": by_role, "status": status,
             "assignee": assignee, "note": note}
    history = list(alert.get("history") or []) + [entry]
    update = {"status": status, "updated_at": iso(at), "history": history}
    if assignee is not None:
        update["assignee"] = assignee
    return update


# --- audit --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilters:
    key_id: str | None = None
    action: str | None = None
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None


def audit_query(f: AuditFilters) -> dict:
    clauses: list[dict] = []
    if f.key_id:
        clauses.append({"term": {"key_id": f.key_id}})
    if f.action:
        clauses.append({"term": {"action": f.action}})
    if (r := time_range("at", f.time_from, f.time_to)) is not None:
        clauses.append(r)
    return {"bool": {"filter": clauses}}


# Audit records have no unique field of their own: pages run in a point in time, whose
# _shard_doc gives the total order search_after needs.
AUDIT_SORT = [{"at": "desc"}, {"_shard_doc": "desc"}]


# --- statistics ---------------------------------------------------------------------------------

INTERVALS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}
MAX_BUCKETS = 1000


def check_period(start: dt.datetime, end: dt.datetime, interval: str) -> None:
    if end <= start:
        raise ValueError("'to' must be after 'from'")
    if (end - start).total_seconds() / INTERVALS[interval] > MAX_BUCKETS:
        raise ValueError(f"more than {MAX_BUCKETS} {interval} buckets; choose a longer interval or a shorter period")


def _histogram(fieldname: str, interval: str, start: dt.datetime, end: dt.datetime, aggs: dict | None = None) -> dict:
    agg: dict[str, Any] = {"date_histogram": {"field": fieldname, "calendar_interval": interval,
                                              "min_doc_count": 0,
                                              "extended_bounds": {"min": iso(start), "max": iso(end)}}}
    if aggs:
        agg["aggs"] = aggs
    return agg


def seizure_stats_body(start: dt.datetime, end: dt.datetime, interval: str, ports: tuple[str, ...] = (),
                       category: str | None = None) -> dict:
    f = EventFilters(kinds=("seizure",), ports=ports, time_from=start, time_to=end, category=category)
    return {"size": 0, "track_total_hits": True, "query": event_query(f), "aggs": {
        "by_category": {"terms": {"field": "category", "size": 50}},
        "by_port": {"terms": {"field": "port_locode", "size": 200}},
        "items": {"nested": {"path": "items"}, "aggs": {
            "by_substance": {"terms": {"field": "items.substance", "size": 50}, "aggs": {
                "by_unit": {"terms": {"field": "items.unit", "size": 10},
                            "aggs": {"quantity": {"sum": {"field": "items.quantity"}}}},
                "by_currency": {"terms": {"field": "items.estimated_value.currency", "size": 10},
                                "aggs": {"amount": {"sum": {"field": "items.estimated_value.amount"}}}}}}}},
        "over_time": _histogram("@timestamp", interval, start, end,
                                {"by_category": {"terms": {"field": "category", "size": 20}}}),
    }}


def crossing_stats_body(start: dt.datetime, end: dt.datetime, interval: str, ports: tuple[str, ...] = ()) -> dict:
    f = EventFilters(kinds=("crossing",), ports=ports, time_from=start, time_to=end)
    return {"size": 0, "track_total_hits": True, "query": event_query(f), "aggs": {
        "by_port": {"terms": {"field": "port_locode", "size": 200},
                    "aggs": {"by_direction": {"terms": {"field": "direction", "size": 5}}}},
        "by_mode": {"terms": {"field": "mode", "size": 10}},
        "over_time": _histogram("@timestamp", interval, start, end),
    }}


def alert_stats_body(start: dt.datetime, end: dt.datetime, interval: str) -> dict:
    return {"size": 0, "track_total_hits": True,
            "query": {"bool": {"filter": [time_range("created_at", start, end)]}}, "aggs": {
                "by_source_list": {"terms": {"field": "source_list", "size": 100, "missing": "(rule)"}},
                "by_severity": {"terms": {"field": "severity", "size": 10}},
                "by_type": {"terms": {"field": "alert_type", "size": 10}},
                "by_status": {"terms": {"field": "status", "size": 10, "missing": "new"}},
                "over_time": _histogram("created_at", interval, start, end),
            }}


def buckets(agg: dict, **subs: Any) -> list[dict]:
    """Terms buckets as [{key, count, ...}]; ``subs`` maps output names to converters of a bucket."""
    out = []
    for b in agg.get("buckets", []):
        row = {"key": b.get("key_as_string", b["key"]), "count": b["doc_count"]}
        for name, convert in subs.items():
            row[name] = convert(b)
        out.append(row)
    return out


# --- cursors ------------------------------------------------------------------------------------

class CursorError(ValueError):
    """A cursor that is malformed or belongs to another query."""


MAX_CURSOR_CHARS = 8192
_PIT_RE = re.compile(r"[A-Za-z0-9_\-=+/]{1,4096}")


@dataclass(frozen=True)
class Cursor:
    after: list[Any]
    fingerprint: str
    pit: str | None = None
    extra: dict = field(default_factory=dict)


def fingerprint(params: dict) -> str:
    """A short digest of the normalised query a cursor belongs to."""
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    payload = {"v": 1, "a": cursor.after, "f": cursor.fingerprint}
    if cursor.pit:
        payload["p"] = cursor.pit
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, expected_fingerprint: str, sort_len: int) -> Cursor:
    """The cursor in ``token``; raises CursorError unless it is well formed, belongs to the query
    with ``expected_fingerprint`` and has one search_after value per sort key."""
    if not token or len(token) > MAX_CURSOR_CHARS:
        raise CursorError("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("malformed cursor") from None
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise CursorError("malformed cursor")
    after, fp, pit = payload.get("a"), payload.get("f"), payload.get("p")
    if not isinstance(after, list) or len(after) != sort_len:
        raise CursorError("malformed cursor")
    for value in after:
        if not (value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool)):
            raise CursorError("malformed cursor")
        if isinstance(value, str) and len(value) > 512:
            raise CursorError("malformed cursor")
    if pit is not None and not (isinstance(pit, str) and _PIT_RE.fullmatch(pit)):
        raise CursorError("malformed cursor")
    if fp != expected_fingerprint:
        raise CursorError("cursor belongs to another query; repeat the same parameters or drop the cursor")
    return Cursor(after=after, fingerprint=fp, pit=pit)
