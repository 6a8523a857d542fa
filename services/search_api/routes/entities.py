"""Entity timelines and link graphs. An entity is a key of the events' ``entities`` field
(``doc:MX:X1234567``, ``phone:+525512345678``, ``person:<hash>``, ``vehicle:MX:ABC123``...).
Timelines read the events; networks read the link graph correlation publishes (``bh-links``),
so the API shows the same graph network alerts are raised on."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from services.search_api.indices import EVENTS_ALIAS, LINKS_ALIAS, WATCHLIST_ALIAS
from services.search_api.queries import (SOURCE_EXCLUDES, fingerprint, identifier_of, is_entity_key, links_query,
                                         listed_matches, timeline_query, watchlist_identifier_query)
from services.search_api.routes import ERRORS, audit_of, check_time_range, es_of, page_body, paged_search, source_of
from services.search_api.security import NETWORK, SEARCH, Caller, require

router = APIRouter(tags=["entities"])

EntityKey = Annotated[str, Path(min_length=3, max_length=220, description="Entity key, e.g. doc:MX:X1234567")]
TIMELINE_SORT = [{"@timestamp": "asc"}, {"event_id": "asc"}]
# Per step outwards, the most recent link sets (one per event) read; ports join everything, so
# they are never followed (a port is not a link between people).
LINKSETS_PER_STEP = 500
LINKSET_SORT = [{"occurred_at": "desc"}, {"event_id": "asc"}]
LINKSET_SOURCE = ["event_id", "occurred_at", "entities", "edges"]
NEVER_FOLLOWED = ("port:",)
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
            summary="The link graph around an entity: correlation's links, to depth N")
async def network(
    request: Request,
    entity_key: EntityKey,
    depth: Annotated[int, Query(ge=1, le=3, description="Steps outwards (1-3).")] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=500, description="Node cap; the graph is cut there.")] = 150,
    caller: Caller = Depends(require(*NETWORK)),
) -> dict:
    key = checked_key(entity_key)
    es = es_of(request)
    graph = LinkNetwork(key, max_nodes)
    for step in range(1, depth + 1):
        if not graph.frontier:
            break
        response = await es.search(index=LINKS_ALIAS, query=links_query(graph.frontier), size=LINKSETS_PER_STEP,
                                   sort=LINKSET_SORT, source_includes=LINKSET_SOURCE,
                                   ignore_unavailable=True, allow_no_indices=True)
        hits = response["hits"]["hits"]
        graph.truncated |= response["hits"]["total"]["value"] > len(hits)
        graph.expand(step, [hit["_source"] for hit in hits])

    listed = await _listed(es, list(graph.depth_of))
    nodes = [{"key": k, "type": entity_type(k), "label": graph.labels.get(k, k), "depth": d,
              "listed": bool(listed.get(k)), "watchlist": listed.get(k, [])}
             for k, d in sorted(graph.depth_of.items(), key=lambda kv: (kv[1], kv[0]))]
    event_ids = list(graph.linksets)
    await audit_of(request).record(request, caller, "entities.network",
                                   {"entity": key, "depth": depth, "max_nodes": max_nodes},
                                   results=len(nodes), record_ids=event_ids)
    return {"root": key, "depth": depth, "nodes": nodes, "edges": graph.edges(), "events": len(event_ids),
            "truncated": graph.truncated}


class LinkNetwork:
    """The link graph around ``root``, breadth first over link sets (``bh-links`` documents: the
    entities and edges correlation found in one event). A node's depth is its number of hops
    from the root; ports end a path (everyone passes through them, so they link nobody) and
    are not nodes unless they are the root. Beyond ``max_nodes`` the graph is cut and marked
    truncated; link sets are taken most recent first, so the most recent neighbours stay."""

    def __init__(self, root: str, max_nodes: int):
        self.max_nodes = max_nodes
        self.depth_of: dict[str, int] = {root: 0}
        self.frontier: list[str] = [root]  # the nodes the next step walks from
        self.linksets: dict[str, dict] = {}  # event id -> link set, in the order read
        self.labels: dict[str, str] = {}
        self.truncated = False

    def expand(self, step: int, linksets: list[dict]) -> None:
        """One step outwards: the frontier's neighbours over the edges of ``linksets`` (the link
        sets naming a frontier node) get depth ``step`` and are the next frontier."""
        frontier, following = set(self.frontier), []
        for linkset in linksets:
            self.linksets.setdefault(linkset["event_id"], linkset)
            for entity in linkset.get("entities") or ():
                self.labels.setdefault(entity["key"], entity["label"])
            for edge in linkset.get("edges") or ():
                for near, far in ((edge["source"], edge["target"]), (edge["target"], edge["source"])):
                    if near not in frontier or far in self.depth_of or far.startswith(NEVER_FOLLOWED):
                        continue
                    if len(self.depth_of) >= self.max_nodes:
                        self.truncated = True
                        continue
                    self.depth_of[far] = step
                    following.append(far)
        self.frontier = following

    def edges(self) -> list[dict]:
        """Edges between nodes of the graph; weight: the link sets read that hold the edge (one
        per event), with up to ``EDGE_EVENT_IDS`` of their event ids in the order read."""
        weight: Counter = Counter()
        samples: dict[tuple[str, str], list[str]] = defaultdict(list)
        for event_id, linkset in self.linksets.items():
            pairs = {(min(e["source"], e["target"]), max(e["source"], e["target"]))
                     for e in linkset.get("edges") or ()}
            for a, b in sorted(pairs):
                if a == b or a not in self.depth_of or b not in self.depth_of:
                    continue
                weight[(a, b)] += 1
                if len(samples[(a, b)]) < EDGE_EVENT_IDS:
                    samples[(a, b)].append(event_id)
        return [{"source": a, "target": b, "weight": w, "event_ids": samples[(a, b)]}
                for (a, b), w in sorted(weight.items())]


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
