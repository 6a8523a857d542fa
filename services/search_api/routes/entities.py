"""Entity timelines and link graphs. An entity is a key of the events' ``entities`` field
(``doc:MX:X1234567``, ``phone:+525512345678``, ``person:<hash>``, ``vehicle:MX:ABC123``...)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from borderhub.domain.entities import event_entities
from services.search_api.indices import EVENTS_ALIAS, WATCHLIST_ALIAS
from services.search_api.queries import (SOURCE_EXCLUDES, cooccurrence_query, fingerprint, identifier_of,
                                         is_entity_key, listed_matches, timeline_query, watchlist_identifier_query)
from services.search_api.routes import ERRORS, audit_of, check_time_range, es_of, page_body, paged_search, source_of
from services.search_api.security import NETWORK, SEARCH, Caller, require

router = APIRouter(tags=["entities"])

EntityKey = Annotated[str, Path(min_length=3, max_length=220, description="Entity key, e.g. doc:MX:X1234567")]
TIMELINE_SORT = [{"@timestamp": "asc"}, {"event_id": "asc"}]
# Per step outwards, the most recent events read; ports join everything, so they are never
# followed (a port is not a link between people).
EVENTS_PER_STEP = 500
NEVER_FOLLOWED = ("port:",)
GRAPH_SOURCE = ["kind", "event_id", "@timestamp", "entities", "port_locode", "traveller", "document", "documents",
                "persons", "conveyance", "phone_numbers", "category", "case_reference"]
PLURAL = {"crossing": "crossings", "seizure": "seizures", "biometric": "biometrics"}
EDGE_EVENT_IDS = 5


def checked_key(entity_key: str) -> str:
    if not is_entity_key(entity_key):
        raise HTTPException(400, "not an entity key: expected <type>:<id> with type one of person, doc, vehicle, "
                                 "vessel, phone, container, seizure, port")
    return entity_key


def entity_type(key: str) -> str:
    prefix = key.split(":", 1)[0]
    return "document" if prefix == "doc" else prefix


@router.get("/v1/entities/{entity_key}/timeline", responses={**ERRORS, 400: {"description": "Not an entity key"}},
            summary="Every event touching an entity, in time order")
async def timeline(
    request: Request,
    entity_key: EntityKey,
    time_from: Annotated[dt.datetime | None, Query(alias="from")] = None,
    time_to: Annotated[dt.datetime | None, Query(alias="to")] = None,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
    caller: Caller = Depends(require(*SEARCH)),
) -> dict:
    key = checked_key(entity_key)
    start, end = check_time_range(time_from, time_to)
    params = {"entity": key, "from": start, "to": end}
    page = await paged_search(es_of(request), index=EVENTS_ALIAS, query=timeline_query(key, start, end),
                              sort=TIMELINE_SORT, size=size, cursor_token=cursor, fingerprint=fingerprint(params),
                              source_excludes=SOURCE_EXCLUDES)
    results = [source_of(h) for h in page.hits]
    ids = [r["id"] for r in results]
    await audit_of(request).record(request, caller, "entities.timeline", {**params, "size": size,
                                                                          "cursor": bool(cursor)},
                                   results=len(ids), record_ids=ids)
    return page_body(page, results, entity={"key": key, "type": entity_type(key)})


@router.get("/v1/entities/{entity_key}/network", responses={**ERRORS, 400: {"description": "Not an entity key"}},
            summary="The link graph around an entity: entities sharing events, to depth N")
async def network(
    request: Request,
    entity_key: EntityKey,
    depth: Annotated[int, Query(ge=1, le=3, description="Steps outwards (1-3).")] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=500, description="Node cap; the graph is cut there.")] = 150,
    caller: Caller = Depends(require(*NETWORK)),
) -> dict:
    key = checked_key(entity_key)
    es = es_of(request)
    depth_of: dict[str, int] = {key: 0}
    events: dict[str, dict] = {}
    frontier, truncated = [key], False
    for step in range(1, depth + 1):
        if not frontier:
            break
        response = await es.search(index=EVENTS_ALIAS, query=cooccurrence_query(frontier), size=EVENTS_PER_STEP,
                                   sort=[{"@timestamp": "desc"}], source_includes=GRAPH_SOURCE,
                                   ignore_unavailable=True, allow_no_indices=True)
        hits = response["hits"]["hits"]
        truncated |= response["hits"]["total"]["value"] > len(hits)
        frontier = []
        for hit in hits:
            events.setdefault(hit["_id"], hit["_source"])
            for other in hit["_source"].get("entities") or ():
                if other in depth_of or other.startswith(NEVER_FOLLOWED):
                    continue
                if len(depth_of) >= max_nodes:
                    truncated = True
                    continue
                depth_of[other] = step
                frontier.append(other)

    edges = _edges(events.items(), depth_of)
    labels = _labels(events.values(), depth_of)
    listed = await _listed(es, list(depth_of))
    nodes = [{"key": k, "type": entity_type(k), "label": labels.get(k, k), "depth": d,
              "listed": bool(listed.get(k)), "watchlist": listed.get(k, [])}
             for k, d in sorted(depth_of.items(), key=lambda kv: (kv[1], kv[0]))]
    await audit_of(request).record(request, caller, "entities.network",
                                   {"entity": key, "depth": depth, "max_nodes": max_nodes},
                                   results=len(nodes), record_ids=list(events))
    return {"root": key, "depth": depth, "nodes": nodes, "edges": edges, "events": len(events),
            "truncated": truncated}


def _edges(events, depth_of: dict[str, int]) -> list[dict]:
    """Two entities are linked once per event naming both."""
    weight: Counter = Counter()
    samples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event_id, source in events:
        keys = sorted({k for k in source.get("entities") or () if k in depth_of})
        for a, b in itertools.combinations(keys, 2):
            weight[(a, b)] += 1
            if len(samples[(a, b)]) < EDGE_EVENT_IDS:
                samples[(a, b)].append(event_id)
    return [{"source": a, "target": b, "weight": w, "event_ids": samples[(a, b)]}
            for (a, b), w in sorted(weight.items())]


def _labels(sources, depth_of: dict[str, int]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for source in sources:
        kind = PLURAL.get(source.get("kind"))
        if kind is None:
            continue
        try:
            refs = event_entities(kind, source)
        except (KeyError, TypeError, ValueError):  # an event too odd to label: keys stay as labels
            continue
        for ref in refs:
            if ref.key in depth_of and ref.key not in labels:
                labels[ref.key] = ref.label
    return labels


async def _listed(es, keys: list[str]) -> dict[str, list[dict]]:
    """Watchlist entries listing each node's identifier (document, plate, phone, vessel)."""
    identifiers = {k: i for k in keys if (i := identifier_of(k)) is not None}
    if not identifiers:
        return {}
    response = await es.search(index=WATCHLIST_ALIAS, query=watchlist_identifier_query(list(identifiers.values())),
                               size=1000, source_includes=["entry_id", "identifiers", "source_list", "action_on_hit",
                                                           "valid_until"],
                               ignore_unavailable=True, allow_no_indices=True)
    entries = [h["_source"] for h in response["hits"]["hits"]]
    now = dt.datetime.now(dt.timezone.utc)
    return {k: found for k, ident in identifiers.items() if (found := listed_matches(ident, entries, now))}
