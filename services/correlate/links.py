"""The link graph: what events mention, joined up, so an event a couple of hops from a listed
document, vehicle, vessel or phone raises a network alert naming the path.

Edges form a star per event: every entity the event mentions is joined to the event's hub (the
person for a crossing, the seizure node for a seizure) and the hub to the port. A clique per
event would join every phone of a seizure to every document of it; the star says the same
("seen together in this event") with n edges instead of n^2, and keeps degrees sane.

Ports are stored but never walked through: everyone passes through ports, so a path over a
port says nothing. For the same reason nodes with more than ``max_via_degree`` neighbours (a
ferry, a cruise ship, a busy bus plate) may end a path but are not walked from, even when the
event mentions them: otherwise every passenger of a ship would be two hops from a listed one.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Iterable, Protocol

from borderhub.domain.entities import EntityRef, event_entities
from borderhub.domain.identifiers import normalize_document_number, normalize_phone, normalize_plate
from services.correlate.outputs import EVENT_KINDS, alert_id, event_time
from services.correlate.rules.base import feature, to_ms

PORT_PREFIX = "port:"
DOCUMENT_SCHEMES = frozenset({"PASSPORT", "ID_CARD", "OTHER_DOCUMENT"})
_HUB_TYPES = {"crossings": ("person", "document"), "seizures": ("seizure",), "biometrics": ("person", "document")}
# Score by distance: one hop is a direct association, two hops a shared contact.
_HOP_SCORE = {1: 0.6, 2: 0.36}


def is_port(key: str) -> bool:
    return key.startswith(PORT_PREFIX)


def hub_of(kind: str, refs: list[EntityRef]) -> str | None:
    """The node the event's other entities attach to: the person (else the document) of a
    crossing, the seizure node of a seizure; failing those, the first entity that is no port."""
    for wanted in _HUB_TYPES.get(kind, ()):
        for ref in refs:
            if ref.type == wanted:
                return ref.key
    return next((r.key for r in refs if r.type != "port"), None)


def edges_of(kind: str, event: dict, refs: list[EntityRef] | None = None) -> list[tuple[str, str]]:
    """(hub, entity) for every other entity of the event, ports last; empty when nothing links.
    ``refs``: the event's entities when the caller already has them."""
    refs = event_entities(kind, event) if refs is None else refs
    hub = hub_of(kind, refs)
    if hub is None:
        return []
    others = [r.key for r in refs if r.key != hub and r.type != "port"]
    return [(hub, k) for k in others] + [(hub, r.key) for r in refs if r.type == "port"]


def link_set(kind: str, event: dict, refs: list[EntityRef] | None = None,
             edges: list[tuple[str, str]] | None = None) -> dict:
    """The LinkSet datum (schemas/link.avsc) an event adds to ``hub.links.v1``; ``refs`` and
    ``edges`` when the caller already has them."""
    refs = event_entities(kind, event) if refs is None else refs
    edges = edges_of(kind, event, refs) if edges is None else edges
    return {"event_id": event["event_id"], "event_kind": EVENT_KINDS[kind], "occurred_at": event_time(kind, event),
            "port_locode": event.get("port_locode"), "entities": [r.to_dict() for r in refs],
            "edges": [{"source": a, "target": b} for a, b in edges]}


class Listed(Protocol):
    """What ``paths_to_listed`` asks of the listed keys (a set, or ``ListedKeys``)."""

    def __contains__(self, key: object) -> bool: ...

    def isdisjoint(self, keys: Iterable[str]) -> bool: ...


