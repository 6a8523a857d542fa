"""``borderhub bench --suite stream``: the correlation workers end to end, on the real stack.

Simulated crossings are checked like the gateway checks them, then published to
``poe.crossings.v1`` with the gateway's "validated" header (as ``borderhub simulate`` traffic
would be, so the system's own indexer and workers see them too). Worker processes of a consumer
group of their own (``bench-stream-*``, its offsets set to where the bench's records start, so
it reads nothing older) then correlate them: decode, rules' re-keying, matching against the
watchlist on the topic, alerts, link records, commits after the acks. The rate is records
committed per second by the group, with 1 worker and with one per core; the baseline is a raw
aiokafka consumer reading the same records in the same run.

The watchlist is whatever the topic holds (the 1,000,000-entry matching cost is the
``correlate`` suite's): this suite measures the streaming pipeline around the matcher.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import Progress

from borderhub.avro import AvroCodec, SchemaCatalog, from_json
from borderhub.domain.events import CHECKS
from borderhub.settings import Settings
from borderhub.topics import CROSSINGS
from services.correlate.app import VALIDATED_HEADER, rules_app_id

console = Console(stderr=True)
READY_TIMEOUT = 300.0
WARM_UP = 500  # records each group correlates before the measured run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a rate per CPU second means
    more than a wall-clock rate on a shared machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_records(settings: Settings, n: int, seed: int = 21) -> tuple[list[bytes], int]:
    """n simulated crossings that pass the gateway's checks, Avro-encoded; and how many failed."""
    from services.ingest.simulate import Simulator
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    record = codec.catalog.get("crossings")
    values, rejected = [], 0
    stream = (event for kind, event in Simulator(seed=seed).events() if kind == "crossings")
    for event in itertools.islice(stream, n):
        datum, problems = from_json(record, event)
        if problems or CHECKS["crossings"](datum):
            rejected += 1
            continue
        values.append(codec.encode("crossings", datum))
    return values, rejected


