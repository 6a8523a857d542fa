"""repeated_route_seizures: seizures piling up on one route (a port and a vessel, a flight or
the plates of one country) within a window.

State per route key: the seizures in the window ``[event_id, t_ms, category]`` (at most
``max_tracked``), the escalation ``level`` reached in the current run, and ``fired``: the
event ids of each hit raised in the window by trigger id, so a replayed trigger raises the
very same alert.

Alerts come once per threshold crossing, then at 2x, 4x, 8x ... the threshold: a busy route
(San Ysidro and Mexican plates) escalates a handful of times instead of alerting on every
seizure. A run ends when the window holds fewer than ``threshold`` seizures; the next
crossing of the threshold starts a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from borderhub.domain.identifiers import normalize_flight_number
from services.correlate.rules.base import DAY_MS, RuleHit, event_ms, feature, iso

ID, T, CATEGORY = range(3)
_SHOWN = 20  # seizures listed in an explanation; the subject carries the full count


def route_key(event: dict) -> str | None:
    """"route:<port>:imo:<n>", ":mmsi:<n>", ":flight:<designator>" or ":plates:<country>", the
    first the seizure's conveyance gives; None without one."""
    port, c = event.get("port_locode"), event.get("conveyance") or {}
    if not port:
        return None
    if imo := re.sub(r"\D", "", c.get("vessel_imo") or ""):
        return f"route:{port}:imo:{imo}"
    if mmsi := re.sub(r"\D", "", c.get("vessel_mmsi") or ""):
        return f"route:{port}:mmsi:{mmsi}"
    if c.get("flight_number"):
        return f"route:{port}:flight:{normalize_flight_number(c['flight_number'])}"
    if c.get("vehicle_country"):
        return f"route:{port}:plates:{c['vehicle_country'].upper()}"
    return None


@dataclass(frozen=True)
class RepeatedRouteSeizures:
    """Defaults: 3 seizures within 90 days; at most 200 seizures tracked per route."""

    name: ClassVar[str] = "repeated_route_seizures"
    kinds: ClassVar[frozenset[str]] = frozenset({"seizures"})

    window_days: float = 90.0
    threshold: int = 3
    max_tracked: int = 200
    severity: str = "MEDIUM"  # escalations (2x threshold and beyond) are HIGH

    def keys(self, kind: str, event: dict, entities: list | None = None) -> list[str]:
        key = route_key(event)
        return [key] if key else []

    def observe(self, key: str, state: dict | None, kind: str, event: dict) -> tuple[dict | None, list[RuleHit]]:
        state = state or {"seizures": [], "level": 0, "fired": {}}
        event_id, t = event["event_id"], event_ms(kind, event)
        if event_id in state["fired"]:  # a replayed trigger: the same hit again
            return state, [self._hit(key, state["seizures"], state["fired"][event_id])]
        if any(s[ID] == event_id for s in state["seizures"]):  # replayed, raised nothing
            return state, []
        horizon = max([t] + [s[T] for s in state["seizures"]]) - int(self.window_days * DAY_MS)
        if t < horizon:
            return state, []
        seizures = [list(s) for s in state["seizures"] if s[T] >= horizon]
        level = state["level"] if len(seizures) >= self.threshold else 0  # the run went on, or ended
        seizures = sorted(seizures + [[event_id, t, event.get("category") or "OTHER"]], key=lambda s: (s[T], s[ID]))
        seizures = seizures[-self.max_tracked:]
        ids = {s[ID] for s in seizures}
        fired = {trigger: involved for trigger, involved in state["fired"].items() if trigger in ids}
        hits = []
        if len(seizures) >= self.threshold * 2 ** level:
            level += 1
            fired[event_id] = [s[ID] for s in seizures]
            hits.append(self._hit(key, seizures, fired[event_id]))
        return {"seizures": seizures, "level": level, "fired": fired}, hits

    def _hit(self, key: str, seizures: list[list], involved: list[str]) -> RuleHit:
        wanted = set(involved)
        rows = [s for s in seizures if s[ID] in wanted]
        n = len(involved)
        score = round(min(1.0, n / (2 * self.threshold)), 3)
        route = key.removeprefix("route:").replace(":", " ")
        return RuleHit(
            rule=self.name, severity=self.severity if n < 2 * self.threshold else "HIGH", key=key, score=score,
            event_ids=list(involved),
            subject=f"{n} seizures within {self.window_days:g} days on route {route}",
            explanation=[feature("seizure", round(score / n, 4), f"{s[CATEGORY]} on {iso(s[T])} (event {s[ID]})")
                         for s in rows[-_SHOWN:]]
            + [feature("seizure_count", 0.0, f"{n} seizures on {route} within {self.window_days:g} days "
                                            f"(threshold {self.threshold})")],
        )
