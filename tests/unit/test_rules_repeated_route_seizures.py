"""repeated_route_seizures: seizures piling up on one route."""

import pytest

from borderhub.avro import encode_single_object
from services.correlate.rules import RepeatedRouteSeizures, route_key, rule_alert
from tests.unit.test_rules_common import NOW, Worker, at, conveyance, eid, seizure

SHIP = conveyance(imo="IMO 9074729")
KEY = "route:USMIA:imo:9074729"


@pytest.mark.parametrize("conv, expected", [
    (conveyance(imo="IMO 9074729", mmsi="366123456", flight="AA12"), "route:USMIA:imo:9074729"),
    (conveyance(mmsi="366123456"), "route:USMIA:mmsi:366123456"),
    (conveyance(flight="aa 1234"), "route:USMIA:flight:AA1234"),
    (conveyance(plate="ABC123", plate_country="mx"), "route:USMIA:plates:MX"),
    (conveyance(plate="ABC123"), None),
    (None, None),
])
def test_route_key(conv, expected):
    assert route_key(seizure("s", conv=conv)) == expected


def run(worker, days, prefix="s", conv=SHIP):
    return [worker.feed("seizures", seizure(f"{prefix}{i}", at(days=d), conv=conv)) for i, d in enumerate(days)]


def test_third_seizure_in_90_days_alerts_then_only_at_doubling(catalog):
    worker = Worker(RepeatedRouteSeizures())
    hits = run(worker, range(13))  # 13 seizures, one a day
    fired = [i + 1 for i, h in enumerate(hits) if h]  # counts at which a hit came
    assert fired == [3, 6, 12]
    first, second = hits[2][0], hits[5][0]
    assert first.severity == "MEDIUM" and second.severity == "HIGH"
    assert sorted(first.event_ids) == sorted(eid(f"s{i}") for i in range(3))
    assert "USMIA" in first.subject and "9074729" in first.subject
    encode_single_object(catalog.get("alerts"), rule_alert(first, "seizures", seizure("s2", at(days=2)), NOW))


def test_seizures_spread_beyond_the_window_or_on_other_routes_do_not_add_up():
    assert not any(run(Worker(RepeatedRouteSeizures()), [0, 50, 100, 150]))  # never 3 within 90 days
    worker = Worker(RepeatedRouteSeizures())
    run(worker, [0, 1], conv=SHIP)
    assert run(worker, [2], prefix="f", conv=conveyance(flight="AA12")) == [[]]
    assert run(worker, [3], prefix="t", conv=conveyance(imo="9074729")) != [[]]  # the ship's third


def test_a_new_run_after_a_lull_alerts_again_with_a_new_id():
    worker = Worker(RepeatedRouteSeizures())
    first = [h for hits in run(worker, [0, 1, 2, 3]) for h in hits]
    second = [h for hits in run(worker, [200, 201, 202], prefix="later") for h in hits]
    assert len(first) == len(second) == 1
    ids = {rule_alert(h, "seizures", seizure("x"), NOW)["alert_id"] for h in first + second}
    assert len(ids) == 2


def test_a_replayed_trigger_gives_the_same_alert_and_nothing_counts_twice():
    worker = Worker(RepeatedRouteSeizures())
    run(worker, [0, 1])
    trigger = seizure("s2", at(days=2), conv=SHIP)
    [hit] = worker.feed("seizures", trigger)
    state = worker.state(KEY)
    [again] = worker.feed("seizures", trigger)
    assert rule_alert(again, "seizures", trigger, NOW)["alert_id"] == rule_alert(hit, "seizures", trigger, NOW)["alert_id"]
    assert worker.feed("seizures", seizure("s1", at(days=1), conv=SHIP)) == []  # replay of a non-trigger
    assert worker.state(KEY) == state and len(state["seizures"]) == 3


def test_state_stays_bounded_on_a_busy_route():
    worker = Worker(RepeatedRouteSeizures(window_days=90, max_tracked=200))
    run(worker, [i / 4 for i in range(2000)])  # four a day for 500 days
    state = worker.state(KEY)
    assert len(state["seizures"]) <= 200 and len(state["fired"]) <= 8
    assert state["seizures"][-1][1] - state["seizures"][0][1] <= 90 * 86_400_000


def test_no_route_no_state():
    worker = Worker(RepeatedRouteSeizures())
    assert run(worker, [0, 1, 2, 3], conv=None) == [[], [], [], []] and worker.table == {}
