"""The ingest gateway: port-of-entry systems POST events (JSON or Avro); each valid event is
answered 202 only after Kafka acknowledged it (acks=all, idempotent producer)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from borderhub.avro import AvroCodec, SchemaCatalog, SchemaRegistryClient
from borderhub.kafka import kafka_reachable, make_async_producer
from borderhub.keys import ApiKey, KeyStore
from borderhub.settings import Settings, get_settings
from borderhub.topics import EVENT_TOPICS, ensure_topics
from services.ingest.validation import EventValidator, Outcome

log = logging.getLogger("borderhub.ingest")

EVENTS = Counter("borderhub_ingest_events_total", "Events received by the gateway", ["kind", "outcome"])
REQUEST_SECONDS = Histogram("borderhub_ingest_request_seconds", "Gateway request latency", ["kind", "mode"])
PRODUCE_SECONDS = Histogram("borderhub_kafka_produce_seconds", "Time from send to Kafka acknowledgement")

Kind = Literal["crossings", "seizures", "biometrics"]
PUBLISH_ROLES = {"producer", "admin"}
# Tells workers the gateway already checked the event's meaning (they check other records).
VALIDATED = [("borderhub-validated", b"ingest")]
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Key from `borderhub keys create`.")


def problem_body(message: str, problems: list) -> dict:
    return {"detail": message, "problems": [p.to_dict() for p in problems]}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = KeyStore(settings.keys_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        registry = SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
        codec = AvroCodec(SchemaCatalog(settings.schemas_dir), registry)
        await asyncio.to_thread(ensure_topics, settings)
        producer = make_async_producer(settings, "borderhub-ingest")
        await producer.start()
        app.state.validator = EventValidator(codec)
        app.state.producer = producer
        log.info("ingest gateway ready on %s:%s", settings.ingest_host, settings.ingest_port)
        try:
            yield
        finally:
            # Flush what is in flight before exiting.
            await producer.stop()

    app = FastAPI(
        title="borderhub ingest gateway",
        version="1",
        description="Port-of-entry systems publish crossing, seizure and biometric events here, as JSON or "
                    "Avro (single-object encoding or Confluent framing). A 202 means Kafka has the event.",
        lifespan=lifespan,
    )

    def authorise(token: str | None = Depends(api_key_header)) -> ApiKey:
        key = keys.verify(token)
        if key is None:
            raise HTTPException(401, "missing or invalid X-API-Key", headers={"WWW-Authenticate": "API-Key"})
        if key.role not in PUBLISH_ROLES:
            raise HTTPException(403, f"role {key.role} may not publish events")
        return key

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        limit = settings.ingest_max_body_bytes
        if declared and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def publish(kind: str, outcomes: list[Outcome]) -> list[Exception | None]:
        """Send the accepted outcomes and wait for every acknowledgement."""
        producer = app.state.producer
        started = time.perf_counter()
        futures = []
        for o in outcomes:
            try:
                futures.append(await producer.send(EVENT_TOPICS[kind], value=o.value, key=o.key,
                                                   headers=VALIDATED))
            except Exception as exc:  # record too large, producer stopping
                futures.append(asyncio.get_running_loop().create_future())
                futures[-1].set_exception(exc)
        results = await asyncio.gather(*futures, return_exceptions=True)
        PRODUCE_SECONDS.observe(time.perf_counter() - started)
        return [r if isinstance(r, Exception) else None for r in results]

    def check_content_type(request: Request) -> None:
        from services.ingest.validation import NDJSON_TYPES, media_type
        mtype = media_type(request.headers.get("content-type"))
        if mtype not in ("application/json", "application/vnd.apache.avro", *NDJSON_TYPES):
            raise HTTPException(415, f"unsupported content type {mtype}; use application/json, "
                                     "application/x-ndjson or application/vnd.apache.avro")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        connected = hasattr(app.state, "producer") and await asyncio.to_thread(kafka_reachable, settings)
        body = {"status": "ok" if connected else "degraded", "kafka": "connected" if connected else "unreachable"}
        return JSONResponse(body, status_code=200 if connected else 503)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/events/{kind}", status_code=202, tags=["events"],
              responses={202: {"description": "On Kafka"}, 401: {}, 403: {}, 413: {}, 415: {},
                         422: {"description": "Every problem found"}, 503: {"description": "Kafka unavailable"}})
    async def post_event(request: Request, kind: Kind = Path(description="crossings, seizures or biometrics"),
                         key: ApiKey = Depends(authorise)) -> JSONResponse:
        """One event as a JSON object or one Avro record."""
        check_content_type(request)
        with REQUEST_SECONDS.labels(kind, "single").time():
            body = await read_body(request)
            outcome = app.state.validator.single(kind, body, request.headers.get("content-type"), key)
            if not outcome.accepted:
                EVENTS.labels(kind, "rejected").inc()
                status = 403 if all(p.code == "port_forbidden" for p in outcome.problems) else 422
                return JSONResponse(problem_body("event rejected", outcome.problems), status_code=status)
            (error,) = await publish(kind, [outcome])
            if error is not None:
                EVENTS.labels(kind, "failed").inc()
                log.warning("Kafka did not acknowledge %s: %s", outcome.event_id, error)
                return JSONResponse({"detail": f"Kafka did not acknowledge the event: {error}"}, status_code=503)
            EVENTS.labels(kind, "accepted").inc()
            return JSONResponse({"ids": [outcome.event_id]}, status_code=202)

    @app.post("/v1/events/{kind}/batch", tags=["events"],
              responses={202: {"description": "All on Kafka"}, 207: {"description": "Some accepted, see results"},
                         401: {}, 403: {}, 413: {}, 415: {}, 422: {"description": "None accepted"}})
    async def post_batch(request: Request, kind: Kind = Path(description="crossings, seizures or biometrics"),
                         key: ApiKey = Depends(authorise)) -> JSONResponse:
        """Many events: NDJSON lines, a JSON array, or Avro records back to back. Valid ones are
        published; the answer lists every record's result."""
        check_content_type(request)
        with REQUEST_SECONDS.labels(kind, "batch").time():
            body = await read_body(request)
            outcomes = await asyncio.to_thread(
                app.state.validator.batch, kind, body, request.headers.get("content-type"), key)
            if len(outcomes) > settings.ingest_max_batch_records:
                raise HTTPException(413, f"more than {settings.ingest_max_batch_records} records in one batch")
            accepted = [o for o in outcomes if o.accepted]
            errors = await publish(kind, accepted) if accepted else []
            failed = {o.index: e for o, e in zip(accepted, errors) if e is not None}
            results, ids = [], []
            for o in outcomes:
                if not o.accepted:
                    results.append({"index": o.index, "status": "rejected",
                                    "problems": [p.to_dict() for p in o.problems]})
                elif o.index in failed:
                    results.append({"index": o.index, "status": "failed", "id": o.event_id,
                                    "detail": f"Kafka did not acknowledge: {failed[o.index]}"})
                else:
                    results.append({"index": o.index, "status": "accepted", "id": o.event_id})
                    ids.append(o.event_id)
            counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "rejected", "failed")}
            for outcome_name, n in counts.items():
                if n:
                    EVENTS.labels(kind, outcome_name).inc(n)
            if counts["failed"] and not counts["accepted"]:
                status = 503
            elif counts["accepted"] == len(results) and results:
                status = 202
            elif counts["accepted"]:
                status = 207
            else:
                status = 422
            return JSONResponse({"ids": ids, "counts": counts, "results": results}, status_code=status)

    return app
