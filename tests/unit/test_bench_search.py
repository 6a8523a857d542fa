"""The search bench's pure parts: percentiles, the request mix (and that the API and the raw
Elasticsearch baseline are asked the same thing), recurring events and bench alerts."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
from collections import Counter

import numpy as np
import pytest

from borderhub.avro import SchemaCatalog, from_json
from borderhub.settings import get_settings
from services.search_api import bench_search as b
from services.search_api import queries as q
from services.search_api.routes import TOTAL_HITS_UP_TO
from services.search_api.routes.events import event_filters

UTC = dt.timezone.utc
END = dt.datetime(2026, 11, 23, 18, 0, 0, 123000, tzinfo=UTC)
VOCAB = b.Vocabulary(
    end=END, family_names=("Garcia", "Nguyen", "Smith", "Иванов", "O'Neil", "Li"),
    full_names=("Maria Garcia", "Van Nguyen", "John Smith"), documents=("A12345678", "L01X00T47"),
    plates=("7ABC123", "BCN-1234"), nationalities=("MX", "US", "VN"), ports=("USMIA", "USSYO", "USMIA"),
    points=((25.77, -80.19), (32.54, -117.03)), categories=("NARCOTICS", "CURRENCY"),
    source_lists=("ofac-sdn", "interpol-sltd"), alert_ports=("USMIA", "USSYO"))


# --- percentiles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 1000])
def test_percentile_matches_numpy_linear(n):
    rng = random.Random(n)
    values = [rng.expovariate(0.05) for _ in range(n)]
    for pct in (0, 1, 50, 90, 95, 99, 100):
        assert b.percentile(values, pct) == pytest.approx(float(np.percentile(values, pct)))


def test_percentile_edges():
    assert math.isnan(b.percentile([], 95))
    assert b.percentile([7.0], 99) == 7.0
    assert b.percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input
    with pytest.raises(ValueError):
        b.percentile([1.0], 101)


def test_summarise():
    latencies = [float(i) for i in range(1, 101)]
    s = b.summarise(latencies, seconds=10.0, errors=2)
    assert s["requests"] == 100 and s["errors"] == 2 and s["per_s"] == 10.0
    assert s["p50_ms"] == 50.5 and s["p95_ms"] == 95.0 and s["p99_ms"] == 99.0 and s["max_ms"] == 100.0
    assert b.summarise([], 10.0, errors=3) == {"requests": 0, "errors": 3, "per_s": 0.0}


def test_compare_uses_the_mean_of_the_raw_runs():
    api = {"p50_ms": 30.0, "p95_ms": 90.0, "p99_ms": 120.0}
    out = b.compare(api, {"p50_ms": 10.0, "p95_ms": 40.0, "p99_ms": 50.0},
                    {"p50_ms": 20.0, "p95_ms": 50.0, "p99_ms": 70.0}, target_ms=100.0)
    assert out["raw_p95_ms"] == 45.0 and out["ratio_p95"] == 2.0 and out["ratio_p50"] == 2.0
    assert out["p95_met"] is True
    assert b.compare({"p95_ms": 101.0}, {}, {}, 100.0)["p95_met"] is False


# --- the mix -------------------------------------------------------------------------------------

def damerau(a: str, b_: str) -> int:
    d = [[0] * (len(b_) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b_) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b_) + 1):
            cost = a[i - 1] != b_[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b_[j - 2] and a[i - 2] == b_[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b_)]


def test_typo_is_one_edit_after_the_first_letter():
    rng = random.Random(1)
    for word in ("Garcia", "Nguyen", "Rodriguez", "Kowalski", "Abel"):
        for _ in range(50):
            typo = b.typo(word, rng)
            assert typo[0] == word[0]
            assert damerau(word.lower(), typo.lower()) <= 1  # within fuzziness AUTO for 4+ letters
    assert b.typo("Li", rng) == "Li"


def test_mix_follows_the_weights_and_is_reproducible():
    specs = b.search_mix(VOCAB, 2000, seed=3)
    counts = Counter(s.label for s in specs)
    total = sum(b.SEARCH_MIX.values())
    for label, weight in b.SEARCH_MIX.items():
        assert counts[label] == round(2000 * weight / total)
    assert specs == b.search_mix(VOCAB, 2000, seed=3)
    assert specs != b.search_mix(VOCAB, 2000, seed=4)
    alerts = b.alert_mix(VOCAB, 1000)
    assert set(s.label for s in alerts) == set(b.ALERT_MIX)


def test_time_filters_are_relative_to_the_data():
    specs = b.search_mix(VOCAB, 500)
    week = [s for s in specs if s.label == "port_kind_week"][0].filters
    assert week.time_to == END.replace(microsecond=0)
    assert week.time_to - week.time_from == dt.timedelta(days=7)


def _kwargs(params: list[tuple[str, str]]) -> dict:
    """Query parameters as FastAPI hands them to the event_filters dependency."""
    names = {"from": "time_from", "to": "time_to"}
    out: dict = {}
    for name, value in params:
        if name in ("sort", "size", "facets", "cursor"):
            continue
        key = names.get(name, name)
        if key in ("kind", "port"):
            out.setdefault(key, []).append(value)
        elif key in ("time_from", "time_to"):
            out[key] = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif key in ("lat", "lon", "radius_km", "top", "left", "bottom", "right"):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def test_the_api_is_asked_what_the_raw_baseline_is_asked():
    """Through the API's own parameter handling, every spec's query string gives the very
    filters the raw Elasticsearch body was built from."""
    for spec in b.search_mix(VOCAB, 400):
        params = b.search_params(spec)
        assert asyncio.run(event_filters(**_kwargs(params))) == spec.filters, spec
        assert dict(params)["size"] == str(spec.size)
        assert ("facets", "true") in params if spec.facets else ("facets", "true") not in params


def test_search_body_is_what_paged_search_sends():
    spec = b.SearchSpec("x", q.EventFilters(q="Garcia", ports=("USMIA",)), facets=True, size=20)
    body = b.search_body(spec)
    assert body == {"query": q.event_query(spec.filters), "sort": q.event_sort("relevance"), "size": 21,
                    "track_total_hits": TOTAL_HITS_UP_TO, "aggs": q.facet_aggs()}
    page2 = b.search_body(spec, after=[1.5, "id"])
    assert page2["search_after"] == [1.5, "id"] and page2["track_total_hits"] is False and "aggs" not in page2
    filtered = b.SearchSpec("y", q.EventFilters(ports=("USMIA",)))
    assert b.search_body(filtered)["sort"] == q.event_sort("time_desc")


def test_alert_params_and_body():
    spec = b.AlertSpec("x", q.AlertFilters(statuses=("new",), severities=("CRITICAL", "HIGH"), ports=("USMIA",)),
                       size=20)
    assert b.alert_params(spec) == [("status", "new"), ("severity", "CRITICAL"), ("severity", "HIGH"),
                                    ("port", "USMIA"), ("size", "20")]
    assert b.alert_body(spec) == {"query": q.alert_query(spec.filters), "sort": q.ALERT_SORT, "size": 21,
                                  "track_total_hits": TOTAL_HITS_UP_TO}


# --- data ----------------------------------------------------------------------------------------

def test_recurrence_stays_in_the_span_with_new_ids():
    start = dt.datetime(2026, 9, 24, tzinfo=UTC)
    span = dt.timedelta(days=60)
    when = start + dt.timedelta(days=50)
    assert b.recurrence("e1", when, 0, 4, start, span) == ("e1", when)
    seen = set()
    for k in range(1, 4):
        doc_id, at = b.recurrence("e1", when, k, 4, start, span)
        assert start <= at < start + span
        assert (at - when) % span == span * k / 4
        assert doc_id != "e1" and doc_id not in seen
        assert b.recurrence("e1", when, k, 4, start, span) == (doc_id, at)  # deterministic
        seen.add(doc_id)


def test_bench_alerts_fit_the_alert_schema():
    catalog = SchemaCatalog(get_settings().schemas_dir)
    rng = random.Random(2)
    statuses = Counter()
    for i in range(300):
        seed = {"event_id": f"e{i}", "event_kind": "CROSSING", "occurred_at": "2026-11-20T18:10:58.888Z",
                "port_locode": "USMIA", "subject": "Maria Garcia", "document": "A12345678" if i % 2 else None}
        obj = b.alert_object(seed, rng)
        datum, problems = from_json(catalog.get("alerts"), obj)
        assert not problems, problems
        triage = b.alert_triage(obj, rng)
        assert triage["status"] in q.ALERT_STATUSES
        statuses[triage["status"]] += 1
        assert (obj["source_list"] is None) == (obj["alert_type"] == "RULE")
    assert statuses["new"] > statuses["in_review"] > 0


def test_bench_names_never_touch_production():
    for alias in ("bh-events", "bh-alerts", "bh-audit", "bh-watchlist"):
        name = b.bench_name(alias)
        assert name.startswith(b.PREFIX) and not name.startswith("bh-")


def test_cold_start_warning_only_while_elasticsearch_is_young():
    assert b.cold_start_warning(b.WARM_AFTER_S) is None
    assert b.cold_start_warning(3600) is None
    warning = b.cold_start_warning(42)
    assert warning is not None and "42 s ago" in warning
