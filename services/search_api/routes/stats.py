"""Statistics: aggregate counts only, never persons (operations staff may read them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.search_api.indices import ALERTS_ALIAS, EVENTS_ALIAS
from services.search_api.queries import (alert_stats_body, buckets, check_period, crossing_stats_body,
                                         seizure_stats_body)
from services.search_api.routes import ERRORS, check_time_range, es_of
from services.search_api.security import STATS, Caller, require

router = APIRouter(tags=["statistics"])

Interval = Literal["hour", "day", "week", "month"]
DEFAULT_PERIOD = dt.timedelta(days=30)
PortList = Annotated[list[Annotated[str, Query(pattern=r"^[A-Za-z]{2}[A-Za-z2-9]{3}$")]] | None, Query(max_length=50)]
From = Annotated[dt.datetime | None, Query(alias="from", description="Default: 30 days before 'to'.")]
To = Annotated[dt.datetime | None, Query(alias="to", description="Default: now.")]


def period(start: dt.datetime | None, end: dt.datetime | None, interval: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = check_time_range(start, end)
    end = end or dt.datetime.now(dt.timezone.utc)
    start = start or end - DEFAULT_PERIOD
    try:
        check_period(start, end, interval)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return start, end


def _over_time(agg: dict, **subs) -> list[dict]:
    return [{"at": row.pop("key"), **row} for row in buckets(agg, **subs)]


def _window(start: dt.datetime, end: dt.datetime, interval: str) -> dict:
    return {"from": start.isoformat(), "to": end.isoformat(), "interval": interval}


def _statuses(rows: list[dict]) -> list[dict]:
    """Triage statuses in the API's spelling (the indexer files new alerts as "NEW")."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["key"].lower()] = counts.get(row["key"].lower(), 0) + row["count"]
    return [{"key": k, "count": n} for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]


@router.get("/v1/stats/seizures", responses=ERRORS, summary="Seizures by category, substance, port and period")
async def seizure_stats(request: Request, time_from: From = None, time_to: To = None, interval: Interval = "day",
                        port: PortList = None,
                        category: Annotated[str | None, Query(pattern=r"^[A-Za-z_]{2,40}$")] = None,
                        caller: Caller = Depends(require(*STATS))) -> dict:
    start, end = period(time_from, time_to, interval)
    body = seizure_stats_body(start, end, interval, tuple(sorted({p.upper() for p in port or ()})),
                              category.upper() if category else None)
    response = await es_of(request).search(index=EVENTS_ALIAS, ignore_unavailable=True, allow_no_indices=True,
                                           **body)
    aggs = response.get("aggregations") or {}
    if not aggs:
        return {**_window(start, end, interval), "total": 0, "by_category": [], "by_port": [], "by_substance": [],
                "over_time": []}
    substances = buckets(
        aggs["items"]["by_substance"],
        quantity=lambda b: {u["key"]: u["quantity"]["value"] for u in b["by_unit"]["buckets"]},
        estimated_value=lambda b: {c["key"]: round(c["amount"]["value"], 2) for c in b["by_currency"]["buckets"]})
    return {
        **_window(start, end, interval),
        "total": response["hits"]["total"]["value"],
        "by_category": buckets(aggs["by_category"]),
        "by_port": buckets(aggs["by_port"]),
        "by_substance": substances,
        "over_time": _over_time(aggs["over_time"], by_category=lambda b: {
            c["key"]: c["doc_count"] for c in b["by_category"]["buckets"]}),
    }


@router.get("/v1/stats/crossings", responses=ERRORS, summary="Crossings per port, mode and period")
async def crossing_stats(request: Request, time_from: From = None, time_to: To = None, interval: Interval = "day",
                         port: PortList = None, caller: Caller = Depends(require(*STATS))) -> dict:
    start, end = period(time_from, time_to, interval)
    body = crossing_stats_body(start, end, interval, tuple(sorted({p.upper() for p in port or ()})))
    response = await es_of(request).search(index=EVENTS_ALIAS, ignore_unavailable=True, allow_no_indices=True,
                                           **body)
    aggs = response.get("aggregations") or {}
    if not aggs:
        return {**_window(start, end, interval), "total": 0, "by_port": [], "by_mode": [], "over_time": []}
    return {
        **_window(start, end, interval),
        "total": response["hits"]["total"]["value"],
        "by_port": buckets(aggs["by_port"], by_direction=lambda b: {
            d["key"]: d["doc_count"] for d in b["by_direction"]["buckets"]}),
        "by_mode": buckets(aggs["by_mode"]),
        "over_time": _over_time(aggs["over_time"]),
    }


@router.get("/v1/stats/alerts", responses=ERRORS, summary="Alerts per watchlist, severity, status and period")
async def alert_stats(request: Request, time_from: From = None, time_to: To = None, interval: Interval = "day",
                      caller: Caller = Depends(require(*STATS))) -> dict:
    start, end = period(time_from, time_to, interval)
    response = await es_of(request).search(index=ALERTS_ALIAS, ignore_unavailable=True, allow_no_indices=True,
                                           **alert_stats_body(start, end, interval))
    aggs = response.get("aggregations") or {}
    if not aggs:
        return {**_window(start, end, interval), "total": 0, "by_source_list": [], "by_severity": [],
                "by_type": [], "by_status": [], "over_time": []}
    return {
        **_window(start, end, interval),
        "total": response["hits"]["total"]["value"],
        **{name: buckets(aggs[name]) for name in ("by_source_list", "by_severity", "by_type")},
        "by_status": _statuses(buckets(aggs["by_status"])),
        "over_time": _over_time(aggs["over_time"]),
    }
