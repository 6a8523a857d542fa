"""The link graph: star edges per event, bounded memory, paths to listed entities, alerts."""

import datetime as dt

import pytest

from borderhub.avro import encode_single_object
from borderhub.domain.entities import event_entities
from services.correlate.links import (LinkGraph, ListedKeys, edges_of, listed_keys_of_entry, network_alert)
from tests.unit.test_rules_common import NOW, at, conveyance, crossing, eid, seizure, traveller

PHONE = "+525512345678"
T = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def person(event):
    return next(r.key for r in event_entities("crossings", event) if r.type == "person")


def entry(entry_id="wl-1", identifiers=(), names=("STOLEN PASSPORT",)):
    return {"entry_id": entry_id, "kind": "DOCUMENT", "names": list(names), "aliases": [],
            "identifiers": [{"scheme": s, "value": v, "country": c} for s, v, c in identifiers],
            "birth_dates": [], "nationalities": [], "sex": "UNKNOWN", "document_status": "STOLEN",
            "biometric_templates": [], "topics": [], "reason": "reported stolen", "action_on_hit": "SEIZE_DOCUMENT",
            "valid_from": None, "valid_until": None, "source_list": "interpol-sltd", "updated_at": T}


# ------------------------------------------------------------------------------ edges


def test_a_crossing_is_a_star_around_the_person():
    c = crossing("c", phones=[PHONE], conv=conveyance(plate="ABC123", plate_country="MX"))
    p = person(c)
    assert edges_of("crossings", c) == [(p, f"phone:{PHONE}"), (p, "doc:MX:X1234567"), (p, "vehicle:MX:ABC123"),
                                        (p, "port:USMIA")]  # no phone-document edge, no port-document edge


def test_a_seizure_is_a_star_around_the_seizure_node():
    s = seizure("s", docs=[("X1", "MX")], phones=[PHONE], persons=[traveller()], conv=conveyance(imo="9074729"))
    edges = edges_of("seizures", s)
    hub = f"seizure:{eid('s')}"
    assert all(a == hub for a, _ in edges) and len(edges) == 5  # person, doc, vessel, phone, port
    assert {b for _, b in edges} >= {"doc:MX:X1", "vessel:imo:9074729", f"phone:{PHONE}", "port:USMIA"}


def test_without_a_name_the_document_is_the_hub():
    c = crossing("c", family="", phones=[PHONE])
    c["traveller"]["given_names"] = ""
    assert edges_of("crossings", c) == [("doc:MX:X1234567", f"phone:{PHONE}"), ("doc:MX:X1234567", "port:USMIA")]


# ------------------------------------------------------------------------------ paths


def graph_with_seizure():
    """A seizure joined a listed document and a phone; a later traveller carries that phone."""
    g = LinkGraph()
    g.add_event("seizures", seizure("s", docs=[("L1", "MX")], phones=[PHONE]))
    return g


LISTED = {"doc:MX:L1"}


def test_a_shared_phone_puts_a_traveller_two_hops_from_a_listed_document():
    g = graph_with_seizure()
    c = crossing("c", doc=("CLEAN1", "US"), phones=[PHONE])
    g.add_event("crossings", c)
    starts = [r.key for r in event_entities("crossings", c)]
    assert g.paths_to_listed(starts, LISTED) == [[f"phone:{PHONE}", f"seizure:{eid('s')}", "doc:MX:L1"]]
    assert g.paths_to_listed(starts, LISTED, max_hops=1) == []


def test_one_hop_paths_come_first_and_listed_start_keys_are_not_targets():
    g = graph_with_seizure()
    # Someone once crossed with the listed document; now crosses with a new one.
    g.add_event("crossings", crossing("c1", doc=("L1", "MX")))
    c2 = crossing("c2", doc=("NEW1", "MX"))
    g.add_event("crossings", c2)
    p = person(c2)
    assert g.paths_to_listed([p, "doc:MX:NEW1"], LISTED) == [[p, "doc:MX:L1"]]
    assert g.paths_to_listed(["doc:MX:L1"], LISTED) == []  # carrying it is a direct match, not a network one


