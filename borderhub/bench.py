"""``borderhub bench``: throughput and latency, always next to a baseline measured in the same
run (raw Kafka produce), because the machines are shared and noisy: ratios mean more than
absolute numbers."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import httpx
import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from borderhub.avro import AvroCodec, SchemaCatalog, from_json
from borderhub.keys import KeyStore
from borderhub.settings import Settings

BENCH_TOPIC = "bench.crossings.v1"
console = Console(stderr=True)


def _events(n: int, seed: int = 11) -> list[dict]:
    from services.ingest.simulate import Simulator
    stream = (event for kind, event in Simulator(seed=seed).events() if kind == "crossings")
    return list(itertools.islice(stream, n))


def _encoded(settings: Settings, events: list[dict]) -> list[bytes]:
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    record = codec.catalog.get("crossings")
    return [codec.encode("crossings", from_json(record, e)[0]) for e in events]


def _ensure_bench_topic(settings: Settings) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        if BENCH_TOPIC not in admin.list_topics():
            admin.create_topics([NewTopic(BENCH_TOPIC, settings.topic_partitions, 1,
                                          topic_configs={"retention.ms": str(3600_000)})])
    finally:
        admin.close()


# --- raw Kafka producers (the baseline) ----------------------------------------------------------

def produce_kafka_python(settings: Settings, values: list[bytes]) -> float:
    from borderhub.kafka import make_producer
    producer = make_producer(settings, "bench-kafka-python")
    started = time.perf_counter()
    futures = [producer.send(BENCH_TOPIC, value=v, key=str(i).encode()) for i, v in enumerate(values)]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    elapsed = time.perf_counter() - started
    producer.close()
    return len(values) / elapsed


def produce_aiokafka(settings: Settings, values: list[bytes]) -> float:
    from aiokafka import AIOKafkaProducer

    async def run() -> float:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                    enable_idempotence=True, linger_ms=5, max_batch_size=256 * 1024)
        await producer.start()
        try:
            started = time.perf_counter()
            futures = [await producer.send(BENCH_TOPIC, value=v, key=str(i).encode()) for i, v in enumerate(values)]
            await asyncio.gather(*futures)
            return len(values) / (time.perf_counter() - started)
        finally:
            await producer.stop()

    return asyncio.run(run())


def produce_confluent(settings: Settings, values: list[bytes]) -> float | None:
    try:
        from confluent_kafka import Producer
    except ImportError:
        return None
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "batch.size": 256 * 1024})
    failures = []
    started = time.perf_counter()
    for i, v in enumerate(values):
        while True:
            try:
                producer.produce(BENCH_TOPIC, value=v, key=str(i).encode(),
                                 on_delivery=lambda err, _m: err and failures.append(err))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    if failures:
        raise RuntimeError(f"confluent-kafka delivery failed: {failures[0]}")
    return len(values) / (time.perf_counter() - started)


# --- the gateway ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Gateway:
    """A gateway process of its own, with a throwaway key store."""

    def __init__(self, settings: Settings):
        self.tmp = tempfile.TemporaryDirectory()
        keys_file = Path(self.tmp.name) / "api_keys.json"
        self.key = KeyStore(keys_file).create("producer", name="bench")[1]
        self.port = _free_port()
        env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
                   BORDERHUB_API_KEYS_FILE=str(keys_file), BORDERHUB_INGEST_PORT=str(self.port))
        self.log = open(Path(self.tmp.name) / "ingest.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "borderhub", "ingest"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("bench gateway did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        self.tmp.cleanup()


def gateway_batches(gateway: _Gateway, events: list[dict], batch: int, concurrency: int) -> float:
    bodies = [b"\n".join(orjson.dumps(e) for e in events[i:i + batch]) for i in range(0, len(events), batch)]

    async def run() -> float:
        queue: asyncio.Queue = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        accepted = 0

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal accepted
            while not queue.empty():
                body = queue.get_nowait()
                r = await client.post("/v1/events/crossings/batch", content=body,
                                      headers={"Content-Type": "application/x-ndjson"})
                accepted += r.json()["counts"]["accepted"]

        async with httpx.AsyncClient(base_url=gateway.url, headers={"X-API-Key": gateway.key}, timeout=120) as c:
            started = time.perf_counter()
            await asyncio.gather(*(worker(c) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        if accepted != len(events):
            raise RuntimeError(f"gateway accepted {accepted} of {len(events)} bench events")
        return len(events) / elapsed

    return asyncio.run(run())


def gateway_single_latency(gateway: _Gateway, events: list[dict]) -> dict[str, float]:
    latencies = []
    with httpx.Client(base_url=gateway.url, headers={"X-API-Key": gateway.key}, timeout=30) as client:
        for event in events:
            started = time.perf_counter()
            r = client.post("/v1/events/crossings", json=event)
            latencies.append((time.perf_counter() - started) * 1000)
            if r.status_code != 202:
                raise RuntimeError(f"bench event rejected: {r.text[:300]}")
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "requests": len(latencies)}


# --- the suite -----------------------------------------------------------------------------------

def run_ingest_suite(settings: Settings, events: int, entries: int = 0) -> dict:
    n_events = events
    results: dict = {"suite": "ingest", "events": n_events}
    steps: list[tuple[str, Callable[[], object]]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("preparing events", total=6)
        events = _events(n_events)
        values = _encoded(settings, events)
        _ensure_bench_topic(settings)
        progress.advance(task)
        steps = [
            ("kafka_python_msgs_per_s", lambda: produce_kafka_python(settings, values)),
            ("aiokafka_msgs_per_s", lambda: produce_aiokafka(settings, values)),
            ("confluent_kafka_msgs_per_s", lambda: produce_confluent(settings, values)),
        ]
        for name, step in steps:
            progress.update(task, description=name)
            results[name] = step()
            progress.advance(task)
        progress.update(task, description="gateway batches")
        gateway = _Gateway(settings)
        try:
            results["gateway_batch_events_per_s"] = gateway_batches(gateway, events, batch=1000, concurrency=2)
            progress.advance(task)
            progress.update(task, description="gateway single-event latency")
            results["gateway_single"] = gateway_single_latency(gateway, events[:500])
            progress.advance(task)
        finally:
            gateway.close()
    base = results["kafka_python_msgs_per_s"]
    results["ratios_vs_kafka_python"] = {
        k: round(v / base, 3) for k, v in results.items() if k.endswith("_per_s") and isinstance(v, float)}
    return results


def run_correlate_suite(settings: Settings, events: int, entries: int) -> dict:
    """The matching engine: quality on the labelled set, then speed at ``entries`` entries,
    next to raw Kafka consumption of the same number of crossings (the baseline); and the link
    graph's cost per edge at its node bound."""
    from services.correlate.bench_links import bench_link_graph
    from services.correlate.matching import bench as matching
    from services.correlate.matching.evalset import evaluate
    results: dict = {"suite": "correlate", "events": events, "entries": entries}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("evaluation set", total=5)
        results["evaluation"] = evaluate()
        progress.update(task, advance=1, description=f"index of {entries:,} entries")
        results["index"] = matching.bench_index(entries, n_events=events)
        progress.update(task, advance=1, description="screening")
        results["screen"] = matching.bench_screen(n_queries=min(20_000, events), n_watchlist=min(100_000, entries))
        progress.update(task, advance=1, description="biometric gallery")
        results["gallery"] = matching.bench_gallery(n_templates=min(100_000, entries))
        progress.update(task, advance=1, description="link graph")
        results["link_graph"] = bench_link_graph()
        progress.advance(task)
    return results


def run_index_suite(settings: Settings, events: int, entries: int) -> dict:
    from services.search_api.bench_index import bench_indexing
    return {"suite": "index", "events": events, **bench_indexing(settings, n_events=events)}


def run_search_suite(settings: Settings, events: int, entries: int, **options) -> dict:
    from services.search_api.bench_search import bench_search
    return {"suite": "search", **bench_search(settings, n_events=events, **options)}


def _flatten(prefix: str, value, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, rows)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"))
    else:
        rows.append((prefix, str(value)))


def print_results(results: dict) -> None:
    table = Table(title=f"borderhub bench: {results['suite']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = []
    _flatten("", {k: v for k, v in results.items() if k != "suite"}, rows)
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


def save(results: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))


def run_stream_suite(settings: Settings, events: int, entries: int) -> dict:
    from services.correlate.bench_stream import bench_stream
    return {"suite": "stream", **bench_stream(settings, n_events=events, n_entries=entries)}


SUITES = {"ingest": run_ingest_suite, "correlate": run_correlate_suite, "stream": run_stream_suite,
          "index": run_index_suite, "search": run_search_suite}
