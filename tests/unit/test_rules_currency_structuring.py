"""currency_structuring: cash declarations split to stay under the reporting threshold."""

from decimal import Decimal

from borderhub.avro import encode_single_object
from services.correlate.rules import CurrencyStructuring, rule_alert
from tests.unit.test_rules_common import NOW, Worker, at, crossing, eid

DOC = "doc:MX:X1234567"


def declare(label, amount, currency="USD", t=None, **kw):
    return crossing(label, t or at(), currency=[(amount, currency)], **kw)


def feed(worker, *events):
    return [h for e in events for h in worker.feed("crossings", e)]


def test_two_declarations_just_under_the_threshold_are_a_medium_alert(catalog):
    worker = Worker(CurrencyStructuring())
    first, second = declare("a", "9500.00"), declare("b", "9000.00", t=at(hours=30), port="USJFK", direction="EXIT")
    assert feed(worker, first) == []
    [hit] = feed(worker, second)
    assert hit.severity == "MEDIUM" and hit.key == DOC
    assert sorted(hit.event_ids) == sorted([eid("a"), eid("b")])
    details = " ".join(f["detail"] for f in hit.explanation)
    assert "9500.00 USD" in details and "9000.00 USD" in details and "18,500" in hit.subject
    encode_single_object(catalog.get("alerts"), rule_alert(hit, "crossings", second, NOW))


def test_a_group_splitting_between_members_is_caught_on_the_group():
    worker = Worker(CurrencyStructuring())
    hits = feed(worker, declare("a", "6000.00", "EUR", group="G1"),  # ≈ 6,480 USD each
                declare("b", "6000.00", "EUR", group="G1", doc=("Y7654321", "MX"), family="LOPEZ"))
    assert [h.key for h in hits] == ["group:G1"]


def test_conversion_uses_the_fx_table():
    rule = CurrencyStructuring()
    usd, text = rule.declared_usd(declare("a", "180000.00", "MXN"))
    assert usd == Decimal("9900.00") and text == "180000.00 MXN" and rule.qualifies(usd)
    # Currencies outside the table are left out rather than guessed.
    assert rule.declared_usd(declare("b", "9500.00", "XAU"))[0] == 0
    assert rule.keys("crossings", declare("b", "9500.00", "XAU")) == []


def test_amounts_outside_the_band_or_outside_the_window_do_not_count():
    # 4,000 is not above half the threshold; 10,500 is reported anyway: neither is a split.
    assert feed(Worker(CurrencyStructuring()), declare("a", "9000.00"), declare("b", "4000.00", t=at(hours=1))) == []
    assert feed(Worker(CurrencyStructuring()), declare("a", "9000.00"), declare("b", "10500.00", t=at(hours=1))) == []
    # Two days apart counts, four days apart does not.
    assert feed(Worker(CurrencyStructuring()), declare("a", "9000.00"), declare("b", "9000.00", t=at(hours=80))) == []
    assert len(feed(Worker(CurrencyStructuring(window_hours=96)), declare("a", "9000.00"),
                    declare("b", "9000.00", t=at(hours=80)))) == 1
    # Two declarations that do not exceed the threshold together are no split either.
    assert feed(Worker(CurrencyStructuring(threshold_usd=Decimal(20000))), declare("a", "9000.00"),
                declare("b", "10500.00", t=at(hours=1))) == []


def test_further_splits_alert_again_only_when_the_total_doubles():
    worker = Worker(CurrencyStructuring())
    fired = [i + 1 for i in range(6) if feed(worker, declare(f"d{i}", "9000.00", t=at(hours=i)))]
    assert fired == [2, 3, 5]  # totals 18,000 (>1x), 27,000 (>2x), 45,000 (>4x)


def test_a_replayed_trigger_gives_the_same_alert_and_the_state_stays_bounded():
    worker = Worker(CurrencyStructuring(max_declarations=50))
    feed(worker, declare("a", "9500.00"))
    trigger = declare("b", "9000.00", t=at(hours=1))
    [hit] = feed(worker, trigger)
    state = worker.state(DOC)
    [again] = feed(worker, trigger)
    assert rule_alert(again, "crossings", trigger, NOW)["alert_id"] == rule_alert(hit, "crossings", trigger, NOW)["alert_id"]
    assert feed(worker, declare("a", "9500.00")) == [] and worker.state(DOC) == state
    for i in range(500):  # a money courier over weeks
        feed(worker, declare(f"x{i}", "9000.00", t=at(hours=2 + i)))
    state = worker.state(DOC)
    assert len(state["declarations"]) <= 50 and len(state["fired"]) <= 50
    assert state["declarations"][-1][1] - state["declarations"][0][1] <= 72 * 3_600_000
