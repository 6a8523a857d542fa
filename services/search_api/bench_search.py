"""Search and alert-list latency at scale (``borderhub bench --suite search``).

Issue 4's speed requirement: with 1,000,000 events indexed, ``GET /v1/events/search`` p95
<= 100 ms and ``GET /v1/alerts`` p95 <= 50 ms at 20 concurrent clients.

1. **Data.** N simulated events (``services.ingest.simulate``) become documents exactly as the
   indexer makes them (``indices.event_document``) and land, through parallel raw ``_bulk``
   requests, in bench-only monthly indices created from the production template (same
   mappings, analysis and shards; only the names differ: ``bhbench-search-*``), spread over
   the last 60 days (three monthly indices). Each simulated event recurs ``repeats`` (4) times
   across the span with its own id and time, as the regulars who cross every fortnight: that
   quarters the simulator's CPU, which cost as much as Elasticsearch's indexing (1M events
   loaded in 12 minutes on the shared two-core machine; generation in one process per core,
   two bulk senders in parallel). Alerts (N/20) are built from the same events with ``indices.alert_document``
   and a realistic triage mix. During the load refresh is
   off and the translog asynchronous; both are put back to the production values afterwards.
   A finished load is recorded in ``bhbench-search-meta``; a later run with the same N reuses
   it (``--reload`` drops and reloads).
2. **API.** A real search API process (uvicorn, the production app) with a throwaway key store
   holding one investigator key and a rate limit no bench can reach (a setting). The index
   names are module constants of ``indices``, bound by every router at import: the bench's API
   process rebinds them to the bench names *before* anything imports them (``serve`` below),
   so it runs unmodified production code and never reads or writes the production aliases.
   Every API search writes its audit record (in the bench's own audit index): that is part of
   the real cost and stays in.
3. **Load.** ``clients`` closed-loop clients (each sends its next request as soon as the
   previous one answered; with ``think``, after an exponentially distributed pause of that mean,
   from staggered starts) replay one fixed, seeded mix of realistic requests
   (:func:`search_mix`, :func:`alert_mix`) for ``duration`` seconds per phase. The baseline is
   the very same Elasticsearch requests the API sends (built with the same ``queries``
   functions) sent straight to Elasticsearch by the same client code at the same concurrency,
   measured before and after the API phase; the ratio uses their mean, and their spread says
   how noisy the (shared) machine was. CPU of Elasticsearch, the API and the load generator,
   the machine's load and Elasticsearch's own query/fetch time per request are recorded per
   phase, so API time can be told from Elasticsearch time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import orjson

from services.search_api.indices import (ALERTS_ALIAS, AUDIT_ALIAS, EVENTS_ALIAS, INDEX_PREFIX, alerts_index,
                                         events_template)
from services.search_api.queries import (ALERT_SORT, AlertFilters, EventFilters, GeoRadius, alert_query,
                                         event_query, event_sort, facet_aggs, iso)
from services.search_api.routes import PAGE_FILTER_PATH, PIT_KEEP_ALIVE, TOTAL_HITS_UP_TO

BENCH_INDEX_PREFIX = "bhbench-search"  # the bench API process runs with this BORDERHUB_ES_INDEX_PREFIX
PREFIX = f"{BENCH_INDEX_PREFIX}-"


def bench_name(production: str) -> str:
    """The bench's name for a production alias: ``bh-events`` -> ``bhbench-search-events``."""
    return BENCH_INDEX_PREFIX + production.removeprefix(INDEX_PREFIX)


EVENTS = bench_name(EVENTS_ALIAS)
ALERTS = bench_name(ALERTS_ALIAS)
AUDIT = bench_name(AUDIT_ALIAS)
META = f"{PREFIX}meta"

DATA_VERSION = 2  # bump when the data or its indices change shape (2: index sort): older bench data is reloaded
SPAN_DAYS = 60  # the events cover the last SPAN_DAYS days (three monthly indices)
CHUNK_EVENTS = 10_000  # events per generator task
BULK_DOCS = 2_000  # documents per _bulk request (the indexer's default batch)
BYTES_PER_EVENT = 4_500  # disk per event while loading, merges included (measured ~1.5 KB at rest)
DISK_MARGIN = 5 * 1024 ** 3
TARGETS_MS = {"search": 100.0, "alerts": 50.0}


# --- pure: percentiles and summaries ------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks (numpy's
    default); NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(latencies_ms: Sequence[float], seconds: float, errors: int = 0) -> dict:
    """Latency percentiles and throughput of one set of requests."""
    if not latencies_ms:
        return {"requests": 0, "errors": errors, "per_s": 0.0}
    return {
        "requests": len(latencies_ms), "errors": errors,
        "per_s": round(len(latencies_ms) / seconds, 1) if seconds > 0 else math.nan,
        "p50_ms": round(percentile(latencies_ms, 50), 1), "p95_ms": round(percentile(latencies_ms, 95), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1), "mean_ms": round(sum(latencies_ms) / len(latencies_ms), 1),
        "max_ms": round(max(latencies_ms), 1),
    }


# --- pure: the request mix ----------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Values the requests are drawn from, sampled from the indexed data itself."""
    end: dt.datetime  # the data's "now": time filters are relative to it
    family_names: tuple[str, ...]
    full_names: tuple[str, ...]
    documents: tuple[str, ...]
    plates: tuple[str, ...]
    nationalities: tuple[str, ...]
    ports: tuple[str, ...]  # as often as in the data: busy ports are asked about more
    points: tuple[tuple[float, float], ...]
    categories: tuple[str, ...]
    source_lists: tuple[str, ...]
    alert_ports: tuple[str, ...]


@dataclass(frozen=True)
class SearchSpec:
    label: str
    filters: EventFilters
    sort: str | None = None
    size: int = 50
    facets: bool = False
    page2: bool = False  # also fetch the second page with the first page's cursor


@dataclass(frozen=True)
class AlertSpec:
    label: str
    filters: AlertFilters
    size: int = 50


