"""What correlation writes: alerts with deterministic ids, and dead letters that keep the
original bytes. Pure functions, unit-tested without Kafka."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from dataclasses import dataclass

from borderhub.domain.entities import event_time

# Fixed namespace: the same (event, entry) pair gives the same alert id in every run and on
# every worker, so a replay after a crash never creates a second alert.
ALERT_NAMESPACE = uuid.UUID("5d1c3b8e-2f4a-4c61-9a8e-0b6c2f1e7a90")
DEAD_LETTER_NAMESPACE = uuid.UUID("8a0f6e42-1c7d-4b3e-9f25-6d4c3a2b1e08")

EVENT_KINDS = {"crossings": "CROSSING", "seizures": "SEIZURE", "biometrics": "BIOMETRIC"}

# The entry's action sets the floor of the severity; a weaker match lowers it one step.
_SEVERITY_BY_ACTION = {"ARREST": "CRITICAL", "DETAIN": "CRITICAL", "SEIZE_DOCUMENT": "HIGH",
                       "REFER_SECONDARY": "HIGH", "NOTIFY_ISSUER": "MEDIUM", "MONITOR": "LOW"}
_SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]


def alert_id(*parts: str) -> str:
    return str(uuid.uuid5(ALERT_NAMESPACE, "|".join(parts)))


def severity(action_on_hit: str | None, score: float, strong: float = 0.9) -> str:
    base = _SEVERITY_BY_ACTION.get(action_on_hit or "", "MEDIUM")
    if score < strong:
        return _SEVERITIES[min(_SEVERITIES.index(base) + 1, len(_SEVERITIES) - 1)]
    return base




def watchlist_alert(kind: str, event: dict, match, now: dt.datetime, alert_type: str = "WATCHLIST_MATCH") -> dict:
    """An Alert datum (schemas/alert.avsc) for one watchlist match of one event."""
    return {
        "alert_id": alert_id("watchlist", event["event_id"], match.entry_id),
        "created_at": now,
        "alert_type": alert_type,
        "severity": severity(match.action_on_hit, match.score),
        "event_id": event["event_id"],
        "event_kind": EVENT_KINDS.get(kind, "OTHER"),
        "occurred_at": event_time(kind, event),
        "port_locode": event.get("port_locode"),
        "subject": match.subject,
        "entry_id": match.entry_id,
        "source_list": match.source_list,
        "action_on_hit": match.action_on_hit,
        "rule": None,
        "score": float(match.score),
        "explanation": [{"feature": f["feature"], "weight": float(f["weight"]), "detail": str(f["detail"])}
                        for f in match.explanation],
        "path": [],
        "related_event_ids": [],
    }


def dead_letter(service: str, reason: str, payload: bytes | None, *, key: bytes | None = None,
                topic: str | None = None, partition: int | None = None, offset: int | None = None,
                problems: list | None = None, now: dt.datetime | None = None) -> dict:
    coordinates = f"{service}|{topic}|{partition}|{offset}" if offset is not None else f"{service}|{uuid.uuid4()}"
    return {
        "dead_letter_id": str(uuid.uuid5(DEAD_LETTER_NAMESPACE, coordinates)),
        "received_at": now or dt.datetime.now(dt.timezone.utc),
        "service": service,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "payload": payload,
        "content_type": "application/vnd.apache.avro",
        "reason": reason,
        "problems": [p.to_dict() if hasattr(p, "to_dict") else p for p in (problems or [])],
    }


class DeadLetterFlood(RuntimeError):
    """Too many bad records in a row: something upstream is broken, stop rather than bury it."""


@dataclass
class FloodGuard:
    """Trips when more than ``max_ratio`` of the last ``window`` records were dead-lettered
    (and at least ``min_count`` of them), so a wrong schema or a poisoned producer stops the
    worker instead of silently dead-lettering everything."""
    window: int = 1000
    max_ratio: float = 0.5
    min_count: int = 200

    def __post_init__(self):
        self._recent: collections.deque[bool] = collections.deque(maxlen=self.window)
        self._bad = 0

    def record(self, bad: bool) -> None:
        if len(self._recent) == self.window and self._recent[0]:
            self._bad -= 1
        self._recent.append(bad)
        self._bad += bad
        if self._bad >= self.min_count and self._bad > self.max_ratio * len(self._recent):
            raise DeadLetterFlood(f"{self._bad} of the last {len(self._recent)} records were dead-lettered")
