"""Routers of the search API, and what they share: the Elasticsearch client, the audit log and
cursor-paginated searches."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, NotFoundError
from fastapi import HTTPException, Request

from services.search_api.queries import Cursor, CursorError, decode_cursor, encode_cursor
from services.search_api.security import AuditLog

log = logging.getLogger("borderhub.search_api")

PIT_KEEP_ALIVE = "2m"
# Past a thousand the answer says "gte": counting every match of a common name up to 10,000
# kept Elasticsearch from skipping the documents that cannot make the page.
TOTAL_HITS_UP_TO = 1_000
# Only what a page is made of: less JSON for Elasticsearch to write and for the API to parse.
PAGE_FILTER_PATH = ["pit_id", "hits.total", "hits.hits._id", "hits.hits._score", "hits.hits._source",
                    "hits.hits.sort", "aggregations"]

# Shared OpenAPI descriptions of the errors every protected endpoint may answer.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid X-API-Key"},
    403: {"description": "The key's role may not use this endpoint"},
    429: {"description": "Rate limit of the key exceeded (see Retry-After)"},
    503: {"description": "Elasticsearch or the audit log unavailable"},
}


def es_of(request: Request):
    return request.app.state.es


def audit_of(request: Request) -> AuditLog:
    return request.app.state.audit


def utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def check_time_range(start: dt.datetime | None,
                     end: dt.datetime | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    start, end = utc(start), utc(end)
    if start and end and end <= start:
        raise HTTPException(400, "'to' must be after 'from'")
    return start, end


def source_of(hit: dict) -> dict:
    return {"id": hit["_id"], **hit.get("_source", {})}


@dataclass
class Page:
    hits: list[dict]
    total: int | None
    total_relation: str | None
    next_cursor: str | None
    aggregations: dict | None = None


async def paged_search(es, *, index: str, query: dict, sort: list[dict], size: int, cursor_token: str | None,
                       fingerprint: str, pit_mode: str = "lazy", aggs: dict | None = None,
                       source_excludes: list[str] | None = None, source_includes: list[str] | None = None) -> Page:
    """One page of a sorted search, with a cursor to the next page when there is one.

    ``pit_mode``: "lazy" runs the first page on the live index and opens a point in time only
    when the second page is asked for (most searches never leave their first page, and open
    PITs cost the cluster memory; the sort ends with a unique tiebreaker, so pages never
    overlap); "always" runs every page in a PIT (needed when the sort ends with _shard_doc);
    "never" pages on the live index.
    """
    cursor: Cursor | None = None
    if cursor_token:
        try:
            cursor = decode_cursor(cursor_token, fingerprint, len(sort))
        except CursorError as exc:
            raise HTTPException(400, str(exc)) from None
    pit_id = cursor.pit if cursor else None
    if pit_id is None and (pit_mode == "always" or (pit_mode == "lazy" and cursor is not None)):
        pit_id = await open_pit(es, index, required=pit_mode == "always")

    body: dict[str, Any] = {"query": query, "sort": sort, "size": size + 1,
                            # Counted on the first page only, and only up to 10,000 ("gte" beyond).
                            "track_total_hits": TOTAL_HITS_UP_TO if cursor is None else False}
    if cursor:
        body["search_after"] = cursor.after
    if aggs and cursor is None:
        body["aggs"] = aggs
    params: dict[str, Any] = {"filter_path": PAGE_FILTER_PATH}
    if source_excludes:
        params["source_excludes"] = source_excludes
    if source_includes:
        params["source_includes"] = source_includes
    try:
        if pit_id:
            response = await es.search(pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}, **body, **params)
        else:
            response = await es.search(index=index, ignore_unavailable=True, allow_no_indices=True, **body, **params)
    except NotFoundError:
        if pit_id:
            raise HTTPException(410, "cursor expired; run the search again without a cursor") from None
        raise
    except ApiError as exc:
        if cursor and exc.meta.status == 400:
            raise HTTPException(400, "invalid cursor") from None
        raise

    found = response.get("hits", {})  # filter_path leaves out what is empty
    hits = found.get("hits", [])
    more = len(hits) > size
    hits = hits[:size]
    pit_id = response.get("pit_id", pit_id)
    next_token = None
    if more:
        last = hits[-1]["sort"][:len(sort)]
        next_token = encode_cursor(Cursor(after=last, fingerprint=fingerprint, pit=pit_id))
    elif pit_id:
        asyncio.get_running_loop().create_task(close_pit(es, pit_id))
    total = found.get("total") or {"value": None, "relation": None}
    return Page(hits, total["value"], total["relation"], next_token, response.get("aggregations"))


async def open_pit(es, index: str, required: bool = True) -> str | None:
    try:
        response = await es.open_point_in_time(index=index, keep_alive=PIT_KEEP_ALIVE, ignore_unavailable=True)
        return response["id"]
    except ApiError as exc:
        # Too many open PITs: later pages run on the live index (still no overlap, thanks to the
        # unique tiebreaker), rather than failing the search.
        if required:
            raise
        log.warning("point in time not opened (%s); paging on the live index", exc)
        return None


async def close_pit(es, pit_id: str) -> None:
    try:
        await es.close_point_in_time(id=pit_id)
    except Exception:  # it expires by itself
        pass


def page_body(page: Page, results: list[dict], **extra: Any) -> dict:
    body = {"total": page.total, "total_relation": page.total_relation, "count": len(results),
            "results": results, "next_cursor": page.next_cursor}
    body.update(extra)
    return body
