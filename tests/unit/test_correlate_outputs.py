"""Alert and dead-letter records of correlation: deterministic ids, severities, flood guard."""

import datetime as dt
from dataclasses import dataclass, field

import pytest

from borderhub.avro import encode_single_object
from services.correlate import outputs

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)


@dataclass
class FakeMatch:  # the fields of a matching-engine Match that alerts read
    entry_id: str = "wl-1"
    source_list: str = "national-wanted"
    score: float = 0.93
    action_on_hit: str = "ARREST"
    subject: str = "GARCIA LOPEZ, Maria Jose"
    explanation: list = field(default_factory=lambda: [{"feature": "name", "weight": 0.6, "detail": "exact"}])


def event():
    return {"event_id": "e-1", "occurred_at": NOW, "port_locode": "USSYO"}


def test_alert_id_is_deterministic_per_event_and_entry(catalog):
    a = outputs.watchlist_alert("crossings", event(), FakeMatch(), NOW)
    b = outputs.watchlist_alert("crossings", event(), FakeMatch(), NOW + dt.timedelta(hours=1))
    c = outputs.watchlist_alert("crossings", event(), FakeMatch(entry_id="wl-2"), NOW)
    assert a["alert_id"] == b["alert_id"] != c["alert_id"]
    encode_single_object(catalog.get("alerts"), a)  # a valid Alert record


@pytest.mark.parametrize("action, score, expected", [
    ("ARREST", 0.95, "CRITICAL"), ("ARREST", 0.8, "HIGH"), ("SEIZE_DOCUMENT", 0.99, "HIGH"),
    ("MONITOR", 0.99, "LOW"), ("MONITOR", 0.5, "INFO"), (None, 0.95, "MEDIUM"),
])
def test_severity_follows_action_and_strength(action, score, expected):
    assert outputs.severity(action, score) == expected


def test_dead_letter_keeps_bytes_and_coordinates(catalog):
    letter = outputs.dead_letter("correlate", "bad", b"\x01\x02", key=b"k", topic="poe.crossings.v1",
                                 partition=2, offset=41, now=NOW)
    again = outputs.dead_letter("correlate", "bad", b"\x01\x02", key=b"k", topic="poe.crossings.v1",
                                partition=2, offset=41, now=NOW)
    assert letter["payload"] == b"\x01\x02" and letter["dead_letter_id"] == again["dead_letter_id"]
    encode_single_object(catalog.get("deadletters"), letter)


def test_flood_guard_trips_only_on_a_flood():
    guard = outputs.FloodGuard(window=100, max_ratio=0.5, min_count=20)
    for i in range(1000):  # one bad record in ten: never trips
        guard.record(i % 10 == 0)
    guard = outputs.FloodGuard(window=100, max_ratio=0.5, min_count=20)
    with pytest.raises(outputs.DeadLetterFlood):
        for _ in range(100):
            guard.record(True)
