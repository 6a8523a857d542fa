"""The audit trail, for admins. Read-only by design: the API has no route that changes or
deletes an audit record (reading it is itself audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.search_api.indices import AUDIT_ALIAS
from services.search_api.queries import AUDIT_SORT, AuditFilters, audit_query, fingerprint
from services.search_api.routes import ERRORS, audit_of, check_time_range, es_of, page_body, paged_search, source_of
from services.search_api.security import AUDIT, Caller, require

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", responses=ERRORS, summary="Audit records, newest first (admins)")
async def list_audit(
    request: Request,
    key_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Whose requests.")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z][a-z._]{0,63}$",
                                        description="e.g. events.search, alerts.view")] = None,
    time_from: Annotated[dt.datetime | None, Query(alias="from")] = None,
    time_to: Annotated[dt.datetime | None, Query(alias="to")] = None,
    size: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
    caller: Caller = Depends(require(*AUDIT)),
) -> dict:
    start, end = check_time_range(time_from, time_to)
    filters = AuditFilters(key_id=key_id, action=action, time_from=start, time_to=end)
    params = {"key_id": key_id, "action": action, "from": start, "to": end}
    page = await paged_search(es_of(request), index=AUDIT_ALIAS, query=audit_query(filters), sort=AUDIT_SORT,
                              size=size, cursor_token=cursor, fingerprint=fingerprint(params), pit_mode="always")
    results = [source_of(h) for h in page.hits]
    await audit_of(request).record(request, caller, "audit.list", {**params, "size": size, "cursor": bool(cursor)},
                                   results=len(results))
    return page_body(page, results)
