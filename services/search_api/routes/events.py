"""Event search (full text, fuzzy names, filters, geo, facets, cursor pages) and event view."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from borderhub.domain.countries import canonical_country
from services.search_api.indices import EVENTS_ALIAS
from services.search_api.queries import (SOURCE_EXCLUDES, EventFilters, GeoBox, GeoRadius, event_query, event_sort,
                                         facet_aggs, facets_from, fingerprint)
from services.search_api.routes import ERRORS, audit_of, check_time_range, es_of, page_body, paged_search, source_of
from services.search_api.security import SEARCH, Caller, SafeJSONResponse, require

router = APIRouter(tags=["events"])

Kind = Literal["crossing", "seizure", "biometric"]
Locode = Annotated[str, Query(pattern=r"^[A-Za-z]{2}[A-Za-z2-9]{3}$")]
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


async def event_filters(  # async: no thread pool hand-off for pure validation (see security.require)
    q: Annotated[str | None, Query(min_length=1, max_length=200,
                                   description="Full text: fuzzy names and name prefixes, document numbers, "
                                               "plates, phones, case references, free-text fields.")] = None,
    kind: Annotated[list[Kind] | None, Query(max_length=3, description="Event kinds (repeatable).")] = None,
    port: Annotated[list[Annotated[str, Query(pattern=r"^[A-Za-z]{2}[A-Za-z2-9]{3}$")]] | None,
                    Query(max_length=50, description="UN/LOCODE of the port (repeatable).")] = None,
    time_from: Annotated[dt.datetime | None, Query(alias="from", description="Events at or after (ISO 8601).")] = None,
    time_to: Annotated[dt.datetime | None, Query(alias="to", description="Events before (ISO 8601).")] = None,
    nationality: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2,3}$",
                                             description="ISO 3166 alpha-2 or alpha-3.")] = None,
    document: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9<\- ]{1,40}$", description="Document number.")] = None,
    category: Annotated[str | None, Query(pattern=r"^[A-Za-z_]{2,40}$",
                                          description="Seizure category, e.g. NARCOTICS.")] = None,
    substance: Annotated[str | None, Query(min_length=1, max_length=80, description="Seized substance.")] = None,
    plate: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9\- .]{1,20}$", description="Vehicle plate.")] = None,
    vessel: Annotated[str | None, Query(min_length=1, max_length=100,
                                        description="IMO number, MMSI or vessel name.")] = None,
    flight: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9 ]{2,10}$", description="Flight number.")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Radius centre latitude.")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Radius centre longitude.")] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=20000, description="Radius in kilometres.")] = None,
    top: Annotated[float | None, Query(ge=-90, le=90, description="Box: northern latitude.")] = None,
    left: Annotated[float | None, Query(ge=-180, le=180, description="Box: western longitude.")] = None,
    bottom: Annotated[float | None, Query(ge=-90, le=90, description="Box: southern latitude.")] = None,
    right: Annotated[float | None, Query(ge=-180, le=180, description="Box: eastern longitude.")] = None,
) -> EventFilters:
    """The search filters every event endpoint shares (search and exports)."""
    start, end = check_time_range(time_from, time_to)
    radius = box = None
    geo_radius = (lat, lon, radius_km)
    if any(v is not None for v in geo_radius):
        if any(v is None for v in geo_radius):
            raise HTTPException(400, "a radius needs lat, lon and radius_km")
        radius = GeoRadius(lat, lon, radius_km)
    geo_box = (top, left, bottom, right)
    if any(v is not None for v in geo_box):
        if any(v is None for v in geo_box):
            raise HTTPException(400, "a box needs top, left, bottom and right")
        if top < bottom:
            raise HTTPException(400, "box top must be north of bottom")
        box = GeoBox(top, left, bottom, right)
    country = None
    if nationality:
        country = canonical_country(nationality.upper())
        if country is None:
            raise HTTPException(400, f"unknown country code {nationality!r}")
    return EventFilters(
        q=(q.strip() or None) if q else None, kinds=tuple(sorted(set(kind or ()))),
        ports=tuple(sorted({p.upper() for p in port or ()})), time_from=start, time_to=end, nationality=country,
        document=document, category=category.upper() if category else None, substance=substance,
        plate=plate, vessel=vessel, flight=flight, radius=radius, box=box)


def filter_params(f: EventFilters) -> dict:
    """The filters as plain values, for cursor fingerprints and the audit."""
    params = asdict(f)
    for name in ("radius", "box"):
        if params[name] is not None:
            params[name] = ",".join(str(v) for v in params[name].values())
    return params


# The answer is returned as a response, not a dict: FastAPI would otherwise validate and copy
# every value of it through the response model (dict) first, a millisecond of CPU per search.
@router.get("/v1/events/search", responses=ERRORS, response_model=dict,
            summary="Search events: full text, fuzzy names, filters, geo, facets, cursor pages")
async def search_events(
    request: Request,
    filters: EventFilters = Depends(event_filters),
    sort: Annotated[Literal["time_desc", "time_asc", "relevance"] | None,
                    Query(description="Default: relevance with q, else time_desc.")] = None,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=8192, description="next_cursor of the previous page.")] = None,
    facets: Annotated[bool, Query(description="Counts by kind, port, category and nationality.")] = False,
    caller: Caller = Depends(require(*SEARCH)),
) -> SafeJSONResponse:
    order = sort or ("relevance" if filters.q else "time_desc")
    params = {**filter_params(filters), "sort": order}
    page = await paged_search(
        es_of(request), index=EVENTS_ALIAS, query=event_query(filters), sort=event_sort(order), size=size,
        cursor_token=cursor, fingerprint=fingerprint(params), aggs=facet_aggs() if facets else None)
    # No source_excludes here: filtering made Elasticsearch parse and rewrite every hit's source,
    # a fifth of a search's CPU. The mapping keeps vectors out of _source and SafeJSONResponse
    # strips whatever a document holds anyway.
    results = []
    for hit in page.hits:
        result = source_of(hit)
        if order == "relevance":
            result["score"] = hit.get("_score") or hit["sort"][0]
        results.append(result)
    ids = [r["id"] for r in results]
    await audit_of(request).record(request, caller, "events.search",
                                   {**params, "size": size, "cursor": bool(cursor), "facets": facets},
                                   results=len(ids), record_ids=ids)
    extra = {"facets": facets_from(page.aggregations)} if facets and not cursor else {}
    return SafeJSONResponse(page_body(page, results, **extra))


@router.get("/v1/events/{event_id}", responses={**ERRORS, 404: {"description": "No such event"}},
            summary="One event")
async def get_event(request: Request, event_id: Annotated[str, Path(pattern=EVENT_ID_PATTERN)],
                    caller: Caller = Depends(require(*SEARCH))) -> dict:
    response = await es_of(request).search(
        index=EVENTS_ALIAS, query={"ids": {"values": [event_id]}}, size=1, ignore_unavailable=True,
        allow_no_indices=True, source_excludes=SOURCE_EXCLUDES)
    hits = response["hits"]["hits"]
    await audit_of(request).record(request, caller, "events.view", {"event_id": event_id},
                                   results=len(hits), record_ids=[h["_id"] for h in hits])
    if not hits:
        raise HTTPException(404, "no such event")
    return source_of(hits[0])
