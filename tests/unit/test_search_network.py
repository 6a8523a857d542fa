"""The network endpoint's graph builder: breadth first over link sets (``bh-links`` documents,
one per event, star-shaped as correlation publishes them)."""

from __future__ import annotations

from services.search_api import queries as q
from services.search_api.routes.entities import LinkNetwork


def linkset(event_id: str, hub: str, *others: str, port: str = "port:USMIA") -> dict:
    """A star: the event's hub joined to every other entity and to the port."""
    keys = [hub, *others, port]
    return {"event_id": event_id, "occurred_at": "2026-11-23T10:00:00.000Z",
            "entities": [{"key": k, "type": k.split(":")[0], "label": f"label of {k}"} for k in keys],
            "edges": [{"source": hub, "target": k} for k in [*others, port]]}


# phone -- person A -- doc A  (crossing 1)      seizure S -- phone, doc A, doc S  (seizure 3)
# person A -- doc A           (crossing 2)      person B -- doc B, vehicle V      (crossing 4)
C1 = linkset("c1", "person:A", "doc:MX:A", "phone:+5215512345678")
C2 = linkset("c2", "person:A", "doc:MX:A")
S3 = linkset("s3", "seizure:S", "phone:+5215512345678", "doc:MX:A", "doc:MX:S", port="port:MXTIJ")
C4 = linkset("c4", "person:B", "doc:MX:B", "vehicle:MX:V")
ALL = [C1, C2, S3, C4]


def touching(frontier: list[str], linksets=ALL) -> list[dict]:
    """What the search returns for a step: the link sets with an edge on the frontier."""
    return [ls for ls in linksets if {k for e in ls["edges"] for k in (e["source"], e["target"])} & set(frontier)]


def walk(root: str, depth: int, max_nodes: int = 150) -> LinkNetwork:
    graph = LinkNetwork(root, max_nodes)
    for step in range(1, depth + 1):
        if not graph.frontier:
            break
        graph.expand(step, touching(graph.frontier))
    return graph


def test_depth_is_hops_on_the_link_graph_and_ports_are_not_walked():
    phone = "phone:+5215512345678"
    one = walk(phone, 1)
    assert one.depth_of == {phone: 0, "person:A": 1, "seizure:S": 1}
    two = walk(phone, 2)
    assert two.depth_of == {phone: 0, "person:A": 1, "seizure:S": 1, "doc:MX:A": 2, "doc:MX:S": 2}
    assert not any(k.startswith("port:") for k in two.depth_of)
    assert set(two.linksets) == {"c1", "c2", "s3"}  # c4 is not connected
    assert two.labels["person:A"] == "label of person:A" and not two.truncated


def test_edges_carry_a_weight_per_event_and_its_event_ids():
    graph = walk("doc:MX:A", 2)
    edges = {(e["source"], e["target"]): e for e in graph.edges()}
    assert edges[("doc:MX:A", "person:A")]["weight"] == 2
    assert edges[("doc:MX:A", "person:A")]["event_ids"] == ["c1", "c2"]
    assert edges[("doc:MX:A", "seizure:S")] == {"source": "doc:MX:A", "target": "seizure:S", "weight": 1,
                                                "event_ids": ["s3"]}
    # Source sorts before target; no edge to a node outside the graph (ports included).
    assert all(e["source"] < e["target"] for e in graph.edges())
    assert not any(k.startswith("port:") for e in graph.edges() for k in (e["source"], e["target"]))


def test_a_port_may_be_the_root_but_is_never_walked_through():
    graph = walk("port:MXTIJ", 2)
    assert graph.depth_of["seizure:S"] == 1
    assert graph.depth_of["doc:MX:A"] == 2 and "port:USMIA" not in graph.depth_of


def test_the_node_cap_cuts_the_graph_and_says_so():
    graph = walk("phone:+5215512345678", 3, max_nodes=3)
    assert len(graph.depth_of) == 3 and graph.truncated


def test_an_entity_without_links_is_a_graph_of_one():
    graph = walk("doc:MX:NOBODY", 2)
    assert graph.depth_of == {"doc:MX:NOBODY": 0} and graph.edges() == [] and graph.linksets == {}


def test_links_query_filters_on_the_keys_edges_touch():
    assert q.links_query(["phone:+1", "doc:MX:A"]) == {"bool": {"filter": [{"terms": {"nodes": ["doc:MX:A",
                                                                                               "phone:+1"]}}]}}
