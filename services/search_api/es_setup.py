"""Elasticsearch client and index setup shared by the indexer and the search API.

``ensure_indices`` is idempotent and safe to run from several processes at once: it puts the
templates of the monthly indices (events, links), creates the first concrete index behind each
of the other aliases, and adds new mapping fields to indices that already exist (mappings only
grow; a conflicting change is an error, not something to paper over).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from elasticsearch import ApiError, BadRequestError, Elasticsearch

from borderhub.settings import Settings
from services.search_api.indices import (
    ALERTS_ALIAS,
    AUDIT_ALIAS,
    EVENTS_ALIAS,
    LINKS_ALIAS,
    WATCHLIST_ALIAS,
    alerts_index,
    audit_index,
    events_template,
    links_template,
    monthly_index_name,
    watchlist_index,
)

log = logging.getLogger(__name__)

EVENTS_TEMPLATE_NAME = EVENTS_ALIAS  # a monthly alias's template is named after it


def make_client(settings: Settings, *, request_timeout: float = 30.0, max_retries: int = 3) -> Elasticsearch:
    """A client for ``settings.es_url``. It retries connection errors, timeouts and 502/503/504
    on another attempt; callers with their own backoff (the indexer) pass ``max_retries=0``."""
    return Elasticsearch(
        settings.es_url,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=max_retries > 0,
        retry_on_status=(502, 503, 504),
        http_compress=False,  # loopback and LAN: compression costs more CPU than it saves
    )


def first_index(alias: str) -> str:
    return f"{alias}-000001"


def _body(spec: dict, shards: int, replicas: int) -> dict:
    settings = {**spec.get("settings", {}), "number_of_shards": shards, "number_of_replicas": replicas}
    return {**spec, "settings": settings}


def _additive_mapping(mappings: dict) -> dict:
    # _source filtering is fixed at creation; only fields and dynamic may change later.
    return {k: v for k, v in mappings.items() if k in ("properties", "dynamic")}


def _ensure_aliased_index(es: Elasticsearch, alias: str, spec: dict) -> None:
    index = first_index(alias)
    if es.indices.exists_alias(name=alias):
        # Existing indices keep their shards and analysis; new fields and the replica count
        # are applied in place.
        es.indices.put_mapping(index=alias, **_additive_mapping(spec["mappings"]))
        es.indices.put_settings(index=alias, settings={"number_of_replicas": spec["settings"]["number_of_replicas"]})
        return
    if es.indices.exists(index=alias):
        raise RuntimeError(f"{alias} is a concrete index, not an alias (created by a write before setup?); "
                           f"reindex it into {index} and delete it")
    try:
        es.indices.create(index=index, aliases={alias: {"is_write_index": True}},
                          settings=spec["settings"], mappings=spec["mappings"])
        log.info("created %s behind %s", index, alias)
    except ApiError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
        # Another process created it between our check and our create; make sure of the alias.
        es.indices.put_alias(index=index, name=alias, is_write_index=True)


def _ensure_monthly(es: Elasticsearch, alias: str, template: dict) -> None:
    """The template (named after the alias) of an alias's monthly indices, its new fields on the
    indices that exist, and this month's index, so that searches on a new system find an empty
    alias, not a 404."""
    es.indices.put_index_template(name=alias, **template)
    if es.indices.exists_alias(name=alias):
        # Monthly indices created from an older template get the new fields too.
        es.indices.put_mapping(index=alias, **_additive_mapping(template["template"]["mappings"]))
    current = monthly_index_name(alias, dt.datetime.now(dt.timezone.utc))
    if not es.indices.exists(index=current):
        try:
            es.indices.create(index=current)
        except BadRequestError as exc:  # another process created it meanwhile
            if "resource_already_exists_exception" not in str(exc):
                raise


MONTHLY_SUFFIX = re.compile(r"-(\d{4})\.(\d{2})$")
# Late events (a replay, a port that was offline) still land in last month's index for a while.
FINISHED_GRACE = dt.timedelta(days=1)


def finished_months(names: list[str], alias: str, now: dt.datetime,
                    grace: dt.timedelta = FINISHED_GRACE) -> list[str]:
    """The monthly indices of ``alias`` among ``names`` whose month ended at least ``grace``
    before ``now``: nothing much is written to them any more."""
    finished = []
    for name in names:
        match = MONTHLY_SUFFIX.search(name)
        if not match or name[:match.start()] != alias:
            continue
        year, month = int(match[1]), int(match[2])
        end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.timezone.utc)
        if end + grace <= now:
            finished.append(name)
    return sorted(finished)


def merge_finished_months(es: Elasticsearch, alias: str, now: dt.datetime | None = None) -> list[str]:
    """Force-merges every finished month of ``alias`` that has more than one segment per shard
    into one, and returns their names. A search visits every segment of every month, so fewer
    segments is less CPU per search (fuzzy names most: the term dictionary is walked per
    segment); one merge per month (again only if late events added segments). Blocking: the
    merge takes minutes per million events, so callers run it in the background."""
    now = now or dt.datetime.now(dt.timezone.utc)
    names = list(es.indices.get(index=f"{alias}-*", allow_no_indices=True, expand_wildcards="open").body)
    merged = []
    for index in finished_months(names, alias, now):
        shards = es.indices.segments(index=index)["indices"][index]["shards"]
        if all(copy["num_search_segments"] <= 1 for copies in shards.values() for copy in copies):
            continue
        log.info("force-merging %s (a finished month) into one segment", index)
        es.options(request_timeout=6 * 3600).indices.forcemerge(index=index, max_num_segments=1)
        merged.append(index)
    return merged


def ensure_indices(es: Elasticsearch, settings: Settings) -> None:
    shards, replicas = settings.es_shards, settings.es_replicas
    _ensure_monthly(es, EVENTS_ALIAS, events_template(shards, replicas))
    _ensure_monthly(es, LINKS_ALIAS, links_template(shards, replicas))
    _ensure_aliased_index(es, ALERTS_ALIAS, _body(alerts_index(), shards, replicas))
    _ensure_aliased_index(es, WATCHLIST_ALIAS, _body(watchlist_index(), shards, replicas))
    _ensure_aliased_index(es, AUDIT_ALIAS, _body(audit_index(), shards, replicas))
