"""Alerts: list (newest first, cursor pages), view, and triage with a history of who did what."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Annotated, Literal

from elasticsearch import ConflictError, NotFoundError
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.search_api.indices import ALERTS_ALIAS
from services.search_api.queries import (ALERT_SORT, AlertFilters, alert_query, fingerprint, triage_update,
                                         with_triage_defaults)
from services.search_api.routes import ERRORS, audit_of, check_time_range, es_of, page_body, paged_search, source_of
from services.search_api.security import ALERT_READ, ALERT_TRIAGE, Caller, SafeJSONResponse, require

router = APIRouter(tags=["alerts"])

Status = Literal["new", "in_review", "confirmed", "false_positive", "escalated"]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
TRIAGE_ATTEMPTS = 20


class Triage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status = Field(description="The new status.")
    assignee: str | None = Field(None, min_length=1, max_length=100, description="Who works on it now.")
    note: str | None = Field(None, max_length=4000, description="Why; kept in the history.")


# Returned as a response, not a dict: no validating copy through the response model (see events).
@router.get("/v1/alerts", responses=ERRORS, response_model=dict, summary="Alerts, newest first")
async def list_alerts(
    request: Request,
    status: Annotated[list[Status] | None, Query(max_length=5)] = None,
    severity: Annotated[list[Severity] | None, Query(max_length=5)] = None,
    source_list: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    port: Annotated[list[Annotated[str, Query(pattern=r"^[A-Za-z]{2}[A-Za-z2-9]{3}$")]] | None,
                    Query(max_length=50)] = None,
    time_from: Annotated[dt.datetime | None, Query(alias="from", description="Created at or after.")] = None,
    time_to: Annotated[dt.datetime | None, Query(alias="to", description="Created before.")] = None,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
    caller: Caller = Depends(require(*ALERT_READ)),
) -> SafeJSONResponse:
    start, end = check_time_range(time_from, time_to)
    filters = AlertFilters(statuses=tuple(sorted(set(status or ()))), severities=tuple(sorted(set(severity or ()))),
                           source_list=source_list, ports=tuple(sorted({p.upper() for p in port or ()})),
                           time_from=start, time_to=end)
    params = {"status": filters.statuses, "severity": filters.severities, "source_list": source_list,
              "port": filters.ports, "from": start, "to": end}
    # Alerts are ordered by creation and have unique ids: no point in time is needed.
    page = await paged_search(es_of(request), index=ALERTS_ALIAS, query=alert_query(filters), sort=ALERT_SORT,
                              size=size, cursor_token=cursor, fingerprint=fingerprint(params), pit_mode="never")
    results = [with_triage_defaults(source_of(h)) for h in page.hits]
    ids = [r["id"] for r in results]
    await audit_of(request).record(request, caller, "alerts.list", {**params, "size": size, "cursor": bool(cursor)},
                                   results=len(ids), record_ids=ids)
    return SafeJSONResponse(page_body(page, results))


async def _get_alert(es, alert_id: str) -> dict | None:
    try:
        return await es.get(index=ALERTS_ALIAS, id=alert_id)
    except NotFoundError:
        return None


@router.get("/v1/alerts/{alert_id}", responses={**ERRORS, 404: {"description": "No such alert"}},
            summary="One alert with its triage history")
async def get_alert(request: Request, alert_id: AlertId, caller: Caller = Depends(require(*ALERT_READ))) -> dict:
    found = await _get_alert(es_of(request), alert_id)
    await audit_of(request).record(request, caller, "alerts.view", {"alert_id": alert_id},
                                   results=int(found is not None), record_ids=[alert_id] if found else [])
    if found is None:
        raise HTTPException(404, "no such alert")
    return with_triage_defaults(source_of(found))


@router.post("/v1/alerts/{alert_id}/triage", responses={**ERRORS, 404: {"description": "No such alert"},
                                                        409: {"description": "Too many concurrent updates"}},
             summary="Set an alert's status, assignee and note; appended to its history")
async def triage(request: Request, alert_id: AlertId, body: Triage,
                 caller: Caller = Depends(require(*ALERT_TRIAGE))) -> dict:
    es = es_of(request)
    # Optimistic concurrency: read, write only if nobody wrote in between, else read again.
    # Every concurrent triage lands in the history; none overwrites another.
    for attempt in range(TRIAGE_ATTEMPTS):
        found = await _get_alert(es, alert_id)
        if found is None:
            raise HTTPException(404, "no such alert")
        update = triage_update(found["_source"], body.status, body.assignee, body.note,
                               dt.datetime.now(dt.timezone.utc), by=caller.key_id, by_name=caller.name,
                               by_role=caller.role)
        try:
            await es.update(index=found["_index"], id=alert_id, doc=update, if_seq_no=found["_seq_no"],
                            if_primary_term=found["_primary_term"], refresh="wait_for")
        except ConflictError:
            await asyncio.sleep(random.uniform(0.005, 0.02 * (attempt + 1)))
            continue
        await audit_of(request).record(request, caller, "alerts.triage",
                                       {"alert_id": alert_id, "status": body.status, "assignee": body.assignee},
                                       results=1, record_ids=[alert_id])
        return with_triage_defaults({"id": alert_id, **found["_source"], **update})
    raise HTTPException(409, "the alert is being updated by others; try again")
