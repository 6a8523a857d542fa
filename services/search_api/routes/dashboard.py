"""The operations dashboard: a static page (``/dashboard``) fed by server-sent events.

One ``DashboardMonitor`` per process samples every ``INTERVAL`` seconds, while someone watches:
Kafka end offsets (events per second per topic) and committed offsets (consumer lag per
group), alerts per minute and the latest alerts, events per port over the last hour, and the
health of every component. Every viewer gets the same snapshot. Nothing here names a person:
operations staff see flows, not people.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, StreamingResponse

from borderhub.domain.ports import known_ports
from borderhub.settings import Settings
from borderhub.topics import ALERTS, BIOMETRICS, CROSSINGS, DEADLETTER, LINKS, SEIZURES, WATCHLIST
from services.search_api.indices import ALERTS_ALIAS, EVENTS_ALIAS
from services.search_api.queries import iso
from services.search_api.routes import ERRORS
from services.search_api.security import DASHBOARD, Caller, require

log = logging.getLogger("borderhub.search_api")
router = APIRouter(tags=["dashboard"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INTERVAL = 2.0
IDLE_STOP = 60.0  # stop sampling this long after the last viewer left
TOPICS = (CROSSINGS, SEIZURES, BIOMETRICS, WATCHLIST, ALERTS, LINKS, DEADLETTER)
GROUPS = ("borderhub-indexer", "borderhub-correlate")
ALERT_FIELDS = ["alert_id", "created_at", "severity", "alert_type", "event_kind", "source_list", "port_locode",
                "status", "rule", "action_on_hit"]  # deliberately not "subject": no names on this screen
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# --- Kafka -----------------------------------------------------------------------------------------

class KafkaSampler:
    """End offsets of the hub's topics and committed offsets of the workers' groups
    (kafka-python, called from a worker thread)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap.split(",")
        self._consumer = None
        self._admin = None

    def _clients(self):
        from kafka import KafkaAdminClient, KafkaConsumer
        if self._consumer is None:
            self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                           client_id="borderhub-dashboard", request_timeout_ms=5000)
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="borderhub-dashboard",
                                           request_timeout_ms=5000)
        return self._consumer, self._admin

    def sample(self) -> dict:
        from kafka import TopicPartition
        try:
            consumer, admin = self._clients()
            known = consumer.topics()
            partitions = [TopicPartition(t, p) for t in TOPICS if t in known
                          for p in sorted(consumer.partitions_for_topic(t) or ())]
            end = consumer.end_offsets(partitions) if partitions else {}
            ends = {t: sum(o for tp, o in end.items() if tp.topic == t) for t in TOPICS if t in known}
            lag = {}
            for group, committed in self._committed(admin).items():
                per_topic: dict[str, int] = {}
                for tp, meta in committed.items():
                    if tp in end and meta.offset >= 0:
                        per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, end[tp] - meta.offset)
                lag[group] = {"known": bool(committed), "total": sum(per_topic.values()), "topics": per_topic}
            return {"ok": True, "ends": ends, "lag": lag}
        except Exception as exc:  # broker down or restarting: report it, reconnect next time
            self.close()
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}

    @staticmethod
    def _committed(admin) -> dict:
        """group -> {TopicPartition: OffsetAndMetadata}; kafka-python 3 fetches all groups in
        one call, 2.x one group at a time."""
        if hasattr(admin, "list_group_offsets"):
            return admin.list_group_offsets({group: None for group in GROUPS})
        return {group: admin.list_consumer_group_offsets(group) for group in GROUPS}

    def close(self) -> None:
        for client in (self._consumer, self._admin):
            try:
                if client is not None:
                    client.close()
            except Exception:
                pass
        self._consumer = self._admin = None


def topic_rates(ends: dict[str, int], previous: dict[str, int] | None, seconds: float) -> list[dict]:
    """Events per second per topic from two samples of end offsets."""
    rows = []
    for topic in TOPICS:
        if topic not in ends:
            continue
        rate = None
        if previous and topic in previous and seconds > 0:
            rate = round(max(0, ends[topic] - previous[topic]) / seconds, 2)
        rows.append({"topic": topic, "end_offset": ends[topic], "per_second": rate})
    return rows


# --- the monitor -----------------------------------------------------------------------------------

def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