# label -> weight (per cent of requests). Investigators mostly look people and documents up by
# name or number; the rest are the filtered, geographic and faceted views of the search page.
SEARCH_MIX = {
    "name": 16, "fuzzy_name": 12, "full_name": 10, "document": 8, "port_kind_week": 10, "nationality_month": 8,
    "geo_radius_week": 8, "seizures_category_facets": 6, "day_facets": 6, "name_port_facets": 6, "plate": 5,
    "cursor_page2": 5,
}
ALERT_MIX = {"newest": 25, "status_new": 25, "in_review_escalated": 10, "severity_high": 15, "source_list": 10,
             "port_week": 10, "new_high_port": 5}


def _is_latin_word(word: str) -> bool:
    return len(word) >= 4 and word.isascii() and word.isalpha()


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one edit after its first letter (the search keeps prefix_length 1): a
    dropped, doubled, swapped or replaced letter. Words under four letters are left alone."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "double", "swap", "replace"))
    if edit == "drop":
        return word[:i] + word[i + 1:]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    other = rng.choice([c for c in "aeioulnrst" if c != word[i].lower()])
    return word[:i] + other + word[i + 1:]


def _days(vocab: Vocabulary, days: float) -> tuple[dt.datetime, dt.datetime]:
    end = vocab.end.replace(microsecond=0)
    return end - dt.timedelta(days=days), end


def search_spec(label: str, vocab: Vocabulary, rng: random.Random) -> SearchSpec:
    pick = rng.choice
    if label == "name":
        return SearchSpec(label, EventFilters(q=pick(vocab.family_names)))
    if label == "fuzzy_name":
        latin = [n for n in vocab.family_names if _is_latin_word(n)] or list(vocab.family_names)
        return SearchSpec(label, EventFilters(q=typo(pick(latin), rng)))
    if label == "full_name":
        return SearchSpec(label, EventFilters(q=pick(vocab.full_names)))
    if label == "document":
        return SearchSpec(label, EventFilters(q=pick(vocab.documents)))
    if label == "port_kind_week":
        start, end = _days(vocab, 7)
        return SearchSpec(label, EventFilters(kinds=("crossing",), ports=(pick(vocab.ports),), time_from=start,
                                              time_to=end), sort="time_desc")
    if label == "nationality_month":
        start, end = _days(vocab, 30)
        return SearchSpec(label, EventFilters(nationality=pick(vocab.nationalities), time_from=start, time_to=end))
    if label == "geo_radius_week":
        lat, lon = pick(vocab.points)
        start, end = _days(vocab, 7)
        return SearchSpec(label, EventFilters(radius=GeoRadius(lat, lon, rng.choice((25.0, 50.0, 150.0))),
                                              time_from=start, time_to=end))
    if label == "seizures_category_facets":
        start, end = _days(vocab, 30)
        return SearchSpec(label, EventFilters(kinds=("seizure",), category=pick(vocab.categories), time_from=start,
                                              time_to=end), facets=True)
    if label == "day_facets":
        start, end = _days(vocab, 1)
        return SearchSpec(label, EventFilters(time_from=start, time_to=end), size=20, facets=True)
    if label == "name_port_facets":
        return SearchSpec(label, EventFilters(q=pick(vocab.family_names), ports=(pick(vocab.ports),)), facets=True)
    if label == "plate":
        return SearchSpec(label, EventFilters(plate=pick(vocab.plates)))
    if label == "cursor_page2":
        start, end = _days(vocab, 7)
        return SearchSpec(label, EventFilters(ports=(pick(vocab.ports),), time_from=start, time_to=end),
                          sort="time_desc", page2=True)
    raise ValueError(f"unknown search label {label!r}")


def alert_spec(label: str, vocab: Vocabulary, rng: random.Random) -> AlertSpec:
    pick = rng.choice
    if label == "newest":
        return AlertSpec(label, AlertFilters())
    if label == "status_new":
        return AlertSpec(label, AlertFilters(statuses=("new",)))
    if label == "in_review_escalated":
        return AlertSpec(label, AlertFilters(statuses=("escalated", "in_review")))
    if label == "severity_high":
        return AlertSpec(label, AlertFilters(severities=("CRITICAL", "HIGH")), size=rng.choice((20, 50, 100)))
    if label == "source_list":
        return AlertSpec(label, AlertFilters(source_list=pick(vocab.source_lists)))
    if label == "port_week":
        start, end = _days(vocab, 7)
        return AlertSpec(label, AlertFilters(ports=(pick(vocab.alert_ports),), time_from=start, time_to=end))
    if label == "new_high_port":
        return AlertSpec(label, AlertFilters(statuses=("new",), severities=("CRITICAL", "HIGH"),
                                             ports=(pick(vocab.alert_ports),)))
    raise ValueError(f"unknown alert label {label!r}")


def _labels(mix: dict[str, int], n: int, rng: random.Random) -> list[str]:
    """``n`` labels in the proportions of ``mix`` (rounded), shuffled."""
    total = sum(mix.values())
    labels = [label for label, weight in mix.items() for _ in range(round(n * weight / total))]
    rng.shuffle(labels)
    return labels


def search_mix(vocab: Vocabulary, n: int, seed: int = 4) -> list[SearchSpec]:
    rng = random.Random(seed)
    return [search_spec(label, vocab, rng) for label in _labels(SEARCH_MIX, n, rng)]


def alert_mix(vocab: Vocabulary, n: int, seed: int = 4) -> list[AlertSpec]:
    rng = random.Random(seed)
    return [alert_spec(label, vocab, rng) for label in _labels(ALERT_MIX, n, rng)]


def _param_time(when: dt.datetime) -> str:
    return iso(when)


def search_params(spec: SearchSpec) -> list[tuple[str, str]]:
    """The query string of ``GET /v1/events/search`` for ``spec``."""
    f = spec.filters
    params: list[tuple[str, str]] = []
    if f.q:
        params.append(("q", f.q))
    params += [("kind", k) for k in f.kinds] + [("port", p) for p in f.ports]
    if f.time_from:
        params.append(("from", _param_time(f.time_from)))
    if f.time_to:
        params.append(("to", _param_time(f.time_to)))
    for name in ("nationality", "document", "category", "substance", "plate", "vessel", "flight"):
        if (value := getattr(f, name)) is not None:
            params.append((name, value))
    if f.radius:
        params += [("lat", repr(f.radius.lat)), ("lon", repr(f.radius.lon)), ("radius_km", repr(f.radius.radius_km))]
    if f.box:
        params += [(name, repr(getattr(f.box, name))) for name in ("top", "left", "bottom", "right")]
    if spec.sort:
        params.append(("sort", spec.sort))
    params.append(("size", str(spec.size)))
    if spec.facets:
        params.append(("facets", "true"))
    return params


