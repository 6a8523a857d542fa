"""The labelled evaluation set: committed, reproducible, and the quality bar is met
(services/correlate/matching/evalset.py, tests/data/eval/pairs.jsonl)."""

from collections import Counter

from services.correlate.matching.evalset import PAIRS_FILE, evaluate, generate, load


def test_committed_set_is_what_the_generator_makes():
    committed = load(PAIRS_FILE)
    assert committed == generate()
    labels = Counter(p["label"] for p in committed)
    assert labels[1] >= 1000 and labels[0] >= 1000
    tags = Counter(t.split(":")[0] for p in committed for t in p["tags"])
    for tag in ("script", "translit", "typo", "order", "no_middle", "no_second_surname", "dob",
                "namesake_far", "namesake_near", "shared_surname", "gendered"):
        assert tags[tag] >= 25, tag


def test_recall_and_false_alert_rate_at_the_default_threshold():
    result = evaluate()
    assert result["recall"] >= 0.97, result["missed_examples"]
    assert result["false_alert_rate"] <= 0.03, result["false_alert_examples"]
    # A namesake born years apart is never an alert.
    assert result["by_tag"]["namesake_far"]["alert_rate"] == 0.0
