"""``borderhub screen``: batch screening of pre-arrival manifests (FollowTheMoney entities)
against a FollowTheMoney watchlist, with the streaming workers' matching code."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.correlate.matching.engine import Matcher
from services.correlate.matching.names import load_name_tables


@dataclass
class ScreenSummary:
    entries: int
    watchlist_errors: list[str]
    queries: int
    with_matches: int
    load_seconds: float
    screen_seconds: float


def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line for line in f if line.strip()]


def screen_files(watchlist: Path, queries: Path, output: Path, show_progress: bool = True) -> ScreenSummary:
    matcher = Matcher()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress) as progress:
        progress.add_task(f"loading {watchlist.name}", total=None)
        started = time.perf_counter()
        load_name_tables()
        errors = matcher.load_ftm(_lines(watchlist), source_list=watchlist.name.split(".")[0])
        loaded = time.perf_counter()
        query_lines = _lines(queries)
        task = progress.add_task(f"screening {queries.name}", total=len(query_lines))
        count = with_matches = 0
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8") as out:
            for result in matcher.screen_ftm(query_lines):
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
                count += 1
                with_matches += bool(result["matches"])
                progress.advance(task)
    return ScreenSummary(len(matcher), errors, count, with_matches, loaded - started, time.perf_counter() - loaded)