def search_order(spec: SearchSpec) -> str:
    return spec.sort or ("relevance" if spec.filters.q else "time_desc")


def search_body(spec: SearchSpec, after: list | None = None) -> dict:
    """The body the API sends to Elasticsearch for ``spec`` (first page, or the page after
    ``after``), as ``routes.paged_search`` builds it."""
    body: dict[str, Any] = {"query": event_query(spec.filters), "sort": event_sort(search_order(spec)),
                            "size": spec.size + 1, "track_total_hits": TOTAL_HITS_UP_TO if after is None else False}
    if after is not None:
        body["search_after"] = after
    elif spec.facets:
        body["aggs"] = facet_aggs()
    return body


def alert_params(spec: AlertSpec) -> list[tuple[str, str]]:
    f = spec.filters
    params = [("status", s) for s in f.statuses] + [("severity", s) for s in f.severities]
    if f.source_list:
        params.append(("source_list", f.source_list))
    params += [("port", p) for p in f.ports]
    if f.time_from:
        params.append(("from", _param_time(f.time_from)))
    if f.time_to:
        params.append(("to", _param_time(f.time_to)))
    params.append(("size", str(spec.size)))
    return params


def alert_body(spec: AlertSpec) -> dict:
    return {"query": alert_query(spec.filters), "sort": ALERT_SORT, "size": spec.size + 1,
            "track_total_hits": TOTAL_HITS_UP_TO}


# --- data: generation (worker processes) --------------------------------------------------------

_CODEC = None


def _codec():
    global _CODEC
    if _CODEC is None:
        from borderhub.avro import AvroCodec, SchemaCatalog
        from borderhub.settings import get_settings
        _CODEC = AvroCodec(SchemaCatalog(get_settings().schemas_dir))
    return _CODEC


_EVENT_KIND = {"crossings": "CROSSING", "seizures": "SEIZURE", "biometrics": "BIOMETRIC"}


def recurrence(event_id: str, when: dt.datetime, k: int, repeats: int, start: dt.datetime,
               span: dt.timedelta) -> tuple[str, dt.datetime]:
    """Id and time of the ``k``-th recurrence of an event: ``k`` / ``repeats`` of the span later,
    wrapped around so that it stays within [start, start + span). Recurrence 0 is the event."""
    if k == 0:
        return event_id, when
    shifted = start + (when - start + span * k / repeats) % span
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_id}/{k}")), shifted


def _generate_chunk(job: tuple) -> tuple[list[bytes], list[dict]]:
    """``count`` documents of the bench indices as _bulk bodies, from events simulated from
    ``chunk_start`` over ``chunk_span`` seconds, each recurring ``repeats`` times over the whole
    data span; and alert seeds, one per ``alert_every`` documents or so."""
    from borderhub.avro import from_json
    from services.ingest.simulate import Simulator
    from services.search_api.indices import event_document

    seed, count, chunk_start, chunk_span, alert_every, data_start, data_span, repeats = job
    codec = _codec()
    start, span = dt.datetime.fromisoformat(data_start), dt.timedelta(seconds=data_span)
    sim = Simulator(seed=seed, start=dt.datetime.fromisoformat(chunk_start),
                    events_per_second=count / repeats / chunk_span)
    bodies: list[bytes] = []
    lines: list[bytes] = []
    seeds: list[dict] = []
    made = 0
    rng = random.Random(seed)
    for kind, event in sim.events():
        datum, problems = from_json(codec.catalog.get(kind), event)
        if datum is None or problems:
            continue
        _, event_id, doc = event_document(kind, datum)
        source = orjson.dumps(doc)
        stamp = doc["@timestamp"]
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        crossing = doc.get("crossing_event_id")
        for k in range(min(repeats, count - made)):
            # A regular: the same traveller, document and vehicle again later (new id and time).
            doc_id, at = recurrence(event_id, when, k, repeats, start, span)
            body = source
            if k:
                body = body.replace(event_id.encode(), doc_id.encode()).replace(stamp.encode(), iso(at).encode())
                if crossing:
                    again = recurrence(crossing, when, k, repeats, start, span)[0]
                    body = body.replace(crossing.encode(), again.encode())
            lines += [orjson.dumps({"index": {"_index": f"{EVENTS}-{at:%Y.%m}", "_id": doc_id}}), body]
            if rng.random() < 1.5 / alert_every:  # a few more than needed; the loader samples them down
                seeds.append({"event_id": doc_id, "event_kind": _EVENT_KIND[kind], "occurred_at": iso(at),
                              "port_locode": doc.get("port_locode"), "subject": " ".join(doc["names"][:2]) or doc_id,
                              "document": (doc["document_numbers"] or [None])[0]})
            made += 1
            if len(lines) >= 2 * BULK_DOCS or made == count:
                bodies.append(b"\n".join(lines) + b"\n")
                lines = []
        if made == count:
            break
    return bodies, seeds


# --- data: alerts -------------------------------------------------------------------------------

# source list -> action on hit
SOURCE_LISTS = {"national-wanted": "ARREST", "interpol-sltd": "SEIZE_DOCUMENT", "ofac-sdn": "DETAIN",
                "eu-sanctions": "DETAIN", "stolen-vehicles": "REFER_SECONDARY", "vessels-of-interest": "MONITOR",
                "phones-of-interest": "MONITOR", "interpol-red-notices": "ARREST"}
RULES = ("impossible_travel", "currency_structuring", "repeated_route_seizures", "seizure_reappearance")
# status as stored -> share; "new" is what the indexer files, the rest what triage writes
STATUSES = {"new": 0.70, "in_review": 0.10, "false_positive": 0.09, "confirmed": 0.05, "escalated": 0.06}


