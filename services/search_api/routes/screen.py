"""Ad-hoc screening of FollowTheMoney entities against the watchlist, with the correlation
workers' matching engine. The engine's watchlist is loaded from the ``bh-watchlist`` index and
reloaded in the background when it is older than ``RELOAD_AFTER`` seconds."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Annotated, Any

from elasticsearch.helpers import async_scan
from fastapi import APIRouter, Body, Depends, HTTPException, Request

from services.ingest.watchlist import entries_from_ftm
from services.search_api.indices import WATCHLIST_ALIAS
from services.search_api.routes import ERRORS, audit_of
from services.search_api.security import SCREEN, Caller, require

log = logging.getLogger("borderhub.search_api")
router = APIRouter(tags=["screening"])

RELOAD_AFTER = 30.0
MAX_ENTITIES = 100
EXAMPLE = [{"id": "q1", "schema": "Person",
            "properties": {"name": ["Juan Example"], "birthDate": ["1970-01-01"], "nationality": ["mx"]}}]


class ScreeningWatchlist:
    """The engine with the indexed watchlist. Every ``RELOAD_AFTER`` seconds a cheap signature
    of the index (entry count, latest change) is compared, and the watchlist reloaded in the
    background only when it changed; the loaded copy keeps serving meanwhile."""

    def __init__(self, es):
        self.es = es
        self.matcher = None
        self.signature: tuple | None = None
        self.checked_at = 0.0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task | None = None

    async def get(self):
        if self.matcher is None:
            async with self._lock:
                if self.matcher is None:
                    await self._load()
        elif time.monotonic() - self.checked_at > RELOAD_AFTER and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.get_running_loop().create_task(self._reload_if_changed())
        return self.matcher

    async def _signature(self) -> tuple:
        response = await self.es.search(index=WATCHLIST_ALIAS, size=0, track_total_hits=True, ignore_unavailable=True,
                                        aggs={"latest": {"max": {"field": "updated_at"}}})
        return response["hits"]["total"]["value"], (response.get("aggregations") or {}).get("latest", {}).get("value")

    async def _reload_if_changed(self) -> None:
        try:
            if await self._signature() != self.signature:
                await self._load()
            self.checked_at = time.monotonic()
        except Exception:  # keep serving the loaded copy; try again on a later request
            log.exception("screening watchlist not reloaded")

    async def _load(self) -> None:
        try:
            from services.correlate.matching.engine import Matcher
        except ImportError:
            raise HTTPException(503, "screening engine not available") from None
        signature = await self._signature()
        entries = [hit["_source"] async for hit in async_scan(
            self.es, index=WATCHLIST_ALIAS, query={"query": {"match_all": {}}}, size=2000,
            _source_excludes=["biometric_templates.vector"], ignore_unavailable=True)]
        matcher = Matcher()
        await asyncio.to_thread(matcher.load, entries)
        self.matcher, self.signature, self.checked_at = matcher, signature, time.monotonic()
        log.info("screening watchlist loaded: %d entries", len(entries))


def _screen_one(matcher, entity: Any) -> dict:
    if not isinstance(entity, dict):
        return {"query_id": None, "error": "not a JSON object", "matches": []}
    query_id = entity.get("id")
    query_id = query_id if isinstance(query_id, str) else None
    try:
        parsed = list(entries_from_ftm([json.dumps(entity)], "query"))
    except Exception as exc:  # the converter is defensive; this is a last guard for odd input
        return {"query_id": query_id, "error": f"not a usable FtM entity: {type(exc).__name__}", "matches": []}
    if not parsed or parsed[0].error:
        return {"query_id": query_id, "error": parsed[0].error if parsed else "empty entity", "matches": []}
    if parsed[0].entry is None:
        return {"query_id": query_id, "error": f"an FtM {entity.get('schema')} cannot be screened", "matches": []}
    matches = matcher.screen_entity(entity)
    return {"query_id": query_id, "matches": [dataclasses.asdict(m) for m in matches]}


@router.post("/v1/screen", responses={**ERRORS, 503: {"description": "Screening engine or Elasticsearch "
                                                                     "not available"}},
             summary="Screen FollowTheMoney entities against the watchlist")
async def screen(request: Request,
                 entities: Annotated[list[Any], Body(max_length=MAX_ENTITIES, min_length=1,
                                                     description="FollowTheMoney entities (JSON objects).",
                                                     examples=[EXAMPLE])],
                 caller: Caller = Depends(require(*SCREEN))) -> dict:
    matcher = await request.app.state.screening.get()
    results = await asyncio.to_thread(lambda: [_screen_one(matcher, e) for e in entities])
    matched = [m["entry_id"] for r in results for m in r["matches"]]
    await audit_of(request).record(request, caller, "screen", {"entities": len(entities)}, results=len(matched),
                                   record_ids=matched)
    return {"results": results, "watchlist_entries": len(matcher)}
