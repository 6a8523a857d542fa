"""Exports of an event search as CSV or GeoJSON: the search's filters, streamed page by page
inside one point in time, capped at ``MAX_ROWS``."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Annotated, Any, AsyncIterator, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from services.search_api.indices import EVENTS_ALIAS
from services.search_api.queries import SOURCE_EXCLUDES, EventFilters, event_query, event_sort
from services.search_api.routes import ERRORS, PIT_KEEP_ALIVE, audit_of, close_pit, es_of, open_pit
from services.search_api.routes.events import event_filters, filter_params
from services.search_api.security import EXPORT, Caller, require, strip_vectors

router = APIRouter(tags=["exports"])

MAX_ROWS = 50_000
PAGE = 1000
COLUMNS = ("event_id", "kind", "timestamp", "port_locode", "port_name", "lat", "lon", "names", "nationalities",
           "document_numbers", "plates", "phones", "category", "substances", "flight_number", "vessel_imo",
           "vessel_name", "direction", "mode", "source_system")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); plain
# numbers (longitudes, E.164 phones) are left alone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def position(source: dict) -> tuple[float, float] | None:
    """(lat, lon) of where the event happened, else of its port."""
    for name in ("location", "port_location"):
        point = source.get(name)
        if isinstance(point, dict) and point.get("lat") is not None and point.get("lon") is not None:
            return float(point["lat"]), float(point["lon"])
    return None


def export_row(source: dict) -> dict[str, Any]:
    """The flat record of one event, shared by both formats. Identifiers only, no biometrics."""
    conveyance = source.get("conveyance") or {}
    where = position(source)
    return {
        "event_id": source.get("event_id"), "kind": source.get("kind"), "timestamp": source.get("@timestamp"),
        "port_locode": source.get("port_locode"), "port_name": source.get("port_name"),
        "lat": where[0] if where else None, "lon": where[1] if where else None,
        "names": source.get("names") or [], "nationalities": source.get("nationalities") or [],
        "document_numbers": source.get("document_numbers") or [], "plates": source.get("plates") or [],
        "phones": source.get("phones") or [], "category": source.get("category"),
        "substances": sorted({i["substance"] for i in source.get("items") or () if i.get("substance")}),
        "flight_number": conveyance.get("flight_number"), "vessel_imo": conveyance.get("vessel_imo"),
        "vessel_name": conveyance.get("vessel_name"), "direction": source.get("direction"),
        "mode": source.get("mode"), "source_system": source.get("source_system"),
    }


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text) else text


def csv_line(values) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def geojson_feature(source: dict) -> dict:
    row = export_row(source)
    lat, lon = row.pop("lat"), row.pop("lon")
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
    return {"type": "Feature", "id": row["event_id"], "geometry": geometry, "properties": row}


async def _pages(es, pit_id: str, first: dict, query: dict, sort: list, limit: int) -> AsyncIterator[dict]:
    """Sources of every hit up to ``limit``, following ``first`` page by page."""
    response, sent = first, 0
    try:
        while True:
            hits = response["hits"]["hits"]
            for hit in hits:
                if sent >= limit:
                    return
                sent += 1
                yield strip_vectors(hit["_source"])
            if len(hits) < PAGE or sent >= limit:
                return
            response = await es.search(pit={"id": response.get("pit_id", pit_id), "keep_alive": PIT_KEEP_ALIVE},
                                       query=query, sort=sort, size=PAGE, search_after=hits[-1]["sort"][:len(sort)],
                                       track_total_hits=False, source_excludes=SOURCE_EXCLUDES)
    finally:
        await close_pit(es, response.get("pit_id", pit_id))


async def _export(request: Request, filters: EventFilters, order: str, limit: int, caller: Caller, fmt: str):
    es = es_of(request)
    query, sort = event_query(filters), event_sort(order)
    pit_id = await open_pit(es, EVENTS_ALIAS)
    first = await es.search(pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}, query=query, sort=sort, size=PAGE,
                            track_total_hits=limit, source_excludes=SOURCE_EXCLUDES)
    total = min(first["hits"]["total"]["value"], limit)
    # The audit is written before the first byte: no record, no export.
    await audit_of(request).record(request, caller, f"events.export.{fmt}",
                                   {**filter_params(filters), "sort": order, "limit": limit}, results=total,
                                   record_ids=[h["_id"] for h in first["hits"]["hits"]])
    return _pages(es, pit_id, first, query, sort, limit)


ExportSort = Annotated[Literal["time_desc", "time_asc"], Query()]
Limit = Annotated[int, Query(ge=1, le=MAX_ROWS, description=f"Most rows (at most {MAX_ROWS}).")]


@router.get("/v1/events/export.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
            response_class=StreamingResponse, summary="An event search as CSV")
async def export_csv(request: Request, filters: EventFilters = Depends(event_filters), sort: ExportSort = "time_desc",
                     limit: Limit = MAX_ROWS, caller: Caller = Depends(require(*EXPORT))):
    sources = await _export(request, filters, sort, limit, caller, "csv")

    async def body():
        yield csv_line(COLUMNS)
        async for source in sources:
            row = export_row(source)
            yield csv_line([csv_cell(row[c]) for c in COLUMNS])

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="events.csv"'})


@router.get("/v1/events/export.geojson", responses={**ERRORS, 200: {"content": {"application/geo+json": {}}}},
            response_class=StreamingResponse, summary="An event search as a GeoJSON FeatureCollection")
async def export_geojson(request: Request, filters: EventFilters = Depends(event_filters),
                         sort: ExportSort = "time_desc", limit: Limit = MAX_ROWS,
                         caller: Caller = Depends(require(*EXPORT))):
    sources = await _export(request, filters, sort, limit, caller, "geojson")

    async def body():
        yield '{"type":"FeatureCollection","features":['
        first = True
        async for source in sources:
            yield ("" if first else ",") + json.dumps(geojson_feature(source), separators=(",", ":"))
            first = False
        yield "]}"

    return StreamingResponse(body(), media_type="application/geo+json",
                             headers={"Content-Disposition": 'attachment; filename="events.geojson"'})