def _end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as SyncPartition
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        partitions = [SyncPartition(CROSSINGS, p) for p in sorted(consumer.partitions_for_topic(CROSSINGS) or ())]
        return {TopicPartition(tp.topic, tp.partition): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def _commit_group(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    from kafka import KafkaAdminClient
    from kafka import TopicPartition as SyncPartition
    from kafka.structs import OffsetAndMetadata
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.alter_group_offsets(group, {SyncPartition(tp.topic, tp.partition): OffsetAndMetadata(offset, "", -1)
                                          for tp, offset in offsets.items()})
    finally:
        admin.close()


def _committed(settings: Settings, group: str) -> int:
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic == CROSSINGS and meta.offset >= 0)
    finally:
        admin.close()


async def _produce(settings: Settings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        headers = [(VALIDATED_HEADER, b"bench")]
        futures = [await producer.send(CROSSINGS, value=v, key=str(i).encode(), headers=headers)
                   for i, v in enumerate(values)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume_rate(settings: Settings, start: dict[TopicPartition, int], count: int) -> float:
    """Records/s of one aiokafka consumer reading ``count`` records from ``start`` (the baseline)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        seen = 0
        started = time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batches.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


class _Workers:
    """Correlation worker processes of one bench consumer group."""

    def __init__(self, settings: Settings, group: str, count: int, state_dir: Path):
        self.ports = [_free_port() for _ in range(count)]
        self.logs = []
        self.procs = []
        for i, port in enumerate(self.ports):
            env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
                       BORDERHUB_ES_URL=settings.es_url, BORDERHUB_CORRELATE_APP_ID=group,
                       BORDERHUB_CORRELATE_METRICS_PORT=str(port), BORDERHUB_CORRELATE_RETRO_HUNT_DAYS="0",
                       BORDERHUB_STATE_DIR=str(state_dir / f"worker-{i}"))
            log = open(state_dir / f"worker-{i}.log", "wb")
            self.logs.append(log)
            self.procs.append(subprocess.Popen([sys.executable, "-m", "borderhub", "correlate"], env=env,
                                               stdout=log, stderr=subprocess.STDOUT))

    def ready(self) -> bool:
        for port, proc in zip(self.ports, self.procs):
            if proc.poll() is not None:
                raise RuntimeError(f"a bench worker exited ({proc.returncode}); see its log")
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                return False
            if "borderhub_correlate_ready 1.0" not in body:
                return False
        return True

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in self.logs:
            log.close()


def _delete_group_topics(settings: Settings, group: str) -> None:
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        internal = [t for t in admin.list_topics() if t.startswith(f"{group}-")]
        if internal:
            admin.delete_topics(internal)
        admin.delete_groups([group, rules_app_id(group)])
    except Exception as exc:  # cleanup only: the numbers stand
        console.print(f"[yellow]could not delete the bench group's topics: {exc}")
    finally:
        admin.close()


def stream_rate(settings: Settings, warm_up: list[bytes], values: list[bytes], workers: int, progress: Progress,
                task) -> tuple[dict, dict[TopicPartition, int]]:
    """Records/s of ``workers`` processes of a new group correlating ``values`` end to end, after
    ``warm_up``; and where the measured records started."""
    group = f"bench-stream-{workers}w-{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        start = _end_offsets(settings)
        _commit_group(settings, group, start)
        pool = _Workers(settings, group, workers, Path(tmp))
        try:
            progress.update(task, description=f"{workers} worker(s): loading the watchlist")
            deadline = time.monotonic() + READY_TIMEOUT
            while not pool.ready():
                if time.monotonic() > deadline:
                    raise RuntimeError("bench workers were not ready in time")
                time.sleep(0.5)
            # Warm-up first (name tables load on first use, caches fill), then the measured run.
            target = sum(start.values())
            for phase, records in (("warming up", warm_up), ("correlating", values)):
                progress.update(task, description=f"{workers} worker(s): {phase}")
                target += len(records)
                measured = _end_offsets(settings)  # where this phase's records start
                cpu_before = sum(cpu_seconds(p.pid) for p in pool.procs)
                started = time.perf_counter()
                asyncio.run(_produce(settings, records))
                while _committed(settings, group) < target:
                    time.sleep(0.25)
                    if time.perf_counter() - started > 1800:
                        raise RuntimeError("bench workers did not finish in 30 minutes")
            elapsed = time.perf_counter() - started
            cpu = sum(cpu_seconds(p.pid) for p in pool.procs) - cpu_before
        finally:
            pool.stop()
            _delete_group_topics(settings, group)
    return {"workers": workers, "seconds": round(elapsed, 1), "events_per_s": round(len(values) / elapsed),
            "worker_cpu_us_per_event": round(cpu / len(values) * 1e6),
            "events_per_worker_cpu_s": round(len(values) / max(cpu, 1e-9))}, measured


def bench_stream(settings: Settings, n_events: int = 20_000) -> dict:
    cores = os.cpu_count() or 1
    results: dict = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating crossings", total=None)
        values, rejected = bench_records(settings, n_events + WARM_UP)
        warm_up, values = values[:WARM_UP], values[WARM_UP:]
        results["events"], results["rejected_by_checks"] = len(values), rejected
        for workers in sorted({1, cores}):
            results[f"workers_{workers}"], start = stream_rate(settings, warm_up, values, workers, progress, task)
        progress.update(task, description="raw consumer baseline")  # the records of the last run
        results["raw_consumer_msgs_per_s"] = round(asyncio.run(raw_consume_rate(settings, start, len(values))))
    base = results["raw_consumer_msgs_per_s"]
    results["ratios_vs_raw_consumer"] = {
        key: round(value["events_per_s"] / base, 4) for key, value in results.items()
        if key.startswith("workers_") and isinstance(value, dict)}
    return results