def test_ports_never_carry_a_path():
    g = LinkGraph()
    g.add_event("crossings", crossing("a", doc=("L1", "MX"), family="ONE"))
    b = crossing("b", doc=("B1", "MX"), family="TWO")
    g.add_event("crossings", b)  # both passed USMIA: person-port-person-doc would be 3 hops, but via a port
    assert g.paths_to_listed(["port:USMIA"], LISTED) == []
    assert g.paths_to_listed([person(b)], LISTED, max_hops=3) == []


def test_crowded_nodes_do_not_carry_a_path():
    g = LinkGraph(max_via_degree=5)
    for i in range(10):
        g.add_edge("vessel:imo:1", f"person:{i}", 1)
    g.add_edge("person:3", "doc:MX:L1", 1)
    assert g.paths_to_listed(["person:9"], LISTED, max_hops=3) == []  # through the crowded vessel
    assert g.paths_to_listed(["vessel:imo:1"], LISTED) == []  # nor from it, when the event mentions it
    relaxed = LinkGraph(max_via_degree=50)
    for i in range(10):
        relaxed.add_edge("vessel:imo:1", f"person:{i}", 1)
    relaxed.add_edge("person:3", "doc:MX:L1", 1)
    assert relaxed.paths_to_listed(["person:9"], LISTED, max_hops=3) == [
        ["person:9", "vessel:imo:1", "person:3", "doc:MX:L1"]]


def test_paths_do_not_depend_on_the_order_edges_arrived_in():
    edges = [("a", "x"), ("a", "y"), ("x", "doc:MX:L1"), ("y", "doc:MX:L1")]
    forward, backward = LinkGraph(), LinkGraph()
    for i, (u, v) in enumerate(edges):
        forward.add_edge(u, v, i)
    for i, (u, v) in enumerate(reversed(edges)):
        backward.add_edge(v, u, i)
    assert forward.paths_to_listed(["a"], LISTED) == backward.paths_to_listed(["a"], LISTED) == [["a", "x", "doc:MX:L1"]]


# ------------------------------------------------------------------------------ bounds


def assert_symmetric(g):
    for node in list(g._adj):
        for other in g.neighbours(node):
            assert node in g.neighbours(other)


def test_neighbours_are_capped_to_the_most_recent_and_kept_symmetric():
    g = LinkGraph(max_neighbours=200)
    for i in range(300):
        g.add_edge("port:USMIA", f"person:{i}", i)
    nbrs = g.neighbours("port:USMIA")
    assert len(nbrs) == 200 and min(nbrs.values()) == 100 and "person:99" not in nbrs
    assert "person:99" not in g  # its only edge went: the node went with it
    assert_symmetric(g)
    g.add_edge("port:USMIA", "person:100", 500)  # seen again: most recent now
    g.add_edge("port:USMIA", "person:new", 501)
    assert "person:100" in g.neighbours("port:USMIA") and "person:101" not in g.neighbours("port:USMIA")


def test_least_recently_touched_nodes_are_evicted_beyond_max_nodes():
    g = LinkGraph(max_nodes=100)
    for i in range(1000):
        g.add_event("crossings", crossing(f"c{i}", at(minutes=i), doc=(f"D{i}", "MX"), family=f"F{i}"))
        assert len(g) <= 100
    assert "doc:MX:D999" in g and "doc:MX:D0" not in g
    assert_symmetric(g)


def test_a_node_linked_again_outlives_nodes_last_linked_before_it():
    g = LinkGraph(max_nodes=6)
    g.add_edge("a", "b", 0)
    g.add_edge("c", "d", 1)
    g.add_edge("e", "f", 2)
    g.add_edge("a", "b", 3)  # a and b are now the most recently touched
    g.add_edge("g", "h", 4)  # two nodes too many: the least recently touched go, c and d
    assert sorted(g._adj) == ["a", "b", "e", "f", "g", "h"]
    assert g.neighbours("a") == {"b": 3}
    assert_symmetric(g)


# ------------------------------------------------------------------------------ alerts and listed keys


