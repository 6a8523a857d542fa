"""Retro-hunt: when an entry is added to a watchlist, the events of the last N days are screened
against it, so a wanted person who crossed last week is found today.

Where the past events come from (this module only yields *candidate* events; the worker scores
every one of them with the same ``Matcher.match_event`` as live traffic, and raises hits with
the live alerts' deterministic ids, so a repeated hunt never duplicates an alert):

1. **Elasticsearch** (``bh-events``): ``candidate_query`` turns the entry into one bool query
   that blocks like the live index does (names of persons, fuzzy, in every Latin form the
   matcher compares and as written; full birth dates, also with day and month swapped;
   document numbers and plates with their one-OCR-confusion variants; VIN, IMO, MMSI, E.164
   phones; kNN on the capture vectors for the entry's biometric templates), bounded to the
   last N days and read page by page with a point in time and ``search_after`` (memory stays
   one page). The event datum is rebuilt from ``_source`` (the indexer stores the event's own
   fields, in their JSON form, next to derived ones that are dropped here); capture vectors are
   not in ``_source`` but come back as doc values of the ``dense_vector`` fields, so
   biometric candidates are scored by the same gallery code as live, not by Elasticsearch's
   score.
2. **Kafka, the indexing gap**: events acknowledged just before the listing may not be
   searchable yet. At the start of a hunt the event topics' end offsets are taken; the hunt
   waits (at most ``correlate_retro_hunt_index_wait`` seconds) until the indexer's consumer
   group has committed up to them, then refreshes the index. The indexer commits only after a
   bulk succeeded, so everything below its committed offsets is in Elasticsearch once refreshed;
   whatever is left between the committed offsets and those ends (usually nothing; everything
   when no indexer runs) is read from Kafka. Nothing acknowledged before the hunt starts can
   fall between the two sources.
3. **Kafka, the fallback**: when Elasticsearch cannot be reached (or fails mid-hunt) the whole
   window is read from the event topics instead (they keep 30 days), as before the indexer
   existed. Templates Elasticsearch does not index (a modality/dimension without a vector
   field) are hunted in the biometrics topic the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter

from borderhub.avro import AvroCodec, DecodeError, SchemaCatalog, from_json
from borderhub.settings import Settings
from borderhub.topics import BIOMETRICS, CROSSINGS, EVENT_TOPICS
from services.correlate.matching.biometric import DEFAULT_BIOMETRIC_THRESHOLDS
from services.search_api.indices import EVENTS_ALIAS, KIND_NAMES, VECTOR_DIMS  # the index contract

log = logging.getLogger("borderhub.correlate.retro_hunt")
KIND_OF_TOPIC = {topic: kind for kind, topic in EVENT_TOPICS.items()}

# The event document's "kind" -> the record name of the contract.
KIND_OF_DOCUMENT = {name: kind for kind, name in KIND_NAMES.items()}
# Each modality's vectors live in template.<modality>_vector (VECTOR_DIMS long).
VECTOR_FIELDS = [f"template.{m.lower()}_vector" for m in VECTOR_DIMS]

PAGE_SIZE = 500
KNN_CANDIDATES = 2000  # per shard; Elasticsearch allows 10,000
# Elasticsearch compares int8-quantised vectors: ask for a little less than the modality's
# threshold and let the gallery decide on the exact vectors.
KNN_MARGIN = 0.05
_OCR_SWAPS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
_DOCUMENT_SCHEMES = ("PASSPORT", "ID_CARD", "OTHER_DOCUMENT")
_LOOSE = "~"  # matching.names.LOOSE: a prefix of forms, not part of the name

HUNTS = Counter("borderhub_retro_hunts_total", "Retro-hunts run, by where past events came from "
                "(elasticsearch: the index plus the not yet indexed tail from Kafka; kafka: the fallback)",
                ["source"])
HUNT_EVENTS = Counter("borderhub_retro_hunt_events_total", "Past events scored by retro-hunts, by source "
                      "(elasticsearch, kafka_tail: not yet indexed, kafka: fallback scan)", ["source"])
HUNT_HITS = Counter("borderhub_retro_hunt_hits_total", "Retro-hunt alerts, by the source of the event", ["source"])


# ---------------------------------------------------------------------------- entry -> query (pure)

def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_filter(since: dt.datetime) -> dict:
    return {"range": {"@timestamp": {"gte": _iso(since)}}}


def ocr_variants(normalized: str) -> list[str]:
    """The number itself and every spelling one OCR confusion (0/O, 1/I, 5/S, 8/B) away: what
    the matcher still accepts, at a lower score."""
    out = [normalized]
    for i, ch in enumerate(normalized):
        swap = _OCR_SWAPS.get(ch)
        if swap:
            out.append(normalized[:i] + swap + normalized[i + 1:])
    return out


def _token_count(text: str) -> int:
    words = text.split()
    if len(words) == 1 and not text.isascii() and not any(ch.isalpha() and ch.isascii() for ch in text):
        return len(text)  # Han: one token per character
    return len(words)


def name_clauses(entry: Mapping[str, Any]) -> list[dict]:
    """Fuzzy matches of a person's names and aliases on the events' ``names`` field (given,
    family and Latin names of travellers and seized persons, folded to ASCII): every form the
    matcher compares (transliterations, ICAO spellings, prefixes removed) and, for names not
    in Latin script, the name as written. At least two tokens must agree, so a missing middle
    name, a dropped second surname or an order swap still finds it."""
    if entry.get("kind") != "PERSON":  # the live index keys names of persons only (and of
        return []                       # organisations, which no event subject carries)
    from services.correlate.matching.names import name_forms
    texts: list[str] = []
    for name in [*(entry.get("names") or ()), *(entry.get("aliases") or ())]:
        if not name or not name.strip():
            continue
        if not name.isascii():
            texts.append(name.strip())
        texts += [form.lstrip(_LOOSE) for form in name_forms(name)]
    clauses = []
    for text in dict.fromkeys(t for t in texts if t):
        clauses.append({"match": {"names": {"query": text, "fuzziness": "AUTO",
                                            "minimum_should_match": min(2, _token_count(text))}}})
    return clauses


def birth_date_clauses(entry: Mapping[str, Any]) -> list[dict]:
    """Persons born on a listed full date (or with day and month swapped): finds a traveller
    whose name is printed in another script without a Latin transliteration."""
    if entry.get("kind") != "PERSON":
        return []
    dates: list[str] = []
    for text in entry.get("birth_dates") or ():
        parts = str(text)[:10].split("-")
        if len(parts) != 3:
            continue  # a year or a month alone would match a large share of all travellers
        try:
            day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            continue
        dates.append(day.isoformat())
        if day.day <= 12 and day.day != day.month:
            dates.append(dt.date(day.year, day.day, day.month).isoformat())
    if not dates:
        return []
    dates = list(dict.fromkeys(dates))
    return [{"terms": {"traveller.date_of_birth": dates}}, {"terms": {"persons.date_of_birth": dates}}]


def _ci_terms(field_name: str, values: Iterable[str]) -> list[dict]:
    return [{"term": {field_name: {"value": v, "case_insensitive": True}}} for v in dict.fromkeys(values) if v]


def identifier_clauses(entry: Mapping[str, Any]) -> list[dict]:
    """Exact identifier terms, on the raw fields as events spell them and on the normalised
    entity keys the indexer adds (``entities``: doc:CC:NUMBER, vehicle:CC:PLATE, vessel:imo:N)."""
    from services.correlate.matching.identifiers import normalize_identifier
    clauses: list[dict] = []
    for ident in entry.get("identifiers") or ():
        scheme, value = ident.get("scheme") or "OTHER", ident.get("value") or ""
        normalized = normalize_identifier(scheme, value)
        if not normalized:
            continue
        if scheme in _DOCUMENT_SCHEMES:
            variants = ocr_variants(normalized)
            clauses += _ci_terms("document_numbers", [value.strip(), *variants])
            clauses += [{"wildcard": {"entities": {"value": f"doc:*:{v}"}}} for v in variants]
        elif scheme == "VEHICLE_PLATE":
            variants = ocr_variants(normalized)
            clauses += _ci_terms("plates", [value.strip(), *variants])
            clauses += [{"wildcard": {"entities": {"value": f"vehicle:*:{v}"}}} for v in variants]
        elif scheme == "VIN":
            clauses += _ci_terms("conveyance.vehicle_vin", [value.strip(), normalized])
        elif scheme == "IMO":
            clauses.append({"term": {"entities": f"vessel:imo:{normalized}"}})
            clauses += _ci_terms("conveyance.vessel_imo", [normalized, f"IMO{normalized}", f"IMO {normalized}"])
        elif scheme == "MMSI":
            clauses.append({"term": {"conveyance.vessel_mmsi": normalized}})
        elif scheme == "PHONE":
            clauses.append({"terms": {"phones": list(dict.fromkeys([normalized, value.strip()]))}})
        # Registration numbers and other schemes: no event carries them.
    return clauses


def searchable_templates(entry: Mapping[str, Any]) -> tuple[list[dict], list[dict]]:
    """(templates Elasticsearch indexes vectors for, templates it does not)."""
    indexed, other = [], []
    for template in entry.get("biometric_templates") or ():
        vector = template.get("vector") or ()
        if not vector:
            continue
        modality = str(template.get("modality") or "UNKNOWN")
        (indexed if VECTOR_DIMS.get(modality) == len(vector) else other).append(template)
    return indexed, other


def knn_clauses(entry: Mapping[str, Any], since: dt.datetime,
                thresholds: Mapping[str, float] | None = None) -> list[dict]:
    """Approximate nearest captures of each indexed template, of the same modality, algorithm
    and version (the gallery compares nothing else), from ``since``, down to a little below the
    modality's threshold (the gallery's thresholds, the live ones)."""
    thresholds = {**DEFAULT_BIOMETRIC_THRESHOLDS, **(thresholds or {})}
    clauses = []
    for template in searchable_templates(entry)[0]:
        modality = str(template.get("modality") or "UNKNOWN")
        filters: list[dict] = [time_filter(since), {"term": {"template.modality": modality}}]
        for name in ("algorithm", "algorithm_version"):
            if template.get(name):
                filters.append({"term": {f"template.{name}": template[name]}})
        threshold = thresholds.get(modality, thresholds["UNKNOWN"])
        clauses.append({"knn": {"field": f"template.{modality.lower()}_vector",
                                "query_vector": [float(x) for x in template["vector"]],
                                "num_candidates": KNN_CANDIDATES, "similarity": max(-1.0, threshold - KNN_MARGIN),
                                "filter": filters}})
    return clauses


def candidate_query(entry: Mapping[str, Any], since: dt.datetime,
                    biometric_thresholds: Mapping[str, float] | None = None) -> dict | None:
    """The Elasticsearch query for the events of ``since`` or later that could match the entry,
    or None when the entry gives nothing to look for."""
    should = [*name_clauses(entry), *birth_date_clauses(entry), *identifier_clauses(entry),
              *knn_clauses(entry, since, biometric_thresholds)]
    if not should:
        return None
    return {"bool": {"filter": [time_filter(since)], "should": should, "minimum_should_match": 1}}


# ---------------------------------------------------------------------------- document -> datum (pure)

def _drop(obj: Any, path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj.get(part)
        if obj is None:
            return
    if isinstance(obj, dict):
        obj.pop(last, None)


def event_datum(catalog: SchemaCatalog, hit: Mapping[str, Any]) -> tuple[str, dict] | None:
    """(kind, event datum) of a search hit, as the worker would have decoded it from Kafka; None
    when the document cannot be read as an event. Fields the indexer derived (kind, names,
    entities, port location...) or that a newer schema added are dropped; a capture's vector
    comes from the doc values of its dense_vector field."""
    source = dict(hit.get("_source") or {})
    kind = KIND_OF_DOCUMENT.get(source.get("kind"))
    if kind is None:
        return None
    if kind == "biometrics":
        template = dict(source.get("template") or {})
        fields = hit.get("fields") or {}
        vectors = [v for name in VECTOR_FIELDS for v in fields.get(name) or ()]
        for name in VECTOR_FIELDS:
            template.pop(name.split(".", 1)[1], None)
        template["vector"] = [float(x) for x in vectors[0]] if vectors else []
        source["template"] = template
    record = catalog.get(kind)
    for _ in range(4):
        datum, problems = from_json(record, source)
        if not problems:
            return kind, datum
        if any(p.code != "unknown_field" for p in problems):
            log.debug("event %s in the index is not a %s: %s", hit.get("_id"), kind, problems[:3])
            return None
        for problem in problems:
            _drop(source, problem.path)
    return None


def hunt_partition(entry_id: str, partitions: int) -> int:
    """The crossings partition whose owner hunts for this entry: the partition Kafka's default
    partitioner gives the entry id as a key, the same on every worker."""
    from kafka.partitioner.default import murmur2
    return (murmur2(entry_id.encode()) & 0x7FFFFFFF) % max(1, partitions)


# ---------------------------------------------------------------------------- sources

@dataclass
class HuntStats:
    source: str = "elasticsearch"  # or "kafka" when Elasticsearch could not be used
    by_source: dict[str, int] = field(default_factory=dict)  # events yielded per source
    started: float = field(default_factory=time.monotonic)
    index_lag: int = 0  # records the indexer had not committed when the hunt read the index

    def count(self, source: str) -> None:
        self.by_source[source] = self.by_source.get(source, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_source.values())


class IndexUnavailable(Exception):
    """Elasticsearch could not answer the hunt's query."""


