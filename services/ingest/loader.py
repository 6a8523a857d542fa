"""``borderhub watchlist load``: a feed file to the compacted watchlist topic.

Each good line becomes an entry keyed by its id; a bad line is reported and skipped. With
``--replace``, entries of the same list that the file no longer holds are deleted by tombstones
(the compacted topic is read once to learn which ids the list has now)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kafka import KafkaConsumer, TopicPartition
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from borderhub.avro import AvroCodec, DecodeError, SchemaCatalog
from borderhub.domain.events import check_watchlist_entry
from borderhub.kafka import make_producer
from borderhub.settings import Settings
from borderhub.topics import WATCHLIST, ensure_topics
from services.ingest.watchlist import entries_from_csv, entries_from_ftm


@dataclass
class LoadSummary:
    published: int = 0
    deleted: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def current_entry_ids(settings: Settings, codec: AvroCodec, source_list: str) -> set[str]:
    """Ids of the live entries of ``source_list`` on the compacted topic (read to its end)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=10_000)
    try:
        partitions = [TopicPartition(WATCHLIST, p) for p in consumer.partitions_for_topic(WATCHLIST) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        live: set[str] = set()
        deadline = time.monotonic() + 300
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {WATCHLIST} to its end")
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    entry_id = record.key.decode()
                    live.discard(entry_id)
                    if record.value is None:
                        continue
                    try:
                        entry = codec.decode(record.value, "watchlist")
                    except DecodeError:
                        continue
                    if entry["source_list"] == source_list:
                        live.add(entry_id)
        return set(live)
    finally:
        consumer.close()


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def load_watchlist(settings: Settings, path: Path, replace: bool = False, source_list: str | None = None,
                   fmt: str | None = None, enrich: Callable[[dict], dict] | None = None) -> LoadSummary:
    """``enrich`` may add what a feed format cannot carry (e.g. biometric templates)."""
    source_list = source_list or path.name.split(".")[0]
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "ftm")
    parse = entries_from_csv if fmt == "csv" else entries_from_ftm
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    ensure_topics(settings)
    before = current_entry_ids(settings, codec, source_list) if replace else set()
    producer = make_producer(settings, "borderhub-watchlist-loader")
    summary = LoadSummary()
    seen: set[str] = set()
    now = dt.datetime.now(dt.timezone.utc)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=False) as progress, open(path, encoding="utf-8") as lines:
            task = progress.add_task(f"loading {path.name}", total=_count_lines(path))
            for parsed in parse(lines, source_list=source_list, now=now):
                progress.update(task, completed=parsed.line_no)
                if parsed.error is not None:
                    summary.errors.append((parsed.line_no, parsed.error))
                    continue
                entry = enrich(parsed.entry) if enrich else parsed.entry
                problems = check_watchlist_entry(entry)
                if problems:
                    summary.errors.append((parsed.line_no, "; ".join(f"{p.path}: {p.message}" for p in problems)))
                    continue
                producer.send(WATCHLIST, key=entry["entry_id"].encode(), value=codec.encode("watchlist", entry))
                seen.add(entry["entry_id"])
                summary.published += 1
            stale = sorted(before - seen)
            if stale:
                delete = progress.add_task("deleting entries no longer listed", total=len(stale))
                for entry_id in stale:
                    producer.send(WATCHLIST, key=entry_id.encode(), value=None)
                    progress.advance(delete)
            summary.deleted = len(stale)
        producer.flush()  # every entry acknowledged before we report success
    finally:
        producer.close()
    return summary