@pytest.mark.parametrize("hops, severity", [(1, "MEDIUM"), (2, "LOW")])
def test_network_alert_is_valid_and_deterministic(catalog, hops, severity):
    c = crossing("c", doc=("CLEAN1", "US"), phones=[PHONE])
    path = [f"phone:{PHONE}", f"seizure:{eid('s')}", "doc:MX:L1"][-hops - 1:]
    alert = network_alert("crossings", c, path, entry(), NOW)
    encode_single_object(catalog.get("alerts"), alert)
    assert alert["alert_type"] == "NETWORK" and alert["severity"] == severity and alert["path"] == path
    assert alert["entry_id"] == "wl-1" and alert["source_list"] == "interpol-sltd" and "STOLEN PASSPORT" in alert["subject"]
    assert network_alert("crossings", c, path, entry(), NOW + dt.timedelta(hours=1))["alert_id"] == alert["alert_id"]
    assert network_alert("crossings", c, ["x", *path], entry(), NOW)["alert_id"] != alert["alert_id"]
    assert network_alert("crossings", crossing("d"), path, entry(), NOW)["alert_id"] != alert["alert_id"]


def test_listed_keys_are_spelled_like_event_entities():
    listed = listed_keys_of_entry(entry(identifiers=[
        ("PASSPORT", "x123-4567", "mx"), ("ID_CARD", "NO-COUNTRY", None), ("VEHICLE_PLATE", "abc-123", "MX"),
        ("VEHICLE_PLATE", "zz 9", None), ("IMO", "IMO 9074729", None), ("MMSI", "366123456", None),
        ("PHONE", "+52 55 1234 5678", None), ("PHONE", "not a phone", None), ("VIN", "1HGCM82633A004352", None),
    ]))
    assert listed == {"doc:MX:X1234567", "vehicle:MX:ABC123", "vehicle:??:ZZ9", "vessel:imo:9074729",
                      "vessel:mmsi:366123456", f"phone:{PHONE}"}
    c = crossing("c", doc=("X1234567", "MX"), phones=[PHONE], conv=conveyance(plate="ABC 123", plate_country="MX"))
    s = seizure("s", conv=conveyance(imo="9074729"))
    mentioned = {r.key for r in event_entities("crossings", c) + event_entities("seizures", s)}
    assert {"doc:MX:X1234567", "vehicle:MX:ABC123", "vessel:imo:9074729", f"phone:{PHONE}"} <= mentioned & listed


def test_listed_keys_follow_the_live_watchlist():
    listed = ListedKeys()
    listed.upsert(entry("wl-1", [("PASSPORT", "L1", "MX")]))
    listed.upsert(entry("wl-2", [("PASSPORT", "L1", "MX"), ("PHONE", PHONE, None)]))
    assert "doc:MX:L1" in listed and listed.entries("doc:MX:L1") == ["wl-1", "wl-2"]
    listed.upsert(entry("wl-2", [("PASSPORT", "L2", "MX")]))  # changed: the phone is no longer listed
    assert f"phone:{PHONE}" not in listed and "doc:MX:L2" in listed
    listed.remove("wl-1")
    listed.remove("wl-2")
    assert "doc:MX:L1" not in listed and len(listed) == 0


def test_the_quick_reachability_probe_never_hides_a_path():
    import random
    rng = random.Random(7)
    for trial in range(300):
        g = LinkGraph(max_via_degree=rng.choice([2, 4, 100]))
        nodes = [f"n:{i}" for i in range(25)] + ["port:USMIA", "doc:MX:L1"]
        for _ in range(rng.randint(5, 60)):
            a, b = rng.sample(nodes, 2)
            g.add_edge(a, b, 1)
        starts = rng.sample(nodes, rng.randint(1, 3))
        hops = rng.choice([1, 2, 3])
        found = g.paths_to_listed(starts, LISTED, max_hops=hops)
        g._may_reach = lambda *args: True  # the full walk alone is the reference
        assert found == g.paths_to_listed(starts, LISTED, max_hops=hops), trial


def test_link_graph_bench_measures_a_graph_at_its_bound():
    from services.correlate.bench_links import bench_link_graph
    result = bench_link_graph(max_nodes=2_000)
    assert result["nodes"] == 2_000  # the second phase ran with every new node evicting an old one
    assert result["us_per_edge_filling"] > 0 and result["us_per_edge_at_bound"] > 0