def _partition_ids(settings: Settings, topic: str) -> list[int]:
    from services.correlate.follower import partition_ids
    return partition_ids(settings, topic)


class PastEvents:
    """Candidate past events of one new entry: from Elasticsearch plus the not yet indexed tail
    from Kafka, or from Kafka alone when Elasticsearch is unreachable (see module doc)."""

    def __init__(self, settings: Settings, codec: AvroCodec,
                 biometric_thresholds: Mapping[str, float] | None = None) -> None:
        self.settings, self.codec = settings, codec
        self.biometric_thresholds = dict(biometric_thresholds or {})
        self._partitions: list[TopicPartition] | None = None
        # (when the topics' ends were read, the indexer's offsets the index was refreshed at
        # after that): a hunt for an entry listed before that moment needs no wait of its own.
        self._settled: tuple[float, dict[TopicPartition, int]] | None = None

    async def event_partitions(self) -> list[TopicPartition]:
        if self._partitions is None:
            found = []
            for topic in EVENT_TOPICS.values():
                ids = await asyncio.to_thread(_partition_ids, self.settings, topic)
                found += [TopicPartition(topic, p) for p in ids]
            self._partitions = found
        return self._partitions

    async def owner_partition(self, entry_id: str) -> TopicPartition:
        count = sum(1 for tp in await self.event_partitions() if tp.topic == CROSSINGS)
        return TopicPartition(CROSSINGS, hunt_partition(entry_id, count))

    async def candidates(self, entry: Mapping[str, Any], since: dt.datetime, stats: HuntStats,
                         listed_at: float | None = None) -> AsyncIterator[tuple[str, str, dict]]:
        """(source, kind, datum) of every candidate event from ``since`` up to the event
        topics' ends at the call. ``listed_at`` (``time.monotonic()`` when the worker applied
        the listing) lets hunts queued behind a settled one (a feed listing many entries at
        once) reuse its wait for the indexer."""
        partitions = await self.event_partitions()
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            ends_at = time.monotonic()
            ends = await consumer.end_offsets(partitions)
            found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
            # Where the window starts in each partition; absent: nothing that recent.
            window = {tp: found[tp].offset for tp in partitions if found.get(tp) is not None
                      and found[tp].offset < ends[tp]}
            indexed: dict[TopicPartition, int] = {}
            try:
                settled = self._settled
                if settled is not None and listed_at is not None and settled[0] >= listed_at:
                    indexed = settled[1]  # refreshed after events acknowledged before the listing
                else:
                    indexed = await self._wait_for_indexer(window, ends)
                    self._settled = (ends_at, indexed)
                stats.index_lag = sum(ends[tp] - max(start, indexed.get(tp, start)) for tp, start in window.items())
                query = candidate_query(entry, since, self.biometric_thresholds)
                if query is not None:
                    async for kind, datum in self._search(query):
                        stats.count("elasticsearch")
                        yield "elasticsearch", kind, datum
            except IndexUnavailable as exc:
                log.warning("retro-hunt for %s: Elasticsearch unavailable (%s); reading the event topics instead",
                            entry.get("entry_id"), exc)
                stats.source, indexed = "kafka", {}
            # From Kafka: what the indexer had not committed (all of it after a fallback), and the
            # whole biometrics window for templates Elasticsearch cannot search.
            full = {BIOMETRICS} if searchable_templates(entry)[1] else set()
            starts = {tp: start if tp.topic in full else max(start, indexed.get(tp, start))
                      for tp, start in window.items()}
            label = "kafka" if stats.source == "kafka" else "kafka_tail"
            async for kind, datum in read_partitions(consumer, self.codec, starts, ends):
                stats.count(label)
                yield label, kind, datum
        finally:
            await consumer.stop()

    async def _wait_for_indexer(self, window: dict[TopicPartition, int],
                                ends: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """The indexer group's committed offsets once they reach ``ends`` in every partition
        with events in the window, or when ``correlate_retro_hunt_index_wait`` has passed; then
        the index is refreshed, so everything below them is searchable."""
        from aiokafka.admin import AIOKafkaAdminClient
        from elasticsearch import AsyncElasticsearch
        committed: dict[TopicPartition, int] = {}
        if window:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
            await admin.start()
            try:
                deadline = time.monotonic() + self.settings.correlate_retro_hunt_index_wait
                while True:
                    offsets = await admin.list_consumer_group_offsets(self.settings.indexer_group_id,
                                                                      partitions=list(window))
                    committed = {tp: min(meta.offset, ends[tp]) for tp, meta in offsets.items()
                                 if tp in window and meta.offset >= 0}
                    if all(committed.get(tp, -1) >= ends[tp] for tp in window) or time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(0.25)
            except Exception as exc:  # no answer about the indexer: read the whole window from Kafka
                log.warning("indexer offsets unavailable (%s): the retro-hunt reads the window from Kafka", exc)
                committed = {}
            finally:
                await admin.close()
        try:
            async with AsyncElasticsearch(self.settings.es_url, request_timeout=30, max_retries=1,
                                          retry_on_timeout=True) as es:
                await es.indices.refresh(index=EVENTS_ALIAS, ignore_unavailable=True, allow_no_indices=True)
        except Exception as exc:
            raise IndexUnavailable(f"refresh: {type(exc).__name__}: {exc}") from exc
        return committed

    async def _search(self, query: dict) -> AsyncIterator[tuple[str, dict]]:
        """Every hit of the query, a page at a time under one point in time."""
        from elasticsearch import AsyncElasticsearch, NotFoundError
        catalog = self.codec.catalog
        try:
            async with AsyncElasticsearch(self.settings.es_url, request_timeout=60, max_retries=2,
                                          retry_on_timeout=True) as es:
                try:
                    pit = (await es.open_point_in_time(index=EVENTS_ALIAS, keep_alive="2m"))["id"]
                except NotFoundError:
                    return  # no events index yet: nothing was ever indexed
                try:
                    after = None
                    while True:
                        response = await es.search(
                            pit={"id": pit, "keep_alive": "2m"}, query=query, size=PAGE_SIZE,
                            sort=[{"_shard_doc": "asc"}], search_after=after, docvalue_fields=VECTOR_FIELDS,
                            allow_partial_search_results=False, track_total_hits=False)
                        pit = response.get("pit_id", pit)
                        hits = response["hits"]["hits"]
                        for hit in hits:
                            found = event_datum(catalog, hit)
                            if found is not None:
                                yield found
                        if len(hits) < PAGE_SIZE:
                            return
                        after = hits[-1]["sort"]
                finally:
                    try:
                        await es.close_point_in_time(id=pit)
                    except Exception:  # it expires on its own
                        pass
        except (IndexUnavailable, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as exc:  # connection refused, timeouts, 5xx, shard failures
            raise IndexUnavailable(f"{type(exc).__name__}: {exc}") from exc


async def read_partitions(consumer: AIOKafkaConsumer, codec: AvroCodec, starts: dict[TopicPartition, int],
                          ends: dict[TopicPartition, int]) -> AsyncIterator[tuple[str, dict]]:
    """(kind, datum) of every decodable event from ``starts`` up to ``ends``, per partition."""
    pending = {tp for tp, start in starts.items() if start < ends[tp]}
    if not pending:
        return
    consumer.assign(sorted(pending))
    for tp in pending:
        consumer.seek(tp, starts[tp])
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=2000)
        for tp, records in batches.items():
            for record in records:
                if record.offset >= ends[tp]:
                    continue
                try:
                    yield KIND_OF_TOPIC[tp.topic], codec.decode(record.value, KIND_OF_TOPIC[tp.topic])
                except DecodeError:
                    continue  # the live path dead-letters it; a hunt only reads
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


async def past_events(settings: Settings, codec: AvroCodec, partitions: Iterable[TopicPartition],
                      since: dt.datetime) -> AsyncIterator[tuple[str, dict]]:
    """(kind, datum) of every decodable event in ``partitions`` from ``since`` to their current end."""
    partitions = [tp for tp in partitions if tp.topic in KIND_OF_TOPIC]
    if not partitions:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        starts = {tp: found[tp].offset for tp in partitions if found.get(tp) is not None}
        async for kind, datum in read_partitions(consumer, codec, starts, ends):
            yield kind, datum
    finally:
        await consumer.stop()


def one_entry_matcher(live: Any, entry: Mapping[str, Any]):
    """A Matcher holding only ``entry``, with the live matcher's thresholds: scores exactly as
    the live worker would for this entry."""
    from services.correlate.matching.engine import Matcher
    thresholds = getattr(live, "thresholds", None)
    gallery = getattr(live, "gallery", None)
    one = Matcher(default_threshold=thresholds.default, list_thresholds=thresholds.per_list,
                  biometric_thresholds=gallery.thresholds) if thresholds is not None and gallery is not None \
        else Matcher()
    one.upsert(entry)
    return one


def record_hunt(entry_id: str, stats: HuntStats, hits: dict[str, int]) -> None:
    """Metrics and one log line per hunt (``source=`` says where the events came from)."""
    HUNTS.labels(stats.source).inc()
    for source, count in stats.by_source.items():
        HUNT_EVENTS.labels(source).inc(count)
    for source, count in hits.items():
        HUNT_HITS.labels(source).inc(count)
    log.info("retro-hunt for %s: source=%s, %d past events screened (%s), %d hits, %.1fs", entry_id, stats.source,
             stats.total, ", ".join(f"{k}={v}" for k, v in sorted(stats.by_source.items())) or "none",
             sum(hits.values()), time.monotonic() - stats.started)


def is_new_listing(known_ids: set[str], entry: dict) -> bool:
    """A hunt is for entries the worker had not seen: not for changes to known ones."""
    return entry["entry_id"] not in known_ids
