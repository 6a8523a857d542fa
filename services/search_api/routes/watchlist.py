"""Watchlist administration. Writes go to the compacted watchlist topic (the correlation
workers and the indexer follow it); reads come from the index the indexer keeps."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Annotated, Any

from elasticsearch import NotFoundError
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from borderhub.avro import from_json
from borderhub.domain.events import check_watchlist_entry
from borderhub.kafka import make_async_producer
from borderhub.topics import WATCHLIST, ensure_topics
from services.ingest.watchlist import entries_from_ftm
from services.search_api.indices import WATCHLIST_ALIAS
from services.search_api.routes import ERRORS, audit_of, es_of
from services.search_api.security import WATCHLIST_READ, WATCHLIST_WRITE, Caller, SafeJSONResponse, require

log = logging.getLogger("borderhub.search_api")
router = APIRouter(tags=["watchlist"])

EntryId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", description="Watchlist entry id.")]
SourceList = Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                                  description="List an FtM entity is filed under (WatchlistEntry JSON "
                                              "names its own).")]
WRITE_RESPONSES = {**ERRORS, 202: {"description": "On the watchlist topic (Kafka acknowledged)"},
                   422: {"description": "Not a valid FtM entity or WatchlistEntry; every problem listed"},
                   503: {"description": "Kafka did not acknowledge"}}
ENTRY_EXAMPLES = {
    "ftm": {"summary": "A FollowTheMoney Person", "value": {
        "id": "example-person-1", "schema": "Person",
        "properties": {"name": ["Juan Example"], "birthDate": ["1970-01-01"], "nationality": ["mx"],
                       "passportNumber": ["X0000001"], "topics": ["wanted"]}}},
    "entry": {"summary": "A WatchlistEntry record", "value": {
        "entry_id": "example-doc-1", "kind": "DOCUMENT", "reason": "Reported stolen", "source_list": "example",
        "document_status": "STOLEN", "action_on_hit": "SEIZE_DOCUMENT",
        "identifiers": [{"scheme": "PASSPORT", "value": "X0000002", "country": "MX"}]}},
}
EntryBody = Annotated[dict[str, Any], Body(description="A FollowTheMoney entity (with `schema` and `properties`) "
                                                       "or a WatchlistEntry (schemas/watchlist_entry.avsc) as JSON.",
                                           openapi_examples=ENTRY_EXAMPLES)]


def problems_response(message: str, problems: list) -> JSONResponse:
    return SafeJSONResponse({"detail": message, "problems": [p.to_dict() for p in problems]}, status_code=422)


def entry_from_body(request: Request, body: dict[str, Any], source_list: str,
                    entry_id: str | None = None) -> dict | JSONResponse:
    """The WatchlistEntry datum the body describes, or the 422 answer saying what is wrong."""
    if "schema" in body:
        if entry_id is not None:
            body = {**body, "id": body.get("id") or entry_id}
        parsed = list(entries_from_ftm([json.dumps(body)], source_list))
        if not parsed or parsed[0].error:
            detail = parsed[0].error if parsed else "empty entity"
            return SafeJSONResponse({"detail": f"not a usable FtM entity: {detail}"}, status_code=422)
        if parsed[0].entry is None:
            return SafeJSONResponse({"detail": f"an FtM {body.get('schema')} lists nobody and nothing"},
                                    status_code=422)
        datum = parsed[0].entry
    else:
        obj = {"source_list": source_list, **body}
        obj.setdefault("updated_at", dt.datetime.now(dt.timezone.utc).isoformat())
        if entry_id is not None:
            obj.setdefault("entry_id", entry_id)
        datum, problems = from_json(request.app.state.codec.catalog.get("watchlist"), obj)
        if problems:
            return problems_response("not a WatchlistEntry", problems)
    problems = check_watchlist_entry(datum)
    if problems:
        return problems_response("watchlist entry rejected", problems)
    if entry_id is not None and datum["entry_id"] != entry_id:
        return SafeJSONResponse({"detail": f"entry id in the body ({datum['entry_id']}) differs from the URL"},
                                status_code=422)
    return datum


async def producer_of(request: Request):
    """The watchlist producer, started on first use (the API serves searches without Kafka)."""
    state = request.app.state
    async with state.producer_lock:
        if state.producer is None:
            settings = state.settings
            await asyncio.to_thread(ensure_topics, settings)
            producer = make_async_producer(settings, "borderhub-search-api")
            await producer.start()
            state.producer = producer
    return state.producer


async def publish(request: Request, entry_id: str, value: bytes | None) -> dict:
    settings = request.app.state.settings
    try:
        producer = await producer_of(request)
        meta = await asyncio.wait_for(producer.send_and_wait(WATCHLIST, key=entry_id.encode(), value=value),
                                      timeout=settings.ingest_produce_timeout)
    except Exception as exc:  # broker down, timeout, record too large
        log.warning("watchlist entry %s not published: %s", entry_id, exc)
        raise HTTPException(503, f"Kafka did not acknowledge the watchlist change: {type(exc).__name__}") from None
    return {"entry_id": entry_id, "topic": WATCHLIST, "partition": meta.partition, "offset": meta.offset}


async def _upsert(request: Request, caller: Caller, body: dict, source_list: str, entry_id: str | None):
    datum = entry_from_body(request, body, source_list, entry_id)
    if isinstance(datum, JSONResponse):
        return datum
    value = request.app.state.codec.encode("watchlist", datum)
    published = await publish(request, datum["entry_id"], value)
    await audit_of(request).record(request, caller, "watchlist.upsert",
                                   {"entry_id": datum["entry_id"], "source_list": datum["source_list"],
                                    "kind": datum["kind"]}, results=1, record_ids=[datum["entry_id"]], status=202)
    return SafeJSONResponse({**published, "operation": "upsert", "kind": datum["kind"],
                             "source_list": datum["source_list"]}, status_code=202)


@router.post("/v1/watchlist/entries", status_code=202, responses=WRITE_RESPONSES,
             summary="Add a watchlist entry (FtM entity or WatchlistEntry JSON)")
async def add_entry(request: Request, body: EntryBody, source_list: SourceList = "manual",
                    caller: Caller = Depends(require(*WATCHLIST_WRITE))):
    return await _upsert(request, caller, body, source_list, None)


@router.put("/v1/watchlist/entries/{entry_id}", status_code=202, responses=WRITE_RESPONSES,
            summary="Replace a watchlist entry")
async def replace_entry(request: Request, entry_id: EntryId, body: EntryBody, source_list: SourceList = "manual",
                        caller: Caller = Depends(require(*WATCHLIST_WRITE))):
    return await _upsert(request, caller, body, source_list, entry_id)


@router.delete("/v1/watchlist/entries/{entry_id}", status_code=202, responses=WRITE_RESPONSES,
               summary="Delete a watchlist entry (a tombstone on the compacted topic)")
async def delete_entry(request: Request, entry_id: EntryId, caller: Caller = Depends(require(*WATCHLIST_WRITE))):
    published = await publish(request, entry_id, None)
    await audit_of(request).record(request, caller, "watchlist.delete", {"entry_id": entry_id}, results=1,
                                   record_ids=[entry_id], status=202)
    return SafeJSONResponse({**published, "operation": "delete"}, status_code=202)


@router.get("/v1/watchlist/entries/{entry_id}", responses={**ERRORS, 404: {"description": "No such entry"}},
            summary="One watchlist entry as indexed")
async def get_entry(request: Request, entry_id: EntryId, caller: Caller = Depends(require(*WATCHLIST_READ))) -> dict:
    try:
        found = await es_of(request).get(index=WATCHLIST_ALIAS, id=entry_id,
                                         source_excludes=["biometric_templates.vector"])
    except NotFoundError:
        found = None
    await audit_of(request).record(request, caller, "watchlist.view", {"entry_id": entry_id},
                                   results=int(found is not None), record_ids=[entry_id] if found else [])
    if found is None:
        raise HTTPException(404, "no such watchlist entry")
    return {"id": found["_id"], **found["_source"]}
