"""impossible_travel: one travel document at two ports within a time no traveller could make.

State per document key: its recent passages ``[event_id, t_ms, port, mode, direction]`` in
event-time order, pruned to ``window_hours`` behind the latest passage and to the last
``max_passages``.

Only the passages next to the new one in event time are compared (the nearest earlier and
later passage at ports with known positions). That is enough: if A→C needs more than the speed
limit, then so does A→B or B→C for any B in between (distances add up at most, times add up
exactly), so no impossible pair is missed, and a document seen at many ports raises one alert
per impossible leg instead of one per pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from borderhub.domain.entities import document_key
from borderhub.domain.ports import port_info
from services.correlate.rules.base import HOUR_MS, RuleHit, event_ms, feature, iso

EARTH_RADIUS_KM = 6371.0088
# Modes that may mean a flight. UNKNOWN counts as air: assuming the slower mode would turn
# every gap in the data into an alert.
_AIR_MODES = frozenset({"AIR", "UNKNOWN"})
ID, T, PORT, MODE, DIRECTION = range(5)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def port_distance_km(a: str, b: str) -> float | None:
    pa, pb = port_info(a), port_info(b)
    return haversine_km(pa.lat, pa.lon, pb.lat, pb.lon) if pa and pb else None


@dataclass(frozen=True)
class ImpossibleTravel:
    """Defaults: 900 km/h when either passage is by air (or of unknown mode), 130 km/h when
    both are by land, sea, rail or on foot; ports closer than 30 km (one metropolitan area, e.g.
    San Ysidro and Otay Mesa) are not evidence; with a port of unknown position, two ENTRY
    passages at different ports within 1 hour and no EXIT in between are the hit instead."""

    name: ClassVar[str] = "impossible_travel"
    kinds: ClassVar[frozenset[str]] = frozenset({"crossings"})

    air_speed_kmh: float = 900.0
    surface_speed_kmh: float = 130.0
    min_distance_km: float = 30.0
    unknown_entry_window_hours: float = 1.0
    # 48 h at 900 km/h spans the globe: older passages cannot make a pair impossible.
    window_hours: float = 48.0
    max_passages: int = 20
    severity: str = "HIGH"

    def keys(self, kind: str, event: dict, entities: list | None = None) -> list[str]:
        doc = event.get("document")
        return [document_key(doc)] if doc and doc.get("number") and doc.get("issuing_country") else []

    def observe(self, key: str, state: dict | None, kind: str, event: dict) -> tuple[dict | None, list[RuleHit]]:
        me = [event["event_id"], event_ms(kind, event), event["port_locode"], event.get("mode") or "UNKNOWN",
              event.get("direction") or "UNKNOWN"]
        passages = [list(p) for p in (state or {}).get("passages", [])]
        horizon = max([me[T]] + [p[T] for p in passages]) - int(self.window_hours * HOUR_MS)
        if me[T] < horizon:  # too late to pair with anything the state still holds
            return state, []
        if all(p[ID] != me[ID] for p in passages):  # a replayed event is stored once
            passages.append(me)
        passages = sorted((p for p in passages if p[T] >= horizon), key=lambda p: (p[T], p[ID]))
        passages = passages[-self.max_passages:]
        new_state = {"passages": passages}
        if all(p[ID] != me[ID] for p in passages):  # older than the most recent max_passages
            return new_state, []
        return new_state, self._speed_hits(key, passages, me) + self._entry_hits(key, passages, me)

    # ---------------------------------------------------------------------------- checks

    def _speed_hits(self, key: str, passages: list[list], me: list) -> list[RuleHit]:
        if port_info(me[PORT]) is None:
            return []
        located = [p for p in passages if port_info(p[PORT]) is not None]
        i = next(i for i, p in enumerate(located) if p[ID] == me[ID])
        pairs = ([(located[i - 1], me)] if i > 0 else []) + ([(me, located[i + 1])] if i + 1 < len(located) else [])
        return [hit for a, b in pairs if (hit := self._speed_hit(key, a, b))]

    def _speed_hit(self, key: str, a: list, b: list) -> RuleHit | None:
        km = port_distance_km(a[PORT], b[PORT])
        if km is None or km < self.min_distance_km:
            return None
        hours = (b[T] - a[T]) / HOUR_MS
        limit = max(self._max_speed(a[MODE]), self._max_speed(b[MODE]))
        speed = km / hours if hours > 0 else math.inf
        if speed <= limit:
            return None
        # 0.5 just over the limit, rising to 1.0 for simultaneous passages.
        score = round(1.0 - 0.5 * limit / speed, 3)
        need = "simultaneous" if hours <= 0 else f"{speed:,.0f} km/h needed"
        return RuleHit(
            rule=self.name, severity=self.severity, key=key, score=score, event_ids=[a[ID], b[ID]],
            subject=f"{key} at {a[PORT]} {iso(a[T])} and {b[PORT]} {iso(b[T])}: {km:,.0f} km, {need}",
            explanation=[
                _passage(a), _passage(b),
                feature("required_speed", score, f"{km:,.0f} km in {hours * 60:,.0f} min = "
                        f"{'infinite' if math.isinf(speed) else f'{speed:,.0f}'} km/h > limit {limit:,.0f} km/h "
                        f"(faster mode of {a[MODE]} and {b[MODE]})"),
            ],
        )

    def _entry_hits(self, key: str, passages: list[list], me: list) -> list[RuleHit]:
        """Two ENTRY passages at different ports within the hour and no EXIT between them, when a
        position is unknown and speed cannot be judged: one entry was not a real one."""
        if me[DIRECTION] != "ENTRY":
            return []
        window = self.unknown_entry_window_hours * HOUR_MS
        i = next(i for i, p in enumerate(passages) if p[ID] == me[ID])
        hits = []
        for step in (-1, 1):  # nearest such passage before, then after
            j = i + step
            while 0 <= j < len(passages) and abs(passages[j][T] - me[T]) <= window and passages[j][DIRECTION] != "EXIT":
                other = passages[j]
                if (other[DIRECTION] == "ENTRY" and other[PORT] != me[PORT]
                        and port_distance_km(other[PORT], me[PORT]) is None):
                    a, b = (other, me) if step < 0 else (me, other)
                    minutes = (b[T] - a[T]) / 60_000
                    hits.append(RuleHit(
                        rule=self.name, severity=self.severity, key=key, score=0.7, event_ids=[a[ID], b[ID]],
                        subject=f"{key} entered at {a[PORT]} {iso(a[T])} and {b[PORT]} {iso(b[T])} without exit",
                        explanation=[_passage(a), _passage(b), feature(
                            "entry_without_exit", 0.7,
                            f"two entries {minutes:,.0f} min apart at different ports with no exit between "
                            f"(position of {a[PORT] if port_info(a[PORT]) is None else b[PORT]} unknown)")],
                    ))
                    break
                j += step
        return hits

    def _max_speed(self, mode: str) -> float:
        return self.air_speed_kmh if mode in _AIR_MODES else self.surface_speed_kmh


def _passage(p: list) -> dict:
    return feature("passage", 0.0, f"{p[PORT]} {p[DIRECTION]} by {p[MODE]} at {iso(p[T])} (event {p[ID]})")
