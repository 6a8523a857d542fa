"""currency_structuring: cash declarations split to stay under the reporting threshold.

Two or more declarations within ``window_hours``, each below the threshold but above
``min_fraction`` of it, whose sum exceeds the threshold: one traveller splitting over several
crossings (key: the document) or a group splitting between its members (key:
"group:<travel_group_id>").

State per key: the qualifying declarations ``[event_id, t_ms, usd, detail]`` in the window and
``fired`` (the declarations of each hit raised, by trigger id, so a replay raises the same
alert). Declarations that cannot be part of a split never reach the state: ``keys`` is empty
for them. A hit comes when the sum first exceeds the threshold and again each time it doubles,
not on every further declaration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar, Mapping

from borderhub.domain.entities import document_key
from services.correlate.rules.base import HOUR_MS, RuleHit, event_ms, feature, iso

# Approximate US dollars per unit (rounded mid-market rates of 2024-2025). Good enough to see
# a declaration sit just under the threshold, not for accounting; currencies not listed are
# left out of the sum.
FX_TO_USD: Mapping[str, Decimal] = MappingProxyType({code: Decimal(rate) for code, rate in {
    "USD": "1", "EUR": "1.08", "GBP": "1.27", "CHF": "1.13", "CAD": "0.73", "MXN": "0.055", "AUD": "0.66",
    "NZD": "0.60", "JPY": "0.0067", "CNY": "0.138", "HKD": "0.128", "SGD": "0.74", "KRW": "0.00073",
    "INR": "0.012", "AED": "0.272", "SAR": "0.267", "QAR": "0.275", "TRY": "0.030", "RUB": "0.011",
    "BRL": "0.18", "COP": "0.00025", "ARS": "0.0011", "CLP": "0.00105", "PEN": "0.27", "DOP": "0.017",
    "GTQ": "0.13", "HNL": "0.040", "NGN": "0.00065", "ZAR": "0.054", "PHP": "0.017", "THB": "0.028",
    "SEK": "0.095", "NOK": "0.093", "DKK": "0.145", "PLN": "0.25",
}.items()})

ID, T, USD, DETAIL = range(4)


@dataclass(frozen=True)
class CurrencyStructuring:
    """Defaults: reporting threshold USD 10,000 (amounts compare after conversion with
    ``fx_to_usd``), a declaration counts when above 50% of it and below it, window 72 hours."""

    name: ClassVar[str] = "currency_structuring"
    kinds: ClassVar[frozenset[str]] = frozenset({"crossings"})

    threshold_usd: Decimal = Decimal("10000")
    min_fraction: Decimal = Decimal("0.5")
    window_hours: float = 72.0
    max_declarations: int = 50
    severity: str = "MEDIUM"
    fx_to_usd: Mapping[str, Decimal] = field(default_factory=lambda: FX_TO_USD, hash=False)

    def declared_usd(self, event: dict) -> tuple[Decimal, str]:
        """The event's declarations summed in USD, and how they read ("9500.00 USD + ...")."""
        lines = [m for m in event.get("declared_currency") or () if m["currency"] in self.fx_to_usd]
        usd = sum((Decimal(m["amount"]) * self.fx_to_usd[m["currency"]] for m in lines), Decimal(0))
        return usd, " + ".join(f"{Decimal(m['amount']):.2f} {m['currency']}" for m in lines)

    def qualifies(self, usd: Decimal) -> bool:
        return self.threshold_usd * self.min_fraction < usd < self.threshold_usd

    def keys(self, kind: str, event: dict, entities: list | None = None) -> list[str]:
        if not event.get("declared_currency") or not self.qualifies(self.declared_usd(event)[0]):
            return []
        doc = event.get("document")
        keys = [document_key(doc)] if doc and doc.get("number") and doc.get("issuing_country") else []
        return keys + ([f"group:{event['travel_group_id']}"] if event.get("travel_group_id") else [])

    def observe(self, key: str, state: dict | None, kind: str, event: dict) -> tuple[dict | None, list[RuleHit]]:
        usd, amounts = self.declared_usd(event)
        if not self.qualifies(usd):  # keys() is empty for it; guard a caller that skipped keys()
            return state, []
        state = state or {"declarations": [], "fired": {}}
        event_id, t = event["event_id"], event_ms(kind, event)
        if event_id in state["fired"]:  # a replayed trigger: the same hit again
            return state, [self._hit(key, state["declarations"], state["fired"][event_id])]
        if any(d[ID] == event_id for d in state["declarations"]):  # replayed, raised nothing
            return state, []
        horizon = max([t] + [d[T] for d in state["declarations"]]) - int(self.window_hours * HOUR_MS)
        if t < horizon:
            return state, []
        before = [list(d) for d in state["declarations"] if d[T] >= horizon]
        detail = (f"{amounts} ≈ {usd:,.0f} USD at {event['port_locode']} {event.get('direction') or 'UNKNOWN'} "
                  f"{iso(t)} (event {event_id})")
        after = sorted(before + [[event_id, t, float(round(usd, 2)), detail]], key=lambda d: (d[T], d[ID]))
        after = after[-self.max_declarations:]
        ids = {d[ID] for d in after}
        fired = {trigger: involved for trigger, involved in state["fired"].items() if trigger in ids}
        hits = []
        if self._level(after) > self._level(before):
            fired[event_id] = [d[ID] for d in after]
            hits.append(self._hit(key, after, fired[event_id]))
        return {"declarations": after, "fired": fired}, hits

    def _level(self, declarations: list[list]) -> int:
        """0 while no split shows; k while the sum is in (2^(k-1), 2^k] times the threshold."""
        total = sum(Decimal(str(d[USD])) for d in declarations)
        if len(declarations) < 2 or total <= self.threshold_usd:
            return 0
        return max(1, math.ceil(math.log2(total / self.threshold_usd)))

    def _hit(self, key: str, declarations: list[list], involved: list[str]) -> RuleHit:
        wanted = set(involved)
        rows = [d for d in declarations if d[ID] in wanted]
        total = sum(Decimal(str(d[USD])) for d in rows)
        score = round(min(1.0, float(total / (2 * self.threshold_usd))), 3)
        who = "group " + key.removeprefix("group:") if key.startswith("group:") else key
        return RuleHit(
            rule=self.name, severity=self.severity, key=key, score=score, event_ids=list(involved),
            subject=f"{len(rows)} cash declarations by {who} totalling ≈ {total:,.0f} USD, each under "
                    f"{self.threshold_usd:,.0f} USD",
            explanation=[feature("declaration", round(score / len(rows), 4), d[DETAIL]) for d in rows]
            + [feature("total", 0.0, f"sum ≈ {total:,.0f} USD > threshold {self.threshold_usd:,.0f} USD within "
                                     f"{self.window_hours:g} h; each above {self.threshold_usd * self.min_fraction:,.0f}"
                                     f" USD and below the threshold (approximate FX)")],
        )
