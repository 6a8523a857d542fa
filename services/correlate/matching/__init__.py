"""The pure matching engine of issue 3 (no Kafka, no faust): names across scripts, the watchlist
index, scoring with explanations, the biometric gallery, and the Matcher tying them together.

    from services.correlate.matching import Matcher
    matcher = Matcher(default_threshold=0.75, list_thresholds={"interpol-sltd": 0.8})
    matcher.load(entries)                          # WatchlistEntry datums; upsert / remove live
    matcher.match_events("crossing", events)       # -> [[Match, ...], ...], best first
    matcher.screen_ftm(lines)                      # the `borderhub screen` contract

Quality: ``evaluate()`` (tests/data/eval/pairs.jsonl). Speed: ``bench_index``,
``bench_screen``, ``bench_gallery``.
"""

from borderhub.compiled import prefer_fresh_sources

prefer_fresh_sources(__name__, __path__[0])  # before the modules: an edited one runs as edited

from .bench import bench_gallery, bench_index, bench_screen
from .biometric import GalleryHit, TemplateGallery
from .engine import Match, Matcher, screen_result, subjects_of_event
from .evalset import evaluate
from .index import WatchlistIndex
from .names import load_name_tables, name_forms, name_similarity
from .scoring import DEFAULT_THRESHOLD, Subject, Thresholds, make_subject, prepare_entry, score_entry

__all__ = [
    "DEFAULT_THRESHOLD",
    "GalleryHit",
    "Match",
    "Matcher",
    "Subject",
    "TemplateGallery",
    "Thresholds",
    "WatchlistIndex",
    "bench_gallery",
    "bench_index",
    "bench_screen",
    "evaluate",
    "load_name_tables",
    "make_subject",
    "name_forms",
    "name_similarity",
    "prepare_entry",
    "score_entry",
    "screen_result",
    "subjects_of_event",
]
