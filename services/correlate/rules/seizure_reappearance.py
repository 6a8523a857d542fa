"""seizure_reappearance: a document, vehicle or phone that appeared in a seizure shows up again
at a crossing.

State per entity key: the seizures it appeared in, ``[event_id, t_ms, port, category,
case_reference]``, within ``window_days`` and at most ``max_seizures`` (the most recent).
A seizure records itself under each of its entities; a crossing only reads, so the table
holds state for seized entities alone, not for every traveller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from borderhub.domain.entities import event_entities
from services.correlate.rules.base import DAY_MS, RuleHit, event_ms, feature, iso

ID, T, PORT, CATEGORY, CASE = range(5)


@dataclass(frozen=True)
class SeizureReappearance:
    """Defaults: seizures of the last 365 days count; a crossing at the seizing port within 120
    minutes after the seizure is the passage the seizure was made at, not a reappearance."""

    name: ClassVar[str] = "seizure_reappearance"
    kinds: ClassVar[frozenset[str]] = frozenset({"crossings", "seizures"})

    window_days: float = 365.0
    same_scene_minutes: float = 120.0
    max_seizures: int = 20
    entity_types: frozenset[str] = frozenset({"document", "vehicle", "phone"})
    severity: str = "HIGH"

    def keys(self, kind: str, event: dict, entities: list | None = None) -> list[str]:
        entities = event_entities(kind, event) if entities is None else entities
        return [r.key for r in entities if r.type in self.entity_types]

    def observe(self, key: str, state: dict | None, kind: str, event: dict) -> tuple[dict | None, list[RuleHit]]:
        t = event_ms(kind, event)
        seizures = [list(s) for s in (state or {}).get("seizures", [])]
        window = int(self.window_days * DAY_MS)
        if kind == "seizures":
            if all(s[ID] != event["event_id"] for s in seizures):  # a replayed seizure is stored once
                seizures.append([event["event_id"], t, event["port_locode"], event.get("category") or "OTHER",
                                 event.get("case_reference")])
            horizon = max(s[T] for s in seizures) - window
            seizures = sorted((s for s in seizures if s[T] >= horizon), key=lambda s: (s[T], s[ID]))
            return {"seizures": seizures[-self.max_seizures:]}, []

        # A crossing: expired seizures are dropped (None deletes the key once none is left).
        kept = [s for s in seizures if s[T] >= t - window]
        new_state = {"seizures": kept} if kept else None
        scene = self.same_scene_minutes * 60_000
        earlier = [s for s in kept if s[T] <= t and not (s[PORT] == event["port_locode"] and t - s[T] <= scene)]
        if not earlier:
            return new_state, []
        n = len(earlier)
        last = earlier[-1]
        return new_state, [RuleHit(
            rule=self.name, severity=self.severity, key=key, score=1.0,
            event_ids=[event["event_id"], *(s[ID] for s in earlier)],
            subject=(f"{key} from {n} seizure{'s' if n > 1 else ''} (last {last[CATEGORY]} at {last[PORT]} "
                     f"{iso(last[T])[:10]}) crossing at {event['port_locode']}"),
            explanation=[feature("seizure", round(1.0 / n, 3),
                                 f"{key} in {s[CATEGORY]} seizure at {s[PORT]} on {iso(s[T])} "
                                 f"(event {s[ID]}{', case ' + s[CASE] if s[CASE] else ''})") for s in earlier],
        )]


class SeizedKeys:
    """The entity keys of the seizures of the rule's window, as every worker sees them by
    following the seizures topic. A crossing is forwarded to this rule only under keys in here:
    most crossings mention no seized document, vehicle or phone, and forwarding each of them
    under all three would carry the crossing to up to three more rule partitions for nothing.

    A key joins when the worker reads the seizure, a moment after Kafka acknowledged it; a
    crossing of the same document, vehicle or phone at another port within that moment is the
    one case the filter could miss."""

    def __init__(self, rule: SeizureReappearance):
        self.rule = rule
        self._seen: dict[str, int] = {}  # key -> event time (ms) of its latest seizure
        self._newest = 0

    def add(self, seizure: dict) -> None:
        t = event_ms("seizures", seizure)
        for key in self.rule.keys("seizures", seizure):
            self._seen[key] = max(t, self._seen.get(key, t))
        if t > self._newest:
            self._newest = t
            if len(self._seen) % 1000 == 0:  # now and then: forget what left the window
                horizon = t - int(self.rule.window_days * DAY_MS)
                self._seen = {k: v for k, v in self._seen.items() if v >= horizon}

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)
