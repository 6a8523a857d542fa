"""What every rule shares: the hit it reports, the interface the worker drives, and the Alert
datum a hit becomes.

How the worker drives a rule: for an event of one of ``rule.kinds``, for each key of
``rule.keys(kind, event, entities)`` (entities: the event's ``event_entities``, when the caller
has them already), load that key's state from the rule's table, call
``rule.observe(key, state, kind, event)``, store the returned state (None: delete the key) and
publish ``rule_alert`` of every hit. State is a small JSON-serialisable dict that each rule
prunes by event time inside ``observe``, so a table never grows without bound.

Replay safety (delivery is at least once): states remember the event ids they counted, so an
event observed twice is counted once, and observing it again returns the same hits, hence the
same alert ids, whether or not its state change was stored before a crash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from services.correlate.outputs import EVENT_KINDS, alert_id, event_time


@dataclass(frozen=True)
class RuleHit:
    rule: str
    severity: str  # an Alert Severity symbol
    subject: str  # a few words for the alert list
    score: float  # in [0, 1]
    explanation: list[dict]  # ScoreFeature dicts: feature, weight, detail
    event_ids: list[str]  # every event the hit rests on, the observed one included
    key: str  # the state key the hit was found under


@runtime_checkable
class Rule(Protocol):
    name: str
    kinds: frozenset[str]

    def keys(self, kind: str, event: dict, entities: list | None = None) -> list[str]: ...

    def observe(self, key: str, state: dict | None, kind: str, event: dict) -> tuple[dict | None, list[RuleHit]]: ...


def rule_alert(hit: RuleHit, kind: str, event: dict, now: dt.datetime) -> dict:
    """The Alert datum (schemas/alert.avsc) of one hit raised while observing ``event``."""
    ids = sorted(set(hit.event_ids))
    return {
        # The ids of all events involved, sorted: whichever of them triggers the hit (or a
        # replay of it) yields the same alert id.
        "alert_id": alert_id("rule", hit.rule, hit.key, *ids),
        "created_at": now,
        "alert_type": "RULE",
        "severity": hit.severity,
        "event_id": event["event_id"],
        "event_kind": EVENT_KINDS.get(kind, "OTHER"),
        "occurred_at": event_time(kind, event),
        "port_locode": event.get("port_locode"),
        "subject": hit.subject,
        "entry_id": None,
        "source_list": None,
        "action_on_hit": None,
        "rule": hit.rule,
        "score": float(hit.score),
        "explanation": [feature(f["feature"], f["weight"], f["detail"]) for f in hit.explanation],
        "path": [],
        "related_event_ids": [i for i in ids if i != event["event_id"]],
    }


# ------------------------------------------------------------------------------ helpers


def feature(name: str, weight: float, detail: str) -> dict:
    return {"feature": name, "weight": float(weight), "detail": str(detail)}


def to_ms(t: dt.datetime) -> int:
    if t.tzinfo is None:  # decoded Avro timestamps are aware; a naive one is taken as UTC
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp() * 1000)


def event_ms(kind: str, event: dict) -> int:
    return to_ms(event_time(kind, event))


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
