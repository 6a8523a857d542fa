"""The investigators' search API and the operations dashboard (``borderhub search-api``).

Routers live in ``routes/``; who may call what, rate limits, the audit log and the removal of
biometric templates from every answer in ``security.py``; Elasticsearch request bodies in
``queries.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from elasticsearch.serializer import OrjsonSerializer
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from borderhub.avro import AvroCodec, SchemaCatalog, SchemaRegistryClient
from borderhub.gc_tuning import freeze_start_up_objects
from borderhub.keys import KeyStore
from borderhub.settings import Settings, get_settings
from services.search_api import es_setup
from services.search_api.routes import alerts, audit, dashboard, entities, events, exports, screen, stats, watchlist
from services.search_api.security import AuditLog, Guard, RateLimiter, SafeJSONResponse

log = logging.getLogger("borderhub.search_api")

REQUEST_SECONDS = Histogram("borderhub_search_request_seconds", "Search API latency to the first response byte",
                            ["route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
REQUESTS = Counter("borderhub_search_requests_total", "Search API requests", ["route", "status"])
SETUP_RETRY_SECONDS = 5.0


class MetricsMiddleware:
    """Latency per route template (not per URL, so ids do not explode the label set), measured
    to the start of the response: streams (exports, dashboard) count their time to first byte."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_and_measure(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                REQUEST_SECONDS.labels(_route(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_and_measure)
        finally:
            REQUESTS.labels(_route(scope), str(status)).inc()


def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


async def _ensure_indices(app: FastAPI, settings: Settings) -> None:
    """Index templates and aliases; retried in the background while Elasticsearch is away."""
    client = es_setup.make_client(settings)
    try:
        while True:
            try:
                await asyncio.to_thread(es_setup.ensure_indices, client, settings)
                app.state.indices_ready = True
                log.info("Elasticsearch indices ready")
                return
            except Exception as exc:
                log.warning("Elasticsearch not ready (%s); retrying in %.0f s", exc, SETUP_RETRY_SECONDS)
                await asyncio.sleep(SETUP_RETRY_SECONDS)
    finally:
        client.close()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The offending input is not echoed back: it may hold a template or personal data.
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return SafeJSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(TransportError)
    async def es_unreachable(request: Request, exc: TransportError) -> JSONResponse:
        log.warning("Elasticsearch unreachable: %s", exc)
        return SafeJSONResponse({"detail": "search backend unavailable"}, status_code=503,
                                headers={"Retry-After": "5"})

    @app.exception_handler(ApiError)
    async def es_error(request: Request, exc: ApiError) -> JSONResponse:
        status = exc.meta.status
        if status == 400:
            log.warning("Elasticsearch rejected a request for %s: %s", request.url.path, exc.message)
            return SafeJSONResponse({"detail": "the search could not be run with these parameters"}, status_code=400)
        if status in (429, 503):
            return SafeJSONResponse({"detail": "search backend busy"}, status_code=503, headers={"Retry-After": "2"})
        log.error("Elasticsearch error for %s: %s", request.url.path, exc)
        return SafeJSONResponse({"detail": "search backend error"}, status_code=502)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        es = AsyncElasticsearch(settings.es_url, request_timeout=30, max_retries=2, retry_on_timeout=True,
                                retry_on_status=(502, 503, 504), serializer=OrjsonSerializer())
        app.state.indices_ready = False
        setup = asyncio.get_running_loop().create_task(_ensure_indices(app, settings))
        registry = SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
        state = app.state
        state.settings = settings
        state.es = es
        state.guard = Guard(KeyStore(settings.keys_file), RateLimiter(settings.api_rate_limit_per_minute))
        state.audit = AuditLog(es)
        state.codec = AvroCodec(SchemaCatalog(settings.schemas_dir), registry)
        state.producer, state.producer_lock = None, asyncio.Lock()
        state.screening = screen.ScreeningWatchlist(es)
        state.dashboard = dashboard.DashboardMonitor(settings, es)
        log.info("search API ready on %s:%s", settings.api_host, settings.api_port)
        freeze_start_up_objects()  # each answer builds thousands of short-lived containers
        try:
            yield
        finally:
            setup.cancel()
            await state.audit.close()
            await state.dashboard.close()
            if state.producer is not None:
                await state.producer.stop()
            await es.close()

    app = FastAPI(
        title="borderhub search API",
        version="1",
        description="Investigators search events, follow entities and networks, triage alerts and screen "
                    "FollowTheMoney entities; analysts and operations read statistics; the operations dashboard "
                    "is at /dashboard. Every call needs an `X-API-Key` (from `borderhub keys create`); every "
                    "search and record view is audited.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.add_middleware(MetricsMiddleware)
    _install_error_handlers(app)

    # Exports before events: /v1/events/export.csv must not be read as an event id.
    for module in (exports, events, entities, alerts, stats, screen, watchlist, audit, dashboard):
        app.include_router(module.router)
    app.mount("/dashboard/static", StaticFiles(directory=dashboard.STATIC_DIR), name="dashboard-static")

    @app.get("/healthz", tags=["operations"],
             responses={503: {"description": "Elasticsearch unreachable or its indices not set up yet"}})
    async def healthz(request: Request) -> JSONResponse:
        """Whether Elasticsearch answers and the indices are set up (no key needed)."""
        ready = request.app.state.indices_ready
        try:
            health = await request.app.state.es.options(request_timeout=3).cluster.health(timeout="2s")
            ok = health["status"] in ("green", "yellow") and ready
            body = {"status": "ok" if ok else "degraded", "elasticsearch": health["status"],
                    "indices": "ready" if ready else "pending"}
        except Exception as exc:
            ok = False
            body = {"status": "degraded", "elasticsearch": f"unreachable: {type(exc).__name__}",
                    "indices": "ready" if ready else "pending"}
        return SafeJSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
