"""Benchmarks of the matching engine for ``borderhub bench`` (not tests: they measure, they do
not assert). Each function returns a flat dict of numbers.

* ``bench_index(n_entries)``: build a watchlist index of n synthetic entries (40% persons in a
  dozen naming cultures and scripts, 45% lost/stolen documents, vehicles, vessels, phones,
  organisations), then match synthetic crossing events against it in one process: build time,
  resident memory, events/s, lookups/s, candidates and alerts per event. Half the family names
  are made up from roots and endings (``synthetic.make_person(diverse=True)``): with the small
  name pools alone, every traveller would be a namesake of dozens of listed people at 1M.
* ``bench_screen(n_queries)``: load a FollowTheMoney watchlist, then screen FtM query entities
  through the ``borderhub screen`` path (FtM parsing included): load time, queries/s.
* ``bench_gallery(n_templates)``: a 1:N face gallery of random 512-d templates: add time,
  memory, query time, rank-1 hits for noisy probes of enrolled templates, false hits for
  strangers.

Reproduce: ``python -m services.correlate.matching.bench [n_entries]``.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from .biometric import TemplateGallery
from .engine import Matcher, subject_keys, subjects_of_event
from .names import load_name_tables, name_similarity
from .synthetic import Person, crossing, latin_name, make_person, watchlist

__all__ = ["bench_gallery", "bench_index", "bench_screen"]


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_up() -> None:
    # rigour loads its transliteration and name-symbol tables on first use (seconds): keep that
    # out of the timings, as the worker and `borderhub screen` do.
    load_name_tables()
    name_similarity(["Vladimir Putin"], ["Владимир Путин"])


class _Timed:
    """Wraps a generator and adds up the time spent producing items (data generation is not
    index building)."""

    def __init__(self, items: Iterator[dict], keep: dict[str, list[dict]] | None = None, keep_every: int = 1000):
        self.items, self.seconds, self.keep, self.keep_every, self.count = items, 0.0, keep, keep_every, 0

    def __iter__(self) -> Iterator[dict]:
        while True:
            start = time.perf_counter()
            try:
                item = next(self.items)
            except StopIteration:
                self.seconds += time.perf_counter() - start
                return
            self.seconds += time.perf_counter() - start
            self.count += 1
            if self.keep is not None and self.count % self.keep_every == 0:
                self.keep.setdefault(item["kind"], []).append(item)
            yield item


def _events(rng: random.Random, n: int, people: list[Person], kept: dict[str, list[dict]]) -> list[dict]:
    """Crossings: 2% by listed persons, 1% on listed documents, 0.5% in listed vehicles."""
    documents = kept.get("DOCUMENT", [])
    vehicles = kept.get("VEHICLE", [])
    events = []
    for i in range(n):
        r = rng.random()
        person = rng.choice(people) if r < 0.02 and people else make_person(rng, diverse=True)
        document = plate = None
        if 0.02 <= r < 0.03 and documents:
            ident = rng.choice(documents)["identifiers"][0]
            document = (ident["value"], ident["country"])
        if 0.03 <= r < 0.035 and vehicles:
            ident = rng.choice(vehicles)["identifiers"][0]
            plate = (ident["value"], ident["country"])
        events.append(crossing(rng, i, person, document=document, plate=plate))
    return events


def bench_index(n_entries: int = 1_000_000, n_events: int = 20_000, seed: int = 11,
                dob_share: float = 0.95, batch: int = 500, workers: int | None = None) -> dict[str, Any]:
    """Build an index of n_entries synthetic entries and match n_events crossings against it,
    in batches of batch events (``Matcher.match_events``; one at a time is also reported), then
    in ``workers`` processes at once (default: one per core), as worker processes sharing the
    event partitions would. dob_share: listed persons with a birth date (wanted-person lists
    nearly always have one)."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    _warm_up()
    gc.collect()
    rss_start = _rss_mb()
    rng = random.Random(seed)
    people: list[Person] = []
    kept: dict[str, list[dict]] = {}
    source = _Timed(watchlist(rng, n_entries, people=people, dob_share=dob_share, diverse=True), kept)
    matcher = Matcher()
    started = time.perf_counter()
    matcher.load(source)
    build_s = time.perf_counter() - started - source.seconds
    gc.collect()
    rss_built = _rss_mb()
    stats = matcher.index.stats()

    # Every measurement matches crossings it has not seen (a traveller's names, once compared,
    # are cached): warm-up, batches, one at a time and the processes each get their own.
    warm = _events(rng, min(1000, n_events // 10), people, kept)
    events = _events(rng, n_events, people, kept)
    singles = _events(rng, n_events // 4, people, kept)
    matcher.match_events("crossing", warm)  # first sight of common name tokens fills per-token caches
    started = time.perf_counter()
    alerts = 0
    for i in range(0, n_events, batch):
        alerts += sum(len(m) for m in matcher.match_events("crossing", events[i:i + batch]))
    match_s = time.perf_counter() - started
    started = time.perf_counter()
    for event in singles:
        matcher.match_event("crossing", event)
    single_s = (time.perf_counter() - started) / max(1, len(singles)) * n_events

    parallel = (_parallel_rate(matcher, _events(rng, n_events, people, kept), batch, workers)
                if workers > 1 else None)

    index = matcher.index
    candidates = 0
    started = time.perf_counter()
    for event in events:
        for subject in subjects_of_event("crossing", event):
            strong_keys, weak_keys = subject_keys(subject, index, matcher.year_window)
            strong, weak = index.lookup_split(strong_keys, weak_keys)
            candidates += len(strong) + len(weak)
    lookup_s = time.perf_counter() - started
    return {
        "entries": len(matcher),
        "build_s": round(build_s, 1),
        "generate_s": round(source.seconds, 1),
        "build_entries_per_s": round(len(matcher) / max(build_s, 1e-9)),
        "rss_start_mb": round(rss_start),
        "rss_after_build_mb": round(rss_built),
        "index_rss_mb": round(rss_built - rss_start),
        "postings": stats["base_postings"] + stats["overlay_postings"],
        "postings_mb": round(stats["postings_bytes"] / 2**20, 1),
        "records_mb": round(stats["record_bytes"] / 2**20, 1),
        "name_vocabulary": len(index.vocabulary),
        "events": n_events,
        "batch": batch,
        "events_per_s": round(n_events / match_s),
        "us_per_event": round(match_s / n_events * 1e6, 1),
        "events_per_s_one_at_a_time": round(n_events / single_s),
        **({f"events_per_s_{workers}_processes": round(parallel)} if parallel else {}),
        "lookups_per_s": round(n_events / lookup_s),
        "candidates_per_event": round(candidates / n_events, 2),
        "alerts_per_event": round(alerts / n_events, 4),
    }


def _parallel_rate(matcher: Matcher, events: list[dict], batch: int, workers: int) -> float:
    """Events/s of ``workers`` forked processes matching their share of the events (event i to
    process i mod workers, as partitions split a topic). Each process sees the index built
    here, as each worker process builds its own from the watchlist topic."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers + 1)

    def work(share: list[dict]) -> None:
        start.wait()
        for i in range(0, len(share), batch):
            matcher.match_events("crossing", share[i:i + batch])

    processes = [context.Process(target=work, args=(events[w::workers],)) for w in range(workers)]
    for process in processes:
        process.start()
    start.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    if any(process.exitcode for process in processes):
        raise RuntimeError("a bench worker process failed")
    return len(events) / elapsed


# ---------------------------------------------------------------------------- screening

_GENDER = {"M": "male", "F": "female"}


def _ftm_line(entry: dict) -> str:
    kind = entry["kind"]
    props: dict[str, list[str]] = {}
    if kind == "PERSON":
        schema = "Person"
        props = {"name": entry["names"], "alias": entry["aliases"], "birthDate": entry["birth_dates"],
                 "nationality": [c.lower() for c in entry["nationalities"]]}
        if entry["sex"] in _GENDER:
            props["gender"] = [_GENDER[entry["sex"]]]
        props["passportNumber"] = [i["value"] for i in entry["identifiers"] if i["scheme"] == "PASSPORT"]
    elif kind == "DOCUMENT":
        ident = entry["identifiers"][0]
        schema = "Passport"
        props = {"number": [ident["value"]], "country": [ident["country"].lower()],
                 "summary": [f"Reported {entry['document_status'].lower()}"]}
    elif kind == "VEHICLE":
        ident = entry["identifiers"][0]
        schema, props = "Vehicle", {"registrationNumber": [ident["value"]], "country": [ident["country"].lower()]}
    elif kind == "VESSEL":
        schema = "Vessel"
        props = {"name": entry["names"], "imoNumber": [entry["identifiers"][0]["value"]],
                 "mmsi": [entry["identifiers"][1]["value"]]}
    elif kind == "PHONE":
        schema, props = "LegalEntity", {"phone": [entry["identifiers"][0]["value"]]}
    else:
        schema = "Company"
        props = {"name": entry["names"], "jurisdiction": [c.lower() for c in entry["nationalities"]]}
    props = {k: v for k, v in props.items() if v}
    return json.dumps({"id": entry["entry_id"], "schema": schema, "properties": props}, ensure_ascii=False)


def _query_line(rng: random.Random, i: int, person: Person) -> str:
    props = {"name": [latin_name(rng, person, family_first=rng.random() < 0.5)],
             "birthDate": [person.birth.isoformat()], "nationality": [person.nationality.lower()],
             "gender": [_GENDER[person.sex]]}
    return json.dumps({"id": f"q{i:07d}", "schema": "Person", "properties": props}, ensure_ascii=False)


def bench_screen(n_queries: int = 20_000, n_watchlist: int = 100_000, seed: int = 12) -> dict[str, Any]:
    """Load an FtM watchlist of n_watchlist entities, then screen n_queries FtM persons (5% of
    them listed) through ``Matcher.screen_ftm``, FtM parsing included."""
    _warm_up()
    rng = random.Random(seed)
    people: list[Person] = []
    lines = [_ftm_line(e) for e in watchlist(rng, n_watchlist, prefix="s", people=people, keep_every=20,
                                             dob_share=0.95, diverse=True)]
    matcher = Matcher()
    started = time.perf_counter()
    errors = matcher.load_ftm(lines, "sanctions")
    load_s = time.perf_counter() - started
    del lines
    queries = [_query_line(rng, i, rng.choice(people) if rng.random() < 0.05 and people
                           else make_person(rng, diverse=True))
               for i in range(n_queries)]
    list(matcher.screen_ftm(queries[: min(1000, n_queries // 10)]))  # warm the per-token caches
    started = time.perf_counter()
    results = list(matcher.screen_ftm(queries))
    screen_s = time.perf_counter() - started
    return {
        "watchlist_entities": n_watchlist,
        "loaded_entries": len(matcher),
        "load_errors": len(errors),
        "load_s": round(load_s, 1),
        "queries": n_queries,
        "queries_per_s": round(n_queries / screen_s),
        "queries_with_matches": sum(1 for r in results if r["matches"]),
    }


# ---------------------------------------------------------------------------- biometrics

def bench_gallery(n_templates: int = 100_000, dim: int = 512, n_probes: int = 2_000, seed: int = 13) -> dict[str, Any]:
    """A FACE gallery of n_templates random unit vectors; probes are enrolled templates with
    noise (cosine ~0.8 to their original) and strangers."""
    gen = np.random.default_rng(seed)
    vectors = gen.standard_normal((n_templates, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gallery = TemplateGallery()
    key = ("FACE", "synthetic-face", "1", dim)
    gc.collect()
    rss_start = _rss_mb()
    started = time.perf_counter()
    gallery.add_many([f"g{i:07d}" for i in range(n_templates)], key, vectors)
    add_s = time.perf_counter() - started
    rss_built = _rss_mb()
    genuine = gen.integers(0, n_templates, n_probes // 2)
    noise = gen.standard_normal((len(genuine), dim), dtype=np.float32) * 0.75 / np.sqrt(dim)
    probes = vectors[genuine] + noise
    strangers = gen.standard_normal((n_probes - len(genuine), dim), dtype=np.float32)
    template = {"modality": "FACE", "algorithm": "synthetic-face", "algorithm_version": "1", "dimension": dim}
    hits = false_hits = 0
    started = time.perf_counter()
    for i, probe in enumerate(probes):
        found = gallery.search({**template, "vector": probe}, count=1)
        hits += bool(found) and found[0].entry_id == f"g{genuine[i]:07d}"
    for probe in strangers:
        false_hits += bool(gallery.search({**template, "vector": probe}, count=1))
    search_s = time.perf_counter() - started
    return {
        "templates": n_templates,
        "dimension": dim,
        "add_s": round(add_s, 1),
        "gallery_mb": round(gallery.stats()["memory_bytes"] / 2**20, 1),
        "rss_delta_mb": round(rss_built - rss_start),
        "queries_per_s": round(n_probes / search_s),
        "us_per_query": round(search_s / n_probes * 1e6),
        "rank1_hit_rate": round(hits / len(probes), 4),
        "stranger_false_hit_rate": round(false_hits / len(strangers), 4),
    }


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps({"index": bench_index(size), "screen": bench_screen(), "gallery": bench_gallery()}, indent=2))
