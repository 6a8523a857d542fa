"""impossible_travel: one document at two ports faster than anyone travels."""

import json

from borderhub.avro import encode_single_object
from services.correlate.rules import ImpossibleTravel, rule_alert
from tests.unit.test_rules_common import NOW, Worker, at, crossing, eid

KEY = "doc:MX:X1234567"


def feed_all(worker, events):
    return [hit for event in events for hit in worker.feed("crossings", event)]


def test_miami_then_new_york_half_an_hour_later_is_impossible(catalog):
    worker = Worker(ImpossibleTravel())
    assert worker.feed("crossings", crossing("a", at(), "USMIA")) == []
    second = crossing("b", at(minutes=30), "USJFK")
    [hit] = worker.feed("crossings", second)
    assert hit.rule == "impossible_travel" and hit.key == KEY and hit.severity == "HIGH"
    assert sorted(hit.event_ids) == sorted([eid("a"), eid("b")])
    # The hit names both ports and both times.
    for text in ("USMIA", "USJFK", "2026-03-01T12:00:00Z", "2026-03-01T12:30:00Z"):
        assert text in hit.subject
    assert 0.5 < hit.score < 1.0  # 1,756 km in 30 min: about 3,500 km/h against 900
    encode_single_object(catalog.get("alerts"), rule_alert(hit, "crossings", second, NOW))


def test_a_plausible_flight_is_no_hit():
    worker = Worker(ImpossibleTravel())
    assert feed_all(worker, [crossing("a", at(), "USMIA"), crossing("b", at(hours=3), "USJFK")]) == []


def test_the_faster_mode_of_the_two_sets_the_limit():
    # Laredo to El Paso, 824 km in 5 h: 165 km/h. Impossible overland, easy by air.
    by_road = [crossing("a", at(), "USLRD", mode="LAND"), crossing("b", at(hours=5), "USELP", mode="LAND")]
    assert len(feed_all(Worker(ImpossibleTravel()), by_road)) == 1
    one_flight = [crossing("a", at(), "USLRD", mode="LAND"), crossing("b", at(hours=5), "USELP", mode="AIR")]
    assert feed_all(Worker(ImpossibleTravel()), one_flight) == []
    # Thresholds are parameters.
    assert feed_all(Worker(ImpossibleTravel(surface_speed_kmh=200)), by_road) == []


def test_neighbouring_ports_and_the_same_port_are_no_evidence():
    worker = Worker(ImpossibleTravel())
    # Tijuana and Otay Mesa are 10 km apart; minutes apart is just two gates of one crossing.
    assert feed_all(worker, [crossing("a", at(), "MXTIJ", mode="LAND"),
                             crossing("b", at(minutes=3), "USOYM", mode="LAND"),
                             crossing("c", at(minutes=4), "USOYM", mode="LAND")]) == []


def test_simultaneous_passages_score_highest():
    [hit] = feed_all(Worker(ImpossibleTravel()), [crossing("a", at(), "USMIA"), crossing("b", at(), "USJFK")])
    assert hit.score == 1.0


def test_only_the_impossible_legs_are_reported_once_each():
    worker = Worker(ImpossibleTravel())
    hits = feed_all(worker, [crossing("a", at(), "USMIA"), crossing("b", at(minutes=30), "USJFK"),
                             crossing("c", at(minutes=60), "USMIA")])
    assert [sorted(h.event_ids) for h in hits] == [sorted([eid("a"), eid("b")]), sorted([eid("b"), eid("c")])]


def test_an_event_arriving_out_of_order_is_compared_with_both_neighbours():
    worker = Worker(ImpossibleTravel())
    hits = feed_all(worker, [crossing("a", at(), "USMIA"), crossing("c", at(minutes=60), "USMIA"),
                             crossing("b", at(minutes=30), "USJFK")])  # arrives last, happened between a and c
    assert [sorted(h.event_ids) for h in hits] == [sorted([eid("a"), eid("b")]), sorted([eid("b"), eid("c")])]


def test_two_entries_at_ports_of_unknown_position_within_the_hour():
    # USSYS (San Ysidro) has no position in ports.csv: speed cannot be judged, two entries can.
    entries = [crossing("a", at(), "USSYS", mode="LAND"), crossing("b", at(minutes=40), "MXTIJ", mode="LAND")]
    [hit] = feed_all(Worker(ImpossibleTravel()), entries)
    assert "USSYS" in hit.subject and "MXTIJ" in hit.subject and hit.explanation[-1]["feature"] == "entry_without_exit"
    # In the other order of arrival the same pair, the same alert.
    [again] = feed_all(Worker(ImpossibleTravel()), entries[::-1])
    assert sorted(again.event_ids) == sorted(hit.event_ids)


def test_an_exit_in_between_or_more_than_an_hour_clears_two_entries():
    with_exit = [crossing("a", at(), "USSYS", mode="LAND"),
                 crossing("x", at(minutes=20), "USSYS", mode="LAND", direction="EXIT"),
                 crossing("b", at(minutes=40), "MXTIJ", mode="LAND")]
    assert feed_all(Worker(ImpossibleTravel()), with_exit) == []
    later = [crossing("a", at(), "USSYS", mode="LAND"), crossing("b", at(minutes=90), "MXTIJ", mode="LAND")]
    assert feed_all(Worker(ImpossibleTravel()), later) == []


def test_a_replayed_event_is_stored_once_and_gives_the_same_alert():
    worker = Worker(ImpossibleTravel())
    worker.feed("crossings", crossing("a", at(), "USMIA"))
    second = crossing("b", at(minutes=30), "USJFK")
    first_ids = [rule_alert(h, "crossings", second, NOW)["alert_id"] for h in worker.feed("crossings", second)]
    state = worker.state(KEY)
    replay_ids = [rule_alert(h, "crossings", second, NOW)["alert_id"] for h in worker.feed("crossings", second)]
    assert replay_ids == first_ids and len(first_ids) == 1
    assert worker.state(KEY) == state and len(state["passages"]) == 2


def test_passages_leave_the_window_and_the_state_stays_bounded():
    rule = ImpossibleTravel(window_hours=48, max_passages=20)
    worker = Worker(rule)
    worker.feed("crossings", crossing("old", at(), "USMIA"))
    # Three days later the old passage is gone: New York now pairs with nothing.
    assert worker.feed("crossings", crossing("new", at(days=3), "USJFK")) == []
    assert [p[0] for p in worker.state(KEY)["passages"]] == [eid("new")]
    # An event older than the window is too late to change anything.
    assert worker.feed("crossings", crossing("late", at(minutes=10), "USJFK")) == []
    assert [p[0] for p in worker.state(KEY)["passages"]] == [eid("new")]
    # A daily commuter over months: never more than max_passages, all within the window.
    for i in range(300):
        worker.feed("crossings", crossing(f"c{i}", at(days=4, hours=i), "USMIA", direction="ENTRY" if i % 2 else "EXIT"))
    passages = worker.state(KEY)["passages"]
    assert len(passages) <= 20 and passages[-1][1] - passages[0][1] <= 48 * 3_600_000
    assert len(json.dumps(worker.state(KEY))) < 5000


def test_keys_are_the_document_entity_key():
    rule = ImpossibleTravel()
    assert rule.keys("crossings", crossing("a", doc=("x123-4567", "MX"))) == ["doc:MX:X1234567"]
    assert rule.keys("crossings", crossing("a", doc=None)) == []
