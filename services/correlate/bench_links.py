"""The link graph's cost per edge, below its node bound and at it (``borderhub bench --suite
correlate``).

Every correlated event adds its edges to every worker's graph (its own and, through
``hub.links.v1``, the other workers'), so the graph is at its node bound in any long-running
worker and each new node evicts the least recently touched one. The baseline is the graph's own
cost while it is still filling: at the bound an edge should cost about the same, not the 20 µs a
plain dict's first-key lookup after many deletions cost (see ``LinkGraph``).
"""

from __future__ import annotations

import random
import time

from services.correlate.links import LinkGraph


def _event_edges(rng: random.Random, i: int, ports: list[str]) -> list[tuple[str, str]]:
    """A crossing's edges: traveller, document, port (the shape ``edges_of`` gives)."""
    person, document, port = f"person:{i:x}", f"doc:XX:{i}", rng.choice(ports)
    return [(person, document), (person, port), (document, port)]


def bench_link_graph(max_nodes: int = 200_000, seed: int = 3) -> dict:
    """µs per edge while the graph fills up to ``max_nodes`` and then for as many edges again at
    the bound (two new nodes per event, so each event evicts two)."""
    rng = random.Random(seed)
    ports = [f"port:P{i:02d}" for i in range(40)]
    graph = LinkGraph(max_nodes=max_nodes)
    events = max_nodes // 2  # fills the graph (two new nodes per event)
    timings = {}
    for phase, first in (("filling", 0), ("at_bound", events)):
        batch = [_event_edges(rng, i, ports) for i in range(first, first + events)]
        started = time.perf_counter()
        for i, edges in enumerate(batch):
            for a, b in edges:
                graph.add_edge(a, b, first + i)
        timings[phase] = (time.perf_counter() - started) / (3 * events) * 1e6
    return {"max_nodes": max_nodes, "nodes": len(graph),
            "us_per_edge_filling": round(timings["filling"], 2),
            "us_per_edge_at_bound": round(timings["at_bound"], 2),
            "ratio_at_bound_vs_filling": round(timings["at_bound"] / timings["filling"], 2)}


if __name__ == "__main__":
    print(bench_link_graph())