def alert_object(seed: dict, rng: random.Random) -> dict:
    """An alert (JSON form of alert.avsc) raised by the event of ``seed``."""
    occurred = dt.datetime.fromisoformat(seed["occurred_at"].replace("Z", "+00:00"))
    created = occurred + dt.timedelta(seconds=rng.uniform(0.3, 5))
    alert_type = rng.choices(("WATCHLIST_MATCH", "RULE", "NETWORK", "RETRO_HUNT"), (70, 18, 5, 7))[0]
    score = round(rng.uniform(0.6, 1.0), 3)
    obj: dict[str, Any] = {
        "alert_id": str(uuid_of(rng)), "created_at": iso(created), "alert_type": alert_type,
        "severity": rng.choices(("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"), (5, 25, 40, 25, 5))[0],
        "event_id": seed["event_id"], "event_kind": seed["event_kind"], "occurred_at": iso(occurred),
        "port_locode": seed["port_locode"], "subject": seed["subject"], "entry_id": None, "source_list": None,
        "action_on_hit": None, "rule": None, "score": score, "path": [], "related_event_ids": [],
        "explanation": [{"feature": "name_similarity", "weight": round(score * 0.6, 3),
                         "detail": "names agree after transliteration"}],
    }
    if alert_type == "RULE":
        obj["rule"] = rng.choice(RULES)
        obj["related_event_ids"] = [str(uuid_of(rng)) for _ in range(rng.randint(1, 4))]
        obj["explanation"] = [{"feature": obj["rule"], "weight": score, "detail": "rule threshold exceeded"}]
    else:
        source_list = rng.choice(list(SOURCE_LISTS))
        obj.update(source_list=source_list, action_on_hit=SOURCE_LISTS[source_list],
                   entry_id=f"{source_list}-{rng.randrange(10**6)}")
        if seed.get("document"):
            obj["explanation"].append({"feature": "document_number", "weight": round(score * 0.4, 3),
                                       "detail": f"same document {seed['document']}"})
        if alert_type == "NETWORK":
            obj["path"] = [f"person:{uuid_of(rng)}", f"phone:+1{rng.randrange(10**9, 10**10)}"]
    return obj


