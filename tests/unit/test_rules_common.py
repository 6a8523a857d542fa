"""What every rule shares: the interface, the Alert datum of a hit, and (for the other rule test
modules) builders of valid events and a driver that stores state the way the worker does."""

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from borderhub.avro import encode_single_object
from services.correlate.rules import RULES, Rule, RuleHit, rule_alert

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


def eid(label: str) -> str:
    """A readable label as the uuid an event id must be."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"borderhub-test:{label}"))


def at(**delta) -> dt.datetime:
    return T0 + dt.timedelta(**delta)


def conveyance(plate=None, plate_country=None, imo=None, mmsi=None, flight=None, containers=()):
    return {"vehicle_plate": plate, "vehicle_country": plate_country, "vehicle_vin": None, "vessel_name": None,
            "vessel_imo": imo, "vessel_mmsi": mmsi, "flight_number": flight, "container_numbers": list(containers)}


def document(number="X1234567", country="MX"):
    return {"document_type": "PASSPORT", "number": number, "issuing_country": country, "expiry_date": None,
            "mrz_lines": []}


def traveller(family="GARCIA", given="MARIA", phones=()):
    return {"traveller_id": None, "given_names": given, "family_names": family, "names_latin": None,
            "date_of_birth": dt.date(1985, 4, 2), "sex": "F", "nationality": "MX", "phone_numbers": list(phones)}


def crossing(label, t=T0, port="USMIA", *, mode="AIR", direction="ENTRY", doc=("X1234567", "MX"), phones=(),
             family="GARCIA", group=None, currency=(), conv=None):
    return {
        "event_id": eid(label), "occurred_at": t, "port_locode": port, "lane": None, "direction": direction,
        "mode": mode, "traveller": traveller(family=family, phones=phones),
        "document": document(*doc) if doc else None, "conveyance": conv, "travel_group_id": group,
        "declared_currency": [{"amount": Decimal(a), "currency": c} for a, c in currency],
        "source_system": "test",
    }


def seizure(label, t=T0, port="USMIA", *, category="NARCOTICS", docs=(), phones=(), conv=None, persons=(),
            case=None):
    return {
        "event_id": eid(label), "occurred_at": t, "port_locode": port, "location": None, "category": category,
        "items": [], "detection_method": "CANINE", "concealment": None, "conveyance": conv,
        "persons": list(persons), "documents": [document(*d) for d in docs], "phone_numbers": list(phones),
        "case_reference": case, "source_system": "test",
    }


class Worker:
    """Drives a rule as the correlate worker does: one table per rule keyed by state key, the
    state stored as JSON (so a state that is not JSON-serialisable fails here), None deletes."""

    def __init__(self, rule):
        self.rule, self.table = rule, {}

    def feed(self, kind, event) -> list[RuleHit]:
        hits = []
        for key in self.rule.keys(kind, event):
            stored = self.table.get(key)
            state, found = self.rule.observe(key, json.loads(stored) if stored else None, kind, event)
            if state is None:
                self.table.pop(key, None)
            else:
                self.table[key] = json.dumps(state)
            hits += found
        return hits

    def state(self, key):
        return json.loads(self.table[key]) if key in self.table else None


def alert_ids(hits, kind, event):
    return [rule_alert(h, kind, event, NOW)["alert_id"] for h in hits]


# --------------------------------------------------------------------------------- tests


def test_default_rules_declare_the_interface():
    names = [r.name for r in RULES]
    assert names == ["impossible_travel", "seizure_reappearance", "repeated_route_seizures", "currency_structuring"]
    for rule in RULES:
        assert isinstance(rule, Rule)
        assert rule.kinds and rule.kinds <= {"crossings", "seizures"}


def test_builders_make_valid_events(catalog):
    encode_single_object(catalog.get("crossings"), crossing(
        "c", phones=["+525512345678"], group="G1", currency=[("9500.00", "USD")],
        conv=conveyance(plate="ABC123", plate_country="MX")))
    encode_single_object(catalog.get("seizures"), seizure(
        "s", docs=[("X1", "MX")], phones=["+525512345678"], conv=conveyance(imo="9074729"),
        persons=[traveller()], case="CASE-1"))


HIT = RuleHit(rule="impossible_travel", severity="HIGH", subject="doc:MX:X1 at USMIA and USJFK", score=0.8,
              explanation=[{"feature": "required_speed", "weight": 0.8, "detail": "3,520 km/h"}],
              event_ids=[eid("b"), eid("a")], key="doc:MX:X1")


def test_rule_alert_is_a_valid_alert_with_a_deterministic_id(catalog):
    a, b = crossing("a"), crossing("b", at(minutes=30), "USJFK")
    alert = rule_alert(HIT, "crossings", b, NOW)
    encode_single_object(catalog.get("alerts"), alert)
    assert alert["alert_type"] == "RULE" and alert["rule"] == "impossible_travel"
    assert alert["event_id"] == eid("b") and alert["related_event_ids"] == [eid("a")]
    assert alert["event_kind"] == "CROSSING" and alert["occurred_at"] == b["occurred_at"]
    # Same rule, key and events: same id, whichever event triggered it, in whatever order, whenever.
    reordered = RuleHit(**{**HIT.__dict__, "event_ids": [eid("a"), eid("b")]})
    assert rule_alert(reordered, "crossings", a, NOW + dt.timedelta(days=1))["alert_id"] == alert["alert_id"]
    # Another key or another set of events: another alert.
    assert rule_alert(RuleHit(**{**HIT.__dict__, "key": "doc:MX:X2"}), "crossings", b, NOW)["alert_id"] != alert["alert_id"]
    assert rule_alert(RuleHit(**{**HIT.__dict__, "event_ids": [eid("a"), eid("c")]}), "crossings", b,
                      NOW)["alert_id"] != alert["alert_id"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rules_ignore_kinds_they_do_not_observe(rule):
    # The worker only routes rule.kinds, but keys() of other kinds must not crash either.
    assert isinstance(rule.keys("crossings", crossing("x")), list)
    assert isinstance(rule.keys("seizures", seizure("y")), list)