class DashboardMonitor:
    def __init__(self, settings: Settings, es):
        self.settings = settings
        self.es = es
        self.kafka = KafkaSampler(settings.kafka_bootstrap)
        self.snapshot: dict | None = None
        self.version = 0
        self.viewers = 0
        self.last_viewed = time.monotonic()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._previous: tuple[float, dict[str, int]] | None = None
        self._http = httpx.AsyncClient(timeout=1.5)

    def ensure_running(self) -> None:
        self.last_viewed = time.monotonic()
        if self._task is None or self._task.done():
            self._previous = None  # rates restart from a fresh sample
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self.viewers > 0 or time.monotonic() - self.last_viewed < IDLE_STOP:
            started = time.monotonic()
            try:
                snapshot = await self.collect()
            except Exception:  # a bug in one sample must not end the feed
                log.exception("dashboard sample failed")
            else:
                async with self._changed:
                    self.snapshot, self.version = snapshot, self.version + 1
                    self._changed.notify_all()
            await asyncio.sleep(max(0.1, INTERVAL - (time.monotonic() - started)))

    async def wait_for(self, version: int, timeout: float) -> dict | None:
        """The first snapshot newer than ``version``, or None after ``timeout`` seconds."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > version), timeout)
            except asyncio.TimeoutError:
                return None
            return self.snapshot

    async def collect(self) -> dict:
        kafka_task = asyncio.to_thread(self.kafka.sample)
        alerts, ports, es_health, kafka, services = await asyncio.gather(
            self._alerts(), self._ports(), self._es_health(), kafka_task, self._services(), return_exceptions=True)
        now = time.monotonic()
        topics, lag = [], []
        if isinstance(kafka, dict) and kafka.get("ok"):
            previous = self._previous
            topics = topic_rates(kafka["ends"], previous[1] if previous else None,
                                 now - previous[0] if previous else 0)
            self._previous = (now, kafka["ends"])
            lag = [{"group": g, **v} for g, v in kafka["lag"].items()]
        kafka_up = isinstance(kafka, dict) and kafka.get("ok")
        health = [
            {"component": "kafka", "status": "up" if kafka_up else "down",
             "detail": self.settings.kafka_bootstrap if kafka_up else _error(kafka)},
            es_health if isinstance(es_health, dict) else {"component": "elasticsearch", "status": "down",
                                                           "detail": _error(es_health)},
            {"component": "search-api", "status": "up", "detail": "serving this page"},
            *(services if isinstance(services, list) else []),
        ]
        return {
            "at": iso(dt.datetime.now(dt.timezone.utc)),
            "interval_seconds": INTERVAL,
            "topics": topics,
            "lag": lag,
            "alerts": alerts if isinstance(alerts, dict) else {"error": _error(alerts)},
            "ports": ports if isinstance(ports, list) else [],
            "health": health,
        }

    async def _alerts(self) -> dict:
        response = await self.es.search(
            index=ALERTS_ALIAS, size=10, sort=[{"created_at": "desc"}], source_includes=ALERT_FIELDS,
            ignore_unavailable=True, allow_no_indices=True, track_total_hits=False,
            aggs={"recent": {"filter": {"range": {"created_at": {"gte": "now-30m/m"}}}, "aggs": {
                "per_minute": {"date_histogram": {"field": "created_at", "fixed_interval": "1m", "min_doc_count": 0,
                                                  "extended_bounds": {"min": "now-30m/m", "max": "now/m"}}},
                "last_minute": {"filter": {"range": {"created_at": {"gte": "now-1m"}}}}}}})
        recent = (response.get("aggregations") or {}).get("recent")
        per_minute = [{"at": b["key_as_string"], "count": b["doc_count"]}
                      for b in recent["per_minute"]["buckets"]] if recent else []
        latest = []
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            latest.append({name: source.get(name) for name in ALERT_FIELDS}
                          | {"status": (source.get("status") or "new").lower()})
        return {"last_minute": recent["last_minute"]["doc_count"] if recent else 0, "per_minute": per_minute,
                "latest": latest}

    async def _ports(self) -> list[dict]:
        response = await self.es.search(
            index=EVENTS_ALIAS, size=0, ignore_unavailable=True, allow_no_indices=True, track_total_hits=False,
            query={"range": {"@timestamp": {"gte": "now-1h"}}},
            aggs={"ports": {"terms": {"field": "port_locode", "size": 500},
                            "aggs": {"kinds": {"terms": {"field": "kind", "size": 3}}}}})
        buckets = ((response.get("aggregations") or {}).get("ports") or {}).get("buckets", [])
        rows = []
        for b in buckets:
            kinds = {k["key"]: k["doc_count"] for k in b["kinds"]["buckets"]}
            rows.append({"locode": b["key"], "total": b["doc_count"], "crossings": kinds.get("crossing", 0),
                         "seizures": kinds.get("seizure", 0), "biometrics": kinds.get("biometric", 0)})
        return rows

    async def _es_health(self) -> dict:
        health = await self.es.cluster.health(timeout="2s")
        status = health["status"]
        return {"component": "elasticsearch", "status": "up" if status in ("green", "yellow") else "degraded",
                "detail": f"cluster {status}, {health['number_of_nodes']} node(s)"}

    async def _services(self) -> list[dict]:
        s = self.settings
        checks = [("ingest", f"http://{_local(s.ingest_host)}:{s.ingest_port}/healthz"),
                  ("indexer", f"http://{_local(s.indexer_metrics_host)}:{s.indexer_metrics_port}/metrics"),
                  ("correlate", f"http://{_local(s.correlate_metrics_host)}:{s.correlate_metrics_port}/metrics")]
        results = await asyncio.gather(*(self._http.get(url) for _, url in checks), return_exceptions=True)
        rows = []
        for (name, url), result in zip(checks, results):
            if isinstance(result, httpx.Response):
                up = result.status_code == 200
                rows.append({"component": name, "status": "up" if up else "degraded",
                             "detail": f"HTTP {result.status_code}"})
            else:
                rows.append({"component": name, "status": "down", "detail": f"no answer from {url}"})
        return rows

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._http.aclose()
        await asyncio.to_thread(self.kafka.close)


def _error(result: Any) -> str:
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {result}"[:300]
    if isinstance(result, dict):
        return str(result.get("error", "unavailable"))
    return "unavailable"


def monitor_of(request: Request) -> DashboardMonitor:
    return request.app.state.dashboard


# --- routes ----------------------------------------------------------------------------------------

@router.get("/dashboard", include_in_schema=False)
async def dashboard_page() -> FileResponse:
    """The page holds no data; it asks for a key and calls the endpoints below with it."""
    return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html",
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@router.get("/v1/dashboard/ports", responses=ERRORS, summary="Ports of entry with positions (for the map)")
async def dashboard_ports(caller: Caller = Depends(require(*DASHBOARD))) -> dict:
    return {"ports": [{"locode": p.locode, "name": p.name, "country": p.country, "lat": p.lat, "lon": p.lon,
                       "functions": sorted(p.functions)} for p in known_ports()]}


@router.get("/v1/dashboard/snapshot", responses=ERRORS, summary="The dashboard's figures, once")
async def dashboard_snapshot(request: Request, caller: Caller = Depends(require(*DASHBOARD))) -> dict:
    monitor = monitor_of(request)
    monitor.ensure_running()
    return monitor.snapshot or await monitor.wait_for(monitor.version, timeout=10) or await monitor.collect()


@router.get("/v1/dashboard/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
            response_class=StreamingResponse, summary="The dashboard's figures as server-sent events, every 2 s")
async def dashboard_stream(request: Request, caller: Caller = Depends(require(*DASHBOARD))) -> StreamingResponse:
    monitor = monitor_of(request)
    monitor.ensure_running()

    async def events():
        monitor.viewers += 1
        try:
            yield f"retry: {int(INTERVAL * 1500)}\n\n"
            version = 0
            if monitor.snapshot is not None:
                version = monitor.version
                yield _sse(monitor.snapshot, version)
            while not await request.is_disconnected():
                monitor.last_viewed = time.monotonic()
                snapshot = await monitor.wait_for(version, timeout=15)
                if snapshot is None:
                    yield ": keep-alive\n\n"
                    continue
                version = monitor.version
                yield _sse(snapshot, version)
        finally:
            monitor.viewers -= 1
            monitor.last_viewed = time.monotonic()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _sse(snapshot: dict, version: int) -> str:
    return f"event: snapshot\nid: {version}\ndata: {json.dumps(snapshot, separators=(',', ':'))}\n\n"
