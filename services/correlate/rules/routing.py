"""Where rule state lives, and how events reach it.

A rule keeps state per *state key* (``"<rule name>|<rule key>"``: a document, a route, a travel
group). Each state key lives in one partition of the rule-inputs topic, and so of the faust table
co-partitioned with it, chosen by a stable hash of the key: every event touching a key reaches
the one worker holding the key's state, in the order it was forwarded.

Events are forwarded in batches (``RuleInputBatch`` records, ``schemas/rule_inputs.avsc``): one
record per target partition per batch of events, each event carried once with the state keys of
that partition, so the stream framework's per-record cost is paid per batch, not per event and
rule key.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable

from services.correlate.rules.base import Rule

MAX_BATCH_BYTES = 512 * 1024  # keeps a forwarded batch well under Kafka's default record limit


def state_key(rule_name: str, key: str) -> str:
    return f"{rule_name}|{key}"


def split_state_key(key: str) -> tuple[str, str]:
    rule_name, rule_key = key.split("|", 1)
    return rule_name, rule_key


def state_partition(key: str, partitions: int) -> int:
    """The partition of a state key: stable across processes and runs (crc32, not ``hash``)."""
    return zlib.crc32(key.encode()) % partitions


def state_keys(rules: Iterable[Rule], kind: str, datum: dict, entities: list | None = None,
               wanted: Callable[[str, str, str], bool] | None = None) -> list[str]:
    """Every state key an event touches, over the rules that watch its kind (``entities``: the
    event's ``event_entities`` when the caller has them); with ``wanted(rule name, kind, key)``,
    only the keys it accepts."""
    return [state_key(rule.name, key) for rule in rules if kind in rule.kinds
            for key in rule.keys(kind, datum, entities) if wanted is None or wanted(rule.name, kind, key)]


class RuleInputBatcher:
    """Collects forwarded events per target partition; ``batches()`` gives the RuleInputBatch
    data to publish, each under ``MAX_BATCH_BYTES`` of event bytes (a single larger event
    travels alone)."""

    def __init__(self, partitions: int):
        self.partitions = partitions
        self._open: dict[int, tuple[list[dict], int]] = {}
        self._full: list[tuple[int, dict]] = []

    def add(self, kind: str, event: bytes, keys: Iterable[str]) -> None:
        by_partition: dict[int, list[str]] = {}
        for key in keys:
            by_partition.setdefault(state_partition(key, self.partitions), []).append(key)
        for partition, partition_keys in by_partition.items():
            items, size = self._open.get(partition, ([], 0))
            if items and size + len(event) > MAX_BATCH_BYTES:
                self._full.append((partition, {"items": items}))
                items, size = [], 0
            items.append({"kind": kind, "keys": partition_keys, "event": event})
            self._open[partition] = (items, size + len(event))

    def batches(self) -> list[tuple[int, dict]]:
        """(partition, RuleInputBatch datum) of everything added, then empty again."""
        out = self._full + [(partition, {"items": items}) for partition, (items, _) in sorted(self._open.items())]
        self._open, self._full = {}, []
        return out
