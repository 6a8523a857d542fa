"""The Elasticsearch contract of the search side: index names and aliases, templates with
explicit mappings, and how each Kafka record becomes a document. The indexer writes with it,
the search API reads with it.

- Events go to monthly indices ``bh-events-YYYY.MM`` behind the alias ``bh-events``; the
  document id is the event id and the month comes from the event's own time, so a replay
  lands on the same document (idempotent).
- Alerts: ``bh-alerts`` (id = alert id; triage state lives on the same document).
- Watchlist entries: ``bh-watchlist`` (id = entry id; a tombstone deletes).
- Link sets (``hub.links.v1``, the entities and edges correlation found in one event): monthly
  indices ``bh-links-YYYY.MM`` behind ``bh-links``, one document per event (id = event id).
  The network endpoint walks the graph they make.
- Audit of investigator queries: ``bh-audit`` (append-only, admins read it).
Biometric vectors are indexed for similarity but excluded from ``_source``, so no search
response can carry them. A vector that cannot be compared (wrong length for its modality,
zero length, not finite) is left out of the similarity index, and ``template.similarity_skipped``
says why: the capture itself is still indexed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from borderhub.avro import to_json
from borderhub.domain.entities import event_entities, event_time
from borderhub.domain.events import vector_problem
from borderhub.domain.ports import port_info
from borderhub.settings import get_settings

# Names are fixed for the life of a process: BORDERHUB_ES_INDEX_PREFIX ("bh" by default).
INDEX_PREFIX = get_settings().es_index_prefix
EVENTS_ALIAS = f"{INDEX_PREFIX}-events"
ALERTS_ALIAS = f"{INDEX_PREFIX}-alerts"
WATCHLIST_ALIAS = f"{INDEX_PREFIX}-watchlist"
LINKS_ALIAS = f"{INDEX_PREFIX}-links"
AUDIT_ALIAS = f"{INDEX_PREFIX}-audit"
KIND_NAMES = {"crossings": "crossing", "seizures": "seizure", "biometrics": "biometric"}

# Folding and lowercasing for names in any Latin spelling; non-Latin scripts are indexed as
# written and, through the Latin transliteration fields, as Latin too.
ANALYSIS = {
    "analyzer": {
        "bh_name": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        "bh_name_prefix": {"type": "custom", "tokenizer": "standard",
                           "filter": ["lowercase", "asciifolding", "bh_edge"]},
    },
    "filter": {"bh_edge": {"type": "edge_ngram", "min_gram": 2, "max_gram": 15}},
    "normalizer": {"bh_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
}

_NAME = {"type": "text", "analyzer": "bh_name",
         "fields": {"prefix": {"type": "text", "analyzer": "bh_name_prefix", "search_analyzer": "bh_name"},
                    "raw": {"type": "keyword", "normalizer": "bh_keyword"}}}
_KW = {"type": "keyword"}
_DATE = {"type": "date"}

_TRAVELLER = {"properties": {
    "traveller_id": _KW, "given_names": _NAME, "family_names": _NAME, "names_latin": _NAME,
    "date_of_birth": _DATE, "sex": _KW, "nationality": _KW, "phone_numbers": _KW}}
_DOCUMENT = {"properties": {
    "document_type": _KW, "number": _KW, "issuing_country": _KW, "expiry_date": _DATE,
    "mrz_lines": {"type": "keyword", "index": False}}}
_CONVEYANCE = {"properties": {
    "vehicle_plate": _KW, "vehicle_country": _KW, "vehicle_vin": _KW, "vessel_name": _NAME,
    "vessel_imo": _KW, "vessel_mmsi": _KW, "flight_number": _KW, "container_numbers": _KW}}
# double for sums and ranges; the exact decimal stays in _source.
_MONEY = {"properties": {"amount": {"type": "double"}, "currency": _KW}}


def _settings(shards: int = 1, replicas: int = 0, sort: dict[str, str] | None = None) -> dict:
    settings = {"number_of_shards": shards, "number_of_replicas": replicas, "refresh_interval": "1s",
                "analysis": ANALYSIS}
    if sort:
        settings["sort"] = {"field": list(sort), "order": list(sort.values())}
    return settings


# Documents kept in the order of the lists' default sort (newest first, then the unique
# tiebreaker, exactly as the search's sort keys): a newest-first page stops after the first
# matches instead of ranking every one, and its documents lie next to each other on disk. Set
# at creation: indices made before keep their order until they age out.
EVENTS_ORDER = {"@timestamp": "desc", "event_id": "asc"}
ALERTS_ORDER = {"created_at": "desc", "alert_id": "asc"}


# Vectors are mapped per modality with the dimensions of the deployed extractors; a vector
# of another length keeps its metadata but is not indexed for similarity.
VECTOR_DIMS = {"FACE": 512, "FINGERPRINT": 256, "IRIS": 256}


def _vector_field(modality: str) -> str:
    return f"{modality.lower()}_vector"


def events_template(shards: int = 1, replicas: int = 0) -> dict:
    return {
        "index_patterns": [f"{EVENTS_ALIAS}-*"],
        "priority": 200,
        "template": {
            "settings": _settings(shards, replicas, EVENTS_ORDER),
            "aliases": {EVENTS_ALIAS: {}},
            "mappings": {
                # New schema fields are kept in _source but not indexed until mapped here.
                "dynamic": False,
                "_source": {"excludes": ["template.*_vector"]},
                "properties": {
                    "kind": _KW, "event_id": _KW, "@timestamp": _DATE, "indexed_at": _DATE,
                    "port_locode": _KW, "port_name": {"type": "text", "fields": {"raw": _KW}},
                    "port_country": _KW, "port_location": {"type": "geo_point"},
                    "location": {"type": "geo_point"}, "source_system": _KW,
                    "entities": _KW, "entity_types": _KW, "names": _NAME,
                    "nationalities": _KW, "document_numbers": _KW, "plates": _KW, "phones": _KW,
                    # crossing
                    "occurred_at": _DATE, "lane": _KW, "direction": _KW, "mode": _KW,
                    "traveller": _TRAVELLER, "document": _DOCUMENT, "conveyance": _CONVEYANCE,
                    "travel_group_id": _KW, "declared_currency": {"type": "nested", **_MONEY},
                    # seizure
                    "category": _KW, "detection_method": _KW, "concealment": {"type": "text"},
                    "items": {"type": "nested", "properties": {
                        "description": {"type": "text"}, "substance": {"type": "keyword", "normalizer": "bh_keyword"},
                        "quantity": {"type": "double"}, "unit": _KW, "estimated_value": _MONEY}},
                    "persons": _TRAVELLER, "documents": _DOCUMENT, "phone_numbers": _KW, "case_reference": _KW,
                    # biometric
                    "captured_at": _DATE, "quality": {"type": "integer"}, "crossing_event_id": _KW,
                    "traveller_id": _KW,
                    "template": {"properties": {
                        "modality": _KW, "algorithm": _KW, "algorithm_version": _KW, "dimension": {"type": "integer"},
                        "similarity_skipped": _KW,
                        **{_vector_field(m): {"type": "dense_vector", "dims": dims, "index": True, "similarity": "cosine"}
                           for m, dims in VECTOR_DIMS.items()}}},
                },
            },
        },
    }


# Links: one document per event's LinkSet rather than one per edge aggregating counts. The
# LinkSet is what correlation publishes and what its own graph is rebuilt from, so the index
# mirrors the topic record for record: a plain index by event id is idempotent (a replay
# rewrites it), costs one bulk action per record like the events (no scripted upserts that
# conflict on hot edges and would need every event id kept per edge to count replays once), and
# ages out by month like the events. The network endpoint reads the link sets touching its
# frontier (``nodes``) and counts an edge's weight and event ids from them; labels come along.
def links_template(shards: int = 1, replicas: int = 0) -> dict:
    return {
        "index_patterns": [f"{LINKS_ALIAS}-*"],
        "priority": 200,
        "template": {
            "settings": _settings(shards, replicas),
            "aliases": {LINKS_ALIAS: {}},
            "mappings": {
                "dynamic": False,
                "properties": {
                    "event_id": _KW, "event_kind": _KW, "occurred_at": _DATE, "indexed_at": _DATE,
                    "port_locode": _KW,
                    # Every key an edge touches: what a step outwards in the graph searches.
                    "nodes": _KW,
                    # Read back whole, never searched.
                    "entities": {"type": "object", "enabled": False},
                    "edges": {"type": "object", "enabled": False},
                },
            },
        },
    }


def alerts_index(shards: int = 1, replicas: int = 0) -> dict:
    return {
        "settings": _settings(shards, replicas, ALERTS_ORDER),
        "mappings": {"dynamic": False, "properties": {
            "alert_id": _KW, "created_at": _DATE, "alert_type": _KW, "severity": _KW, "event_id": _KW,
            "event_kind": _KW, "occurred_at": _DATE, "port_locode": _KW, "subject": _NAME, "entry_id": _KW,
            "source_list": _KW, "action_on_hit": _KW, "rule": _KW, "score": {"type": "float"},
            "explanation": {"properties": {"feature": _KW, "weight": {"type": "float"}, "detail": {"type": "text"}}},
            "path": _KW, "related_event_ids": _KW, "port_location": {"type": "geo_point"},
            # triage, owned by the search API
            "status": _KW, "assignee": _KW, "updated_at": _DATE,
            "history": {"properties": {"at": _DATE, "by": _KW, "status": _KW, "assignee": _KW,
                                       "note": {"type": "text"}}},
        }},
    }


def watchlist_index(shards: int = 1, replicas: int = 0) -> dict:
    return {
        "settings": _settings(shards, replicas),
        "mappings": {"dynamic": False, "_source": {"excludes": ["biometric_templates.vector"]}, "properties": {
            "entry_id": _KW, "kind": _KW, "names": _NAME, "aliases": _NAME,
            "identifiers": {"properties": {"scheme": _KW, "value": _KW, "country": _KW}},
            "birth_dates": _KW, "nationalities": _KW, "sex": _KW, "document_status": _KW,
            "biometric_templates": {"properties": {
                "modality": _KW, "algorithm": _KW, "algorithm_version": _KW, "dimension": {"type": "integer"},
                "vector": {"type": "float", "index": False, "doc_values": False}}},
            "topics": _KW, "reason": {"type": "text"}, "action_on_hit": _KW, "valid_from": _DATE,
            "valid_until": _DATE, "source_list": _KW, "updated_at": _DATE,
        }},
    }


def audit_index() -> dict:
    return {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"dynamic": "strict", "properties": {
            "at": _DATE, "key_id": _KW, "role": _KW, "key_name": _KW, "client": _KW, "method": _KW,
            "path": _KW, "action": _KW, "query": {"type": "flattened"}, "status": {"type": "integer"},
            "results": {"type": "long"}, "record_ids": _KW}},
    }


def monthly_index_name(alias: str, when: dt.datetime) -> str:
    return f"{alias}-{when.astimezone(dt.timezone.utc):%Y.%m}"


def event_index_name(when: dt.datetime) -> str:
    return monthly_index_name(EVENTS_ALIAS, when)


def event_document(kind: str, datum: dict, now: dt.datetime | None = None) -> tuple[str, str, dict]:
    """(index, id, document) for one event datum."""
    when = event_time(kind, datum)
    vector: list[float] = []
    if kind == "biometrics":
        # Plain floats need no conversion; walking them in to_json was most of the indexer's CPU.
        vector = datum["template"]["vector"]
        datum = {**datum, "template": {**datum["template"], "vector": []}}
    doc: dict[str, Any] = to_json(datum)
    refs = event_entities(kind, datum)
    people = [datum.get("traveller")] if kind == "crossings" else list(datum.get("persons") or [])
    documents = [datum.get("document")] if kind != "seizures" else list(datum.get("documents") or [])
    conveyance = datum.get("conveyance") or {}
    port = port_info(datum.get("port_locode"))
    doc.update({
        "kind": KIND_NAMES[kind],
        "@timestamp": to_json(when),
        "indexed_at": to_json(now or dt.datetime.now(dt.timezone.utc)),
        "entities": [r.key for r in refs],
        "entity_types": sorted({r.type for r in refs}),
        "names": [n for p in people if p for n in (p.get("given_names"), p.get("family_names"), p.get("names_latin")) if n],
        "nationalities": sorted({p["nationality"] for p in people if p and p.get("nationality")}),
        "document_numbers": [d["number"] for d in documents if d and d.get("number")],
        "plates": [conveyance["vehicle_plate"]] if conveyance.get("vehicle_plate") else [],
        "phones": sorted({r.key.split(":", 1)[1] for r in refs if r.type == "phone"}),
    })
    if kind == "biometrics":
        template = doc["template"]
        template.pop("vector")
        skipped = _unindexable(template["modality"], vector)
        if skipped:
            template["similarity_skipped"] = skipped
        else:
            template[_vector_field(template["modality"])] = list(vector)
    if port:
        doc.update({"port_name": port.name, "port_country": port.country,
                    "port_location": {"lat": port.lat, "lon": port.lon}})
    return event_index_name(when), datum["event_id"], doc


def _unindexable(modality: str, vector: list[float]) -> str | None:
    """Why a template vector stays out of the similarity index, or None. Elasticsearch would
    refuse the whole document for it (a 400, dead-lettered), losing the capture's metadata."""
    dims = VECTOR_DIMS.get(modality)
    if dims is None:
        return f"no similarity index for modality {modality}"
    if dims != len(vector):
        return f"vector has {len(vector)} elements, the {modality} index takes {dims}"
    problem = vector_problem(vector)
    return f"{problem[0]}: {problem[1]}" if problem else None


def link_document(datum: dict, now: dt.datetime | None = None) -> tuple[str, str, dict]:
    """(index, id, document) for one LinkSet datum: the month of the event, id = event id."""
    doc: dict[str, Any] = to_json(datum)
    nodes = {key for edge in datum["edges"] for key in (edge["source"], edge["target"])}
    doc["nodes"] = sorted(nodes)
    doc["indexed_at"] = to_json(now or dt.datetime.now(dt.timezone.utc))
    return monthly_index_name(LINKS_ALIAS, datum["occurred_at"]), datum["event_id"], doc


def alert_document(datum: dict) -> tuple[str, str, dict]:
    doc = to_json(datum)
    port = port_info(datum.get("port_locode"))
    if port:
        doc["port_location"] = {"lat": port.lat, "lon": port.lon}
    return ALERTS_ALIAS, datum["alert_id"], doc


def watchlist_document(datum: dict) -> tuple[str, str, dict]:
    return WATCHLIST_ALIAS, datum["entry_id"], to_json(datum)
