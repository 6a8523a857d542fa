"""Rules over the event streams: small declared units, one interface (see ``base``).

``RULES`` holds the default instances; thresholds are constructor parameters of each rule."""

from services.correlate.rules.base import Rule, RuleHit, rule_alert
from services.correlate.rules.currency_structuring import FX_TO_USD, CurrencyStructuring
from services.correlate.rules.impossible_travel import ImpossibleTravel
from services.correlate.rules.repeated_route_seizures import RepeatedRouteSeizures, route_key
from services.correlate.rules.seizure_reappearance import SeizureReappearance

RULES: list[Rule] = [ImpossibleTravel(), SeizureReappearance(), RepeatedRouteSeizures(), CurrencyStructuring()]

__all__ = ["RULES", "FX_TO_USD", "CurrencyStructuring", "ImpossibleTravel", "RepeatedRouteSeizures", "Rule",
           "RuleHit", "SeizureReappearance", "route_key", "rule_alert"]