class LinkGraph:
    """An undirected graph bounded in memory: each node keeps its ``max_neighbours`` most
    recently linked neighbours, and beyond ``max_nodes`` the least recently touched nodes go.

    Recency lists in O(1) per edge: the nodes in an OrderedDict (``move_to_end``), each node's
    neighbours in a plain dict (re-inserting a key moves it to the end). Not a plain dict for
    the nodes: taking its first key after many deletions walks every deleted slot before it,
    which at the node bound cost 20 µs per edge instead of 2. Edges are kept symmetric: dropping
    v from u drops u from v. Each edge remembers when it was last seen (event time, epoch ms)."""

    def __init__(self, max_nodes: int = 200_000, max_neighbours: int = 200, max_via_degree: int = 100):
        self.max_nodes, self.max_neighbours, self.max_via_degree = max_nodes, max_neighbours, max_via_degree
        self._adj: OrderedDict[str, dict[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._adj)

    def __contains__(self, key: object) -> bool:
        return key in self._adj

    def adopt(self, other: LinkGraph) -> None:
        """Take the edges of another (a restored snapshot's); this graph's bounds stay."""
        self._adj = other._adj
        while len(self._adj) > self.max_nodes:
            self._drop(next(iter(self._adj)))

    def neighbours(self, key: str) -> dict[str, int]:
        """Neighbour -> when the edge was last seen (epoch ms), oldest first."""
        return dict(self._adj.get(key, {}))

    def add_event(self, kind: str, event: dict) -> list[tuple[str, str]]:
        edges = edges_of(kind, event)
        self.add_edges(edges, event_time(kind, event))
        return edges

    def add_edges(self, edges: Iterable[tuple[str, str]], at: dt.datetime) -> None:
        ms = to_ms(at)
        for a, b in edges:
            self.add_edge(a, b, ms)

    def add_edge(self, a: str, b: str, ms: int) -> None:
        if a == b:
            return
        for u, v in ((a, b), (b, a)):
            nbrs = self._touch(u)
            seen = max(nbrs.pop(v, ms), ms)  # re-inserted: now the most recent neighbour
            nbrs[v] = seen
            if len(nbrs) > self.max_neighbours:
                self._unlink(u, next(iter(nbrs)))
        while len(self._adj) > self.max_nodes:
            self._drop(next(iter(self._adj)))

    def _touch(self, key: str) -> dict[str, int]:
        nbrs = self._adj.get(key)
        if nbrs is None:
            self._adj[key] = nbrs = {}
        else:
            self._adj.move_to_end(key)
        return nbrs

    def _unlink(self, u: str, v: str) -> None:
        for x, y in ((u, v), (v, u)):
            nbrs = self._adj.get(x)
            if nbrs is not None:
                nbrs.pop(y, None)
                if not nbrs:  # an isolated node links nothing: free it now
                    del self._adj[x]

    def _drop(self, key: str) -> None:
        for other in self._adj.pop(key, {}):
            nbrs = self._adj.get(other)
            if nbrs is not None:
                nbrs.pop(key, None)
                if not nbrs:
                    del self._adj[other]

    def paths_to_listed(self, start_keys: Iterable[str], listed: Listed, max_hops: int = 2,
                        max_paths: int = 10) -> list[list[str]]:
        """Shortest paths (breadth first, 1..max_hops edges) from any start key to a listed
        node (``key in listed``), one per listed node, nearest first, at most ``max_paths``.

        Start keys themselves are not targets (a listed entity the event mentions is a direct
        watchlist match, not a network one). Paths never pass through ports nor leave a node of
        degree above ``max_via_degree``, and end at the first listed node they meet.
        Neighbours are visited in key order, so the result depends on the graph, not on the
        order its edges arrived in."""
        starts = [k for k in dict.fromkeys(start_keys) if not is_port(k)]
        if not self._may_reach(starts, listed, max_hops):
            return []
        parent: dict[str, str | None] = dict.fromkeys(starts)
        frontier, paths = starts, []
        for hop in range(1, max_hops + 1):
            following = []
            for u in frontier:
                nbrs = self._adj.get(u)
                if not nbrs or len(nbrs) > self.max_via_degree:
                    continue
                for v in sorted(nbrs):
                    if v in parent or is_port(v):
                        continue
                    parent[v] = u
                    if v in listed:
                        paths.append(_path(parent, v))
                        if len(paths) >= max_paths:
                            return paths
                    elif hop < max_hops:
                        following.append(v)
            frontier = following
        return paths

    def _may_reach(self, starts: list[str], listed: Listed, max_hops: int) -> bool:
        """False when no listed node is within max_hops of the starts (most events): a walk
        without ordering neighbours and with set operations in C. True may be a false alarm
        (it walks more than ``paths_to_listed`` does), never a miss."""
        frontier, seen = starts, set(starts)
        for hop in range(1, max_hops + 1):
            following = []
            for u in frontier:
                nbrs = self._adj.get(u)
                if not nbrs or len(nbrs) > self.max_via_degree:
                    continue
                if not listed.isdisjoint(nbrs):
                    return True
                if hop < max_hops:
                    fresh = nbrs.keys() - seen
                    seen |= fresh
                    following.extend(fresh)
            frontier = following
        return False


def _path(parent: dict[str, str | None], end: str) -> list[str]:
    path = [end]
    while (step := parent[path[-1]]) is not None:
        path.append(step)
    return path[::-1]


def network_alert(kind: str, event: dict, path: list[str], listed_entry: dict, now: dt.datetime) -> dict:
    """The Alert datum for an event whose entity ``path[0]`` is ``len(path) - 1`` hops from the
    listed ``path[-1]`` (listed by ``listed_entry``, a WatchlistEntry datum)."""
    hops = len(path) - 1
    score = _HOP_SCORE.get(hops, 0.6 ** hops)
    names = listed_entry.get("names") or []
    listed = f"{names[0]} ({path[-1]})" if names else path[-1]
    return {
        "alert_id": alert_id("network", event["event_id"], *path),
        "created_at": now,
        "alert_type": "NETWORK",
        "severity": "MEDIUM" if hops <= 1 else "LOW",
        "event_id": event["event_id"],
        "event_kind": EVENT_KINDS.get(kind, "OTHER"),
        "occurred_at": event_time(kind, event),
        "port_locode": event.get("port_locode"),
        "subject": f"{hops} hop{'s' if hops != 1 else ''} from listed {listed}",
        "entry_id": listed_entry["entry_id"],
        "source_list": listed_entry.get("source_list"),
        # The entry's action is for the listed entity itself, not for whoever is linked to it.
        "action_on_hit": None,
        "rule": None,
        "score": score,
        "explanation": [feature("link", 0.0, f"{a} -- {b}") for a, b in zip(path, path[1:])]
        + [feature("network_distance", score,
                   f"{path[0]} is {hops} hop{'s' if hops != 1 else ''} from {path[-1]}, listed as "
                   f"{listed_entry['entry_id']} on {listed_entry.get('source_list')}: {listed_entry.get('reason', '')}")],
        "path": list(path),
        "related_event_ids": [],
    }


def listed_keys_of_entry(entry: dict) -> set[str]:
    """The graph keys a WatchlistEntry lists, spelled as ``borderhub.domain.entities`` spells
    them. Listed persons have no key: their events' person nodes are name hashes, found by the
    matcher, not by the graph."""
    keys = set()
    for ident in entry.get("identifiers") or ():
        scheme, value, country = ident.get("scheme"), ident.get("value") or "", (ident.get("country") or "").upper()
        if scheme in DOCUMENT_SCHEMES:
            number = normalize_document_number(value)
            if number and country:  # a document key needs its issuing state
                keys.add(f"doc:{country}:{number}")
        elif scheme == "VEHICLE_PLATE":
            if plate := normalize_plate(value):
                keys.add(f"vehicle:{country or '??'}:{plate}")
        elif scheme in ("IMO", "MMSI"):
            if digits := "".join(ch for ch in value if ch.isdigit()):
                keys.add(f"vessel:{scheme.lower()}:{digits}")
        elif scheme == "PHONE":
            if phone := normalize_phone(value, country or None):
                keys.add(f"phone:{phone}")
    return keys


class ListedKeys:
    """Which graph keys the live watchlist lists, and by which entries: ``upsert`` on every
    watchlist record, ``remove`` on every tombstone; it is the ``listed`` of
    ``LinkGraph.paths_to_listed``."""

    def __init__(self) -> None:
        self._by_key: dict[str, set[str]] = {}
        self._by_entry: dict[str, set[str]] = {}

    def upsert(self, entry: dict) -> None:
        self.remove(entry["entry_id"])
        keys = listed_keys_of_entry(entry)
        if keys:
            self._by_entry[entry["entry_id"]] = keys
            for key in keys:
                self._by_key.setdefault(key, set()).add(entry["entry_id"])

    def adopt(self, other: ListedKeys) -> None:
        """Take the contents of another (a restored snapshot's)."""
        self._by_key, self._by_entry = other._by_key, other._by_entry

    def remove(self, entry_id: str) -> None:
        for key in self._by_entry.pop(entry_id, ()):
            ids = self._by_key[key]
            ids.discard(entry_id)
            if not ids:
                del self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def isdisjoint(self, keys: Iterable[str]) -> bool:
        return self._by_key.keys().isdisjoint(keys)

    def __len__(self) -> int:
        return len(self._by_key)

    def entries(self, key: str) -> list[str]:
        return sorted(self._by_key.get(key, ()))
