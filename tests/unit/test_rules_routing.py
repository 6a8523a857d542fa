"""Rule inputs reach the one partition that holds each state key, batched (rules/routing.py)."""

from services.correlate.rules import RULES
from services.correlate.rules.routing import (MAX_BATCH_BYTES, RuleInputBatcher, split_state_key, state_key,
                                              state_keys, state_partition)


def test_state_partition_is_stable_and_spread():
    keys = [state_key("impossible_travel", f"doc:CO:X{i:07d}") for i in range(6000)]
    partitions = [state_partition(k, 6) for k in keys]
    assert partitions == [state_partition(k, 6) for k in keys]  # no per-process hash seed
    assert state_partition("impossible_travel|doc:CO:X0000001", 6) == 1  # crc32 % 6: fixed across versions
    counts = [partitions.count(p) for p in range(6)]
    assert min(counts) > 800  # about 1,000 each


def test_state_key_round_trips_with_bars_in_the_rule_key():
    assert split_state_key(state_key("currency_structuring", "group:a|b")) == ("currency_structuring", "group:a|b")


def test_an_event_goes_once_to_each_partition_of_its_keys_with_only_that_partitions_keys():
    batcher = RuleInputBatcher(6)
    keys = [state_key("seizure_reappearance", f"phone:+5255000000{i}") for i in range(10)]
    batcher.add("crossings", b"event-1", keys)
    batches = batcher.batches()
    seen = []
    for partition, datum in batches:
        (item,) = datum["items"]
        assert item["event"] == b"event-1" and item["kind"] == "crossings"
        assert all(state_partition(k, 6) == partition for k in item["keys"])
        seen += item["keys"]
    assert sorted(seen) == sorted(keys)
    assert len({p for p, _ in batches}) == len(batches)
    assert batcher.batches() == []  # emptied


def test_batches_keep_order_and_stay_under_the_size_limit():
    batcher = RuleInputBatcher(1)
    event = b"x" * (MAX_BATCH_BYTES // 3 + 1)
    for i in range(7):
        batcher.add("crossings", event + bytes([i]), ["impossible_travel|doc:CO:1"])
    batches = batcher.batches()
    assert [len(d["items"]) for _, d in batches] == [2, 2, 2, 1]
    order = [item["event"][-1] for _, d in batches for item in d["items"]]
    assert order == list(range(7))
    assert all(sum(len(i["event"]) for i in d["items"]) <= MAX_BATCH_BYTES for _, d in batches)


def test_state_keys_cover_the_rules_that_watch_the_kind():
    crossing = {"event_id": "e1", "document": {"number": "AB123456", "issuing_country": "CO"},
                "traveller": {"given_names": "Ana", "family_names": "Ruiz", "phone_numbers": ["+573001234567"]},
                "port_locode": "USMIA", "declared_currency": []}
    keys = state_keys(RULES, "crossings", crossing)
    assert "impossible_travel|doc:CO:AB123456" in keys
    assert "seizure_reappearance|phone:+573001234567" in keys
    assert not any(k.startswith("repeated_route_seizures|") for k in keys)  # a seizures-only rule


def test_wanted_filters_the_keys_forwarded():
    crossing = {"event_id": "e1", "document": {"number": "AB123456", "issuing_country": "CO"},
                "traveller": {"given_names": "Ana", "family_names": "Ruiz", "phone_numbers": ["+573001234567"]},
                "port_locode": "USMIA", "declared_currency": []}
    seized = {"phone:+573001234567"}
    keys = state_keys(RULES, "crossings", crossing,
                      wanted=lambda rule, kind, key: rule != "seizure_reappearance" or key in seized)
    assert keys == ["impossible_travel|doc:CO:AB123456", "seizure_reappearance|phone:+573001234567"]