def uuid_of(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def alert_triage(doc: dict, rng: random.Random) -> dict:
    """Triage fields of an alert as the indexer (status new) or later triage left them."""
    status = rng.choices(list(STATUSES), list(STATUSES.values()))[0]
    if status == "new":
        return {"status": "new", "history": []}
    at = dt.datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00")) + dt.timedelta(hours=rng.uniform(0.1, 48))
    assignee = f"officer-{rng.randrange(40):02d}"
    entry = {"at": iso(at), "by": f"key-{rng.randrange(40):02d}", "by_name": assignee, "by_role": "investigator",
             "status": status, "assignee": assignee, "note": "checked against the manifest"}
    return {"status": status, "assignee": assignee, "updated_at": iso(at), "history": [entry]}


def _alert_bodies(seeds: list[dict], seed: int) -> list[bytes]:
    from borderhub.avro import from_json
    from services.search_api.indices import alert_document
    codec = _codec()
    rng = random.Random(seed)
    lines: list[bytes] = []
    bodies = []
    for s in seeds:
        datum, problems = from_json(codec.catalog.get("alerts"), alert_object(s, rng))
        if problems:
            raise RuntimeError(f"bench alert does not fit alert.avsc: {problems[:3]}")
        _, doc_id, doc = alert_document(datum)
        doc.update(alert_triage(doc, rng))
        lines += [orjson.dumps({"index": {"_index": ALERTS, "_id": doc_id}}), orjson.dumps(doc)]
        if len(lines) >= 2 * BULK_DOCS:
            bodies.append(b"\n".join(lines) + b"\n")
            lines = []
    if lines:
        bodies.append(b"\n".join(lines) + b"\n")
    return bodies


# --- data: loading ------------------------------------------------------------------------------

def _http(settings, timeout: float = 300):
    import httpx
    return httpx.Client(base_url=settings.es_url, timeout=timeout)


def _bulk(client, body: bytes) -> int:
    r = client.post("/_bulk", content=body, params={"filter_path": "errors,items.*.error"},
                    headers={"Content-Type": "application/x-ndjson"})
    r.raise_for_status()
    answer = r.json()
    if answer.get("errors"):
        first = next(item for item in answer["items"] if next(iter(item.values())).get("error"))
        raise RuntimeError(f"bench bulk rejected documents: {str(first)[:500]}")
    return body.count(b"\n") // 2


def bench_indices(es) -> list[str]:
    return sorted(es.indices.get(index=f"{PREFIX}*", allow_no_indices=True, expand_wildcards="all").body)


def drop_bench_data(es) -> None:
    """Delete every bench index (by name: wildcard deletes are refused) and template."""
    for index in bench_indices(es):
        es.indices.delete(index=index)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{PREFIX}*")
    for template in templates.body.get("index_templates", []) if templates.meta.status == 200 else []:
        es.options(ignore_status=404).indices.delete_index_template(name=template["name"])


def loaded_meta(es, n_events: int, n_alerts: int, repeats: int) -> dict | None:
    """The finished load of ``n_events`` / ``n_alerts`` documents, if that is what is there."""
    if not es.indices.exists(index=META):
        return None
    found = es.options(ignore_status=404).get(index=META, id="dataset")
    if not found.get("found"):
        return None
    meta = found["_source"]
    if [meta.get(k) for k in ("version", "events", "alerts", "repeats")] != [DATA_VERSION, n_events, n_alerts, repeats]:
        return None
    if not es.indices.exists_alias(name=EVENTS) or not es.indices.exists_alias(name=ALERTS):
        return None
    es.indices.refresh(index=f"{EVENTS},{ALERTS}")
    if es.count(index=EVENTS)["count"] != n_events or es.count(index=ALERTS)["count"] != n_alerts:
        return None
    return meta


def check_disk(path: Path, n_events: int) -> dict:
    usage = shutil.disk_usage(path)
    needed = n_events * BYTES_PER_EVENT + DISK_MARGIN
    if usage.free < needed:
        raise RuntimeError(f"not enough disk for {n_events:,} bench events at {path}: {usage.free / 1024 ** 3:.1f} GiB "
                           f"free, {needed / 1024 ** 3:.1f} GiB needed; free space or use fewer --events")
    return {"free_gib": round(usage.free / 1024 ** 3, 1), "needed_gib": round(needed / 1024 ** 3, 1)}


def load(settings, es, n_events: int, n_alerts: int, seed: int, console, workers: int | None = None,
         repeats: int = 4) -> dict:
    """Drop the bench indices and load ``n_events`` events and ``n_alerts`` alerts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    disk = check_disk(settings.state_dir if settings.state_dir.exists() else Path("/"), n_events)
    drop_bench_data(es)
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = end - dt.timedelta(days=SPAN_DAYS)
    # The production events template on the bench's names; fast-load settings until the load is done.
    template = events_template(settings.es_shards, settings.es_replicas)
    template["index_patterns"] = [f"{EVENTS}-*"]
    template["template"]["aliases"] = {EVENTS: {}}
    fast = {**template["template"]["settings"], "refresh_interval": "-1", "translog": {"durability": "async"}}
    es.indices.put_index_template(name=EVENTS, **{**template, "template": {**template["template"], "settings": fast}})
    spec = alerts_index()
    es.indices.create(index=f"{ALERTS}-000001", aliases={ALERTS: {"is_write_index": True}}, mappings=spec["mappings"],
                      settings={**spec["settings"], "number_of_shards": settings.es_shards,
                                "number_of_replicas": settings.es_replicas, "refresh_interval": "-1"})

    chunks = math.ceil(n_events / CHUNK_EVENTS)
    span = SPAN_DAYS * 86400 / chunks
    alert_every = max(1.0, n_events / n_alerts)
    jobs = [(seed * 100_000 + i, min(CHUNK_EVENTS, n_events - i * CHUNK_EVENTS),
             (start + dt.timedelta(seconds=i * span)).isoformat(), span, alert_every, start.isoformat(),
             SPAN_DAYS * 86400, repeats) for i in range(chunks)]
    workers = workers or max(1, os.cpu_count() or 1)
    seeds: list[dict] = []
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress, \
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as generators, \
            ThreadPoolExecutor(2) as senders, _http(settings) as client:
        task = progress.add_task(f"loading {n_events:,} events", total=n_events)
        pending_jobs = iter(jobs)
        generating: set[Future] = set()
        sending: set[Future] = set()

        def submit_jobs() -> None:
            # Bounded: at most 2 chunks per worker ahead of the senders, so memory stays flat.
            while len(generating) + len(sending) // 5 < 2 * workers:
                job = next(pending_jobs, None)
                if job is None:
                    return
                generating.add(generators.submit(_generate_chunk, job))

        submit_jobs()
        while generating or sending:
            done, _ = wait(generating | sending, return_when=FIRST_COMPLETED)
            for future in done:
                if future in generating:
                    generating.discard(future)
                    bodies, chunk_seeds = future.result()
                    seeds += chunk_seeds
                    sending |= {senders.submit(_bulk, client, body) for body in bodies}
                else:
                    sending.discard(future)
                    progress.advance(task, future.result())
            submit_jobs()
        events_seconds = time.perf_counter() - started
        progress.update(task, description="alerts")
        rng = random.Random(seed)
        seeds = rng.sample(seeds, n_alerts) if len(seeds) >= n_alerts else seeds
        if len(seeds) < n_alerts:
            raise RuntimeError(f"only {len(seeds)} alert seeds for {n_alerts} alerts")
        for body in _alert_bodies(seeds, seed):
            _bulk(client, body)
    # Back to the production settings: the API's own index setup puts the production template.
    es.indices.put_settings(index=f"{EVENTS}-*", settings={"refresh_interval": "1s", "translog.durability": None})
    es.indices.put_settings(index=f"{ALERTS}-*", settings={"refresh_interval": "1s"})
    es.indices.put_index_template(name=EVENTS, **template)
    es.indices.refresh(index=f"{EVENTS},{ALERTS}")
    counts = {"events": es.count(index=EVENTS)["count"], "alerts": es.count(index=ALERTS)["count"]}
    if counts != {"events": n_events, "alerts": n_alerts}:
        raise RuntimeError(f"bench load incomplete: {counts}")
    seconds = time.perf_counter() - started
    meta = {"version": DATA_VERSION, "events": n_events, "alerts": n_alerts, "seed": seed, "repeats": repeats,
            "start": iso(start),
            "end": iso(end), "loaded_at": iso(dt.datetime.now(dt.timezone.utc)), "load_seconds": round(seconds, 1),
            "events_seconds": round(events_seconds, 1), "events_per_s": round(n_events / events_seconds),
            "workers": workers, "disk": disk}
    es.indices.create(index=META, mappings={"enabled": False},
                      settings={"number_of_shards": 1, "number_of_replicas": 0})
    es.index(index=META, id="dataset", document=meta, refresh=True)
    return meta


def vocabulary(es, meta: dict, seed: int = 4) -> Vocabulary:
    """Request values drawn from a random sample of the indexed events and alerts."""
    fields = ["traveller.given_names", "traveller.family_names", "persons.given_names", "persons.family_names",
              "document_numbers", "plates", "nationalities", "port_locode", "port_location", "category"]
    sample = es.search(index=EVENTS, size=5000, source_includes=fields, query={"function_score": {
        "query": {"match_all": {}}, "random_score": {"seed": seed, "field": "_seq_no"}}})["hits"]["hits"]
    family, full, documents, plates, nationalities, ports, points, categories = ([] for _ in range(8))
    for hit in sample:
        doc = hit["_source"]
        people = [doc.get("traveller")] + list(doc.get("persons") or [])
        for person in filter(None, people):
            if person.get("family_names"):
                family.append(person["family_names"].split()[0])
                if person.get("given_names"):
                    full.append(f"{person['given_names'].split()[0]} {person['family_names']}")
        documents += doc.get("document_numbers") or []
        plates += doc.get("plates") or []
        nationalities += doc.get("nationalities") or []
        if doc.get("port_locode"):
            ports.append(doc["port_locode"])
        if doc.get("port_location"):
            points.append((doc["port_location"]["lat"], doc["port_location"]["lon"]))
        if doc.get("category"):
            categories.append(doc["category"])
    alerts = es.search(index=ALERTS, size=2000, source_includes=["source_list", "port_locode"], query={
        "function_score": {"query": {"match_all": {}}, "random_score": {"seed": seed, "field": "_seq_no"}}})
    source_lists = sorted({h["_source"]["source_list"] for h in alerts["hits"]["hits"]
                           if h["_source"].get("source_list")})
    alert_ports = [h["_source"]["port_locode"] for h in alerts["hits"]["hits"] if h["_source"].get("port_locode")]
    return Vocabulary(end=dt.datetime.fromisoformat(meta["end"].replace("Z", "+00:00")),
                      family_names=tuple(family), full_names=tuple(full), documents=tuple(documents),
                      plates=tuple(plates), nationalities=tuple(nationalities), ports=tuple(ports),
                      points=tuple(points), categories=tuple(sorted(set(categories))),
                      source_lists=tuple(source_lists), alert_ports=tuple(alert_ports))


# --- the API process ----------------------------------------------------------------------------

def serve(port: int) -> None:
    """Entry point of the bench's API process: the production app, on the bench's indices
    (its environment names them, see ``BenchApi``)."""
    import uvicorn
    # As `borderhub search-api` runs it.
    uvicorn.run("services.search_api.app:create_app", factory=True, host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


class BenchApi:
    """A search API process of its own on the bench indices, with a throwaway key store."""

    def __init__(self, settings):
        import httpx

        from borderhub.keys import KeyStore
        from borderhub.bench import _free_port
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-search-")
        keys_file = Path(self.tmp.name) / "api_keys.json"
        self.key = KeyStore(keys_file).create("investigator", name="bench-search")[1]
        self.port = _free_port()
        env = dict(os.environ, BORDERHUB_ES_URL=settings.es_url, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
                   BORDERHUB_API_KEYS_FILE=str(keys_file), BORDERHUB_API_PORT=str(self.port),
                   BORDERHUB_ES_INDEX_PREFIX=BENCH_INDEX_PREFIX,
                   # The bench key must never be throttled: 20 clients send thousands per minute.
                   BORDERHUB_API_RATE_LIMIT_PER_MINUTE=str(10 ** 9))
        self.log_path = Path(self.tmp.name) / "search-api.log"
        self.log = open(self.log_path, "wb")
        import subprocess
        self.proc = subprocess.Popen([sys.executable, "-m", "services.search_api.bench_search", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bench search API exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.close()
        raise RuntimeError("bench search API did not become healthy")

    def cpu_seconds(self) -> float:
        return _proc_cpu_seconds(self.proc.pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
        self.log.close()
        self.tmp.cleanup()


# --- measuring ----------------------------------------------------------------------------------

def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan, math.nan
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


@dataclass
class Sample:
    label: str
    ms: float
    ok: bool
    results: int = 0


class Target:
    """One side of a comparison: how one spec becomes HTTP requests and timed samples."""
    name = ""

    def __init__(self, base_url: str, headers: dict | None = None):
        self.base_url = base_url
        self.headers = headers or {}

    async def run(self, session, spec) -> list[Sample]:
        raise NotImplementedError


async def _timed(session, method: str, url: str, **kwargs) -> tuple[float, int, Any]:
    started = time.perf_counter()
    async with session.request(method, url, **kwargs) as r:
        raw = await r.read()
        status = r.status
    ms = (time.perf_counter() - started) * 1000
    return ms, status, orjson.loads(raw) if status < 300 and raw else None


def _hits(answer: dict | None) -> list[dict]:
    return (answer or {}).get("hits", {}).get("hits", [])  # filter_path leaves out what is empty


class ApiSearch(Target):
    name = "api"

    async def run(self, session, spec: SearchSpec) -> list[Sample]:
        url = f"{self.base_url}/v1/events/search"
        params = search_params(spec)
        ms, status, body = await _timed(session, "GET", url, params=params)
        samples = [Sample(spec.label if not spec.page2 else "cursor_page1", ms, status == 200,
                          body["count"] if body else 0)]
        if spec.page2 and body and body.get("next_cursor"):
            ms, status, body2 = await _timed(session, "GET", url, params=params + [("cursor", body["next_cursor"])])
            samples.append(Sample(spec.label, ms, status == 200, body2["count"] if body2 else 0))
        return samples


class RawSearch(Target):
    name = "raw"
    params = {"ignore_unavailable": "true", "allow_no_indices": "true", "filter_path": ",".join(PAGE_FILTER_PATH)}

    async def run(self, session, spec: SearchSpec) -> list[Sample]:
        body = search_body(spec)
        ms, status, answer = await _timed(session, "POST", f"{self.base_url}/{EVENTS}/_search", params=self.params,
                                          data=orjson.dumps(body))
        hits = _hits(answer)
        samples = [Sample(spec.label if not spec.page2 else "cursor_page1", ms, status == 200,
                          min(len(hits), spec.size))]
        if spec.page2 and len(hits) > spec.size:
            # As the API: a point in time is opened for the second page, and left to expire.
            after = hits[spec.size - 1]["sort"]
            ms1, status, pit = await _timed(session, "POST", f"{self.base_url}/{EVENTS}/_pit",
                                            params={"keep_alive": PIT_KEEP_ALIVE, "ignore_unavailable": "true"})
            if pit is None:
                return samples + [Sample(spec.label, ms1, False)]
            page = {**search_body(spec, after=after), "pit": {"id": pit["id"], "keep_alive": PIT_KEEP_ALIVE}}
            ms2, status, answer = await _timed(session, "POST", f"{self.base_url}/_search",
                                               params={"filter_path": self.params["filter_path"]},
                                               data=orjson.dumps(page))
            samples.append(Sample(spec.label, ms1 + ms2, status == 200,
                                  min(len(_hits(answer)), spec.size)))
        return samples


class ApiAlerts(Target):
    name = "api"

    async def run(self, session, spec: AlertSpec) -> list[Sample]:
        ms, status, body = await _timed(session, "GET", f"{self.base_url}/v1/alerts", params=alert_params(spec))
        return [Sample(spec.label, ms, status == 200, body["count"] if body else 0)]


class RawAlerts(Target):
    name = "raw"
    params = RawSearch.params

    async def run(self, session, spec: AlertSpec) -> list[Sample]:
        ms, status, answer = await _timed(session, "POST", f"{self.base_url}/{ALERTS}/_search", params=self.params,
                                          data=orjson.dumps(alert_body(spec)))
        return [Sample(spec.label, ms, status == 200, min(len(_hits(answer)), spec.size))]


WARM_AFTER_S = 300  # Elasticsearch's caches and compiled code take minutes to warm after a start


def cold_start_warning(uptime_s: float) -> str | None:
    """What to say when Elasticsearch started too recently for steady numbers (a run right
    after a restart measured twice the search p95 of the next one)."""
    if uptime_s >= WARM_AFTER_S:
        return None
    return (f"Elasticsearch started {uptime_s:.0f} s ago: its caches and compiled code are still cold, "
            f"so these numbers are pessimistic; run again for steady ones")


def _es_uptime_s(es) -> float:
    nodes = es.nodes.stats(node_id="_local", metric="jvm")["nodes"]
    return min(n["jvm"]["uptime_in_millis"] for n in nodes.values()) / 1000


def _es_stats(es) -> dict:
    stats = es.indices.stats(index=f"{EVENTS},{ALERTS},{AUDIT}", metric="search,indexing")["_all"]["total"]
    node = es.nodes.stats(node_id="_local", metric="process")["nodes"]
    cpu_ms = sum(n["process"]["cpu"]["total_in_millis"] for n in node.values())
    s = stats["search"]
    return {"cpu_s": cpu_ms / 1000, "query_total": s["query_total"], "query_ms": s["query_time_in_millis"],
            "fetch_total": s["fetch_total"], "fetch_ms": s["fetch_time_in_millis"],
            "index_total": stats["indexing"]["index_total"], "open_contexts": s["open_contexts"]}


def _snapshot(es, api: BenchApi | None) -> dict:
    busy, total = _machine_busy()
    return {"t": time.perf_counter(), "es": _es_stats(es), "api_cpu_s": api.cpu_seconds() if api else math.nan,
            "client_cpu_s": time.process_time(), "busy_s": busy, "total_s": total, "load1": os.getloadavg()[0]}


def _usage(before: dict, after: dict, requests: int) -> dict:
    """Where the time went during a phase: CPU seconds per request of each process, the
    machine's busy share, and Elasticsearch's own query and fetch time per request."""
    seconds = after["t"] - before["t"]
    es0, es1 = before["es"], after["es"]
    per = max(1, requests)
    cores = os.cpu_count() or 1
    busy = (after["busy_s"] - before["busy_s"]) / max(1e-9, after["total_s"] - before["total_s"])
    own = (es1["cpu_s"] - es0["cpu_s"]) + (after["api_cpu_s"] - before["api_cpu_s"] if not math.isnan(
        after["api_cpu_s"]) else 0) + (after["client_cpu_s"] - before["client_cpu_s"])
    queries = es1["query_total"] - es0["query_total"]
    return {
        "machine_busy_pct": round(100 * busy, 1),
        "others_busy_pct": round(max(0.0, 100 * busy - 100 * own / (seconds * cores)), 1),
        "load1": round(after["load1"], 2),
        "es_cpu_ms_per_req": round(1000 * (es1["cpu_s"] - es0["cpu_s"]) / per, 2),
        "api_cpu_ms_per_req": (round(1000 * (after["api_cpu_s"] - before["api_cpu_s"]) / per, 2)
                               if not math.isnan(after["api_cpu_s"]) else None),
        "client_cpu_ms_per_req": round(1000 * (after["client_cpu_s"] - before["client_cpu_s"]) / per, 2),
        "es_query_ms_avg": round((es1["query_ms"] - es0["query_ms"]) / max(1, queries), 2),
        "es_fetch_ms_avg": round((es1["fetch_ms"] - es0["fetch_ms"]) / max(1, es1["fetch_total"] - es0["fetch_total"]),
                                 2),
        "es_searches_per_req": round(queries / per, 2),
        "docs_indexed_per_req": round((es1["index_total"] - es0["index_total"]) / per, 2),
    }


async def _phase_async(target: Target, specs: Sequence, clients: int, duration: float, warmup: float, es,
                       api: BenchApi | None, think: float = 0.0) -> dict:
    import aiohttp

    samples: list[Sample] = []
    counter = iter(range(10 ** 12))
    loop_start = time.perf_counter()
    measure_from = loop_start + warmup
    end = measure_from + duration
    snapshots: dict[str, dict] = {}

    async def client(session, rng: random.Random) -> None:
        if think:  # staggered starts: the clients must not fire in lockstep
            await asyncio.sleep(rng.uniform(0, think))
        while True:
            started = time.perf_counter()
            if started >= end:
                return
            spec = specs[next(counter) % len(specs)]
            try:
                got = await target.run(session, spec)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                got = [Sample(getattr(spec, "label", "?"), (time.perf_counter() - started) * 1000, False)]
                if len(samples) < 3:
                    print(f"bench request failed: {exc!r}", file=sys.stderr)
            if started >= measure_from:
                samples.extend(got)
            if think:  # exponential: each client's requests arrive at random, ``think`` s apart on average
                await asyncio.sleep(rng.expovariate(1 / think))

    async def stats() -> None:
        await asyncio.sleep(warmup)
        snapshots["before"] = await asyncio.to_thread(_snapshot, es, api)
        await asyncio.sleep(max(0.0, end - time.perf_counter()))

    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients, keepalive_timeout=60)
    headers = {"Content-Type": "application/json", **target.headers}
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(stats(), *(client(session, random.Random(i)) for i in range(clients)))
    snapshots["after"] = await asyncio.to_thread(_snapshot, es, api)
    seconds = snapshots["after"]["t"] - snapshots["before"]["t"]
    ok = [s for s in samples if s.ok]
    result = summarise([s.ms for s in ok], seconds, errors=len(samples) - len(ok))
    by_label: dict[str, list[Sample]] = {}
    for s in ok:
        by_label.setdefault(s.label, []).append(s)
    result["by_query"] = {label: {"n": len(group), "p50_ms": round(percentile([s.ms for s in group], 50), 1),
                                  "p95_ms": round(percentile([s.ms for s in group], 95), 1),
                                  "with_results_pct": round(100 * sum(1 for s in group if s.results) / len(group))}
                          for label, group in sorted(by_label.items())}
    result["usage"] = _usage(snapshots["before"], snapshots["after"], len(samples))
    return result


def run_phase(target: Target, specs: Sequence, clients: int, duration: float, warmup: float, es,
              api: BenchApi | None = None, think: float = 0.0) -> dict:
    """``clients`` clients, each sending its next request when the previous one is answered
    (after a pause of ``think`` seconds on average, exponentially distributed, when given), for
    ``warmup`` + ``duration`` seconds; requests started during the warmup are not counted."""
    return asyncio.run(_phase_async(target, specs, clients, duration, warmup, es, api, think))


def compare(api: dict, raw_before: dict, raw_after: dict, target_ms: float) -> dict:
    """The API's numbers next to the mean of the raw Elasticsearch runs around it."""
    out: dict[str, Any] = {"target_p95_ms": target_ms, "p95_met": bool(api.get("p95_ms", math.inf) <= target_ms)}
    for q in ("p50_ms", "p95_ms", "p99_ms"):
        raw = (raw_before.get(q, math.nan) + raw_after.get(q, math.nan)) / 2
        out[f"raw_{q}"] = round(raw, 1)
        out[f"ratio_{q.removesuffix('_ms')}"] = round(api.get(q, math.nan) / raw, 2) if raw else None
    return out


# --- the suite ----------------------------------------------------------------------------------

def bench_search(settings, n_events: int = 1_000_000, n_alerts: int | None = None, reload: bool = False,
                 clients: int = 20, duration: float = 30.0, warmup: float = 5.0, seed: int = 7,
                 repeats: int = 4, think: float = 0.0) -> dict:
    from rich.console import Console

    from services.search_api.es_setup import make_client, merge_finished_months

    console = Console(stderr=True)
    n_alerts = n_alerts if n_alerts is not None else max(100, n_events // 20)
    es = make_client(settings, request_timeout=600)
    results: dict[str, Any] = {"events": n_events, "alerts": n_alerts, "clients": clients, "think_s": think,
                               "duration_s_per_phase": duration, "cpu_count": os.cpu_count(),
                               "load_before": [round(v, 2) for v in os.getloadavg()]}
    meta = None if reload else loaded_meta(es, n_events, n_alerts, repeats)
    if meta is None:
        console.print(f"loading {n_events:,} events and {n_alerts:,} alerts into {PREFIX}* ...")
        meta = load(settings, es, n_events, n_alerts, seed, console, repeats=repeats)
        results["data"] = {"reused": False,
                           **{k: meta[k] for k in ("load_seconds", "events_per_s", "workers", "repeats")}}
    else:
        results["data"] = {"reused": True, **{k: meta[k] for k in ("loaded_at", "load_seconds", "repeats")}}
    # The product's index lifecycle, as the indexer runs it: finished months in one segment each.
    started = time.perf_counter()
    merged = merge_finished_months(es, EVENTS)
    results["data"].update(merged_months=merged, merge_seconds=round(time.perf_counter() - started, 1))
    sizes = es.cat.indices(index=f"{EVENTS}-*", format="json", bytes="b", h="index,docs.count,store.size")
    results["data"]["events_store_gib"] = round(sum(int(i["store.size"]) for i in sizes) / 1024 ** 3, 2)
    results["data"]["event_indices"] = len(sizes)
    results["data"]["event_segments"] = len(es.cat.segments(index=f"{EVENTS}-*", format="json"))

    results["es_uptime_s"] = round(_es_uptime_s(es))
    if (warning := cold_start_warning(results["es_uptime_s"])) is not None:
        console.print(f"[yellow]{warning}[/yellow]")
        results["warning"] = warning

    vocab = vocabulary(es, meta)
    searches = search_mix(vocab, 20_000)
    alert_list = alert_mix(vocab, 20_000)
    # A fresh audit index per run (the API sets it up again at start).
    for index in bench_indices(es):
        if index.startswith(AUDIT):
            es.indices.delete(index=index)

    api = BenchApi(settings)
    try:
        _check_isolation(es, api, meta)
        raw_search, raw_alerts = RawSearch(settings.es_url), RawAlerts(settings.es_url)
        api_search = ApiSearch(api.url, {"X-API-Key": api.key})
        api_alerts = ApiAlerts(api.url, {"X-API-Key": api.key})
        phases = [("search", "warm", raw_search, searches), ("search", "warm", api_search, searches),
                  ("search", "raw_before", raw_search, searches), ("search", "api", api_search, searches),
                  ("search", "raw_after", raw_search, searches),
                  ("alerts", "warm", api_alerts, alert_list),
                  ("alerts", "raw_before", raw_alerts, alert_list), ("alerts", "api", api_alerts, alert_list),
                  ("alerts", "raw_after", raw_alerts, alert_list)]
        measured: dict[str, dict] = {"search": {}, "alerts": {}}
        for endpoint, phase, target, specs in phases:
            console.print(f"[dim]{endpoint}: {phase} ({target.name}, {clients} clients)[/dim]")
            if phase == "warm":
                run_phase(target, specs, clients, duration=min(10.0, duration), warmup=0.0, es=es, api=api)
                continue
            measured[endpoint][phase] = run_phase(target, specs, clients, duration, warmup, es, api, think)
    finally:
        api.close()
    for endpoint, runs in measured.items():
        results[endpoint] = {**compare(runs["api"], runs["raw_before"], runs["raw_after"], TARGETS_MS[endpoint]),
                             **runs}
    results["audit_records"] = _audit_count(es)
    results["load_after"] = [round(v, 2) for v in os.getloadavg()]
    return results


def _check_isolation(es, api: BenchApi, meta: dict) -> None:
    """The API process reads the bench indices and audits into the bench audit index."""
    import httpx
    hit = es.search(index=EVENTS, size=1, source=False, query={"match_all": {}})["hits"]["hits"][0]
    r = httpx.get(f"{api.url}/v1/events/{hit['_id']}", headers={"X-API-Key": api.key}, timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"the bench API does not serve the bench events ({r.status_code}: {r.text[:200]})")
    if _audit_count(es) < 1:
        raise RuntimeError("the bench API did not audit into the bench audit index")


def _audit_count(es) -> int:
    es.indices.refresh(index=AUDIT, ignore_unavailable=True)
    return es.count(index=AUDIT, ignore_unavailable=True)["count"]


if __name__ == "__main__":  # the bench's API process (see BenchApi)
    serve(int(sys.argv[1]))
