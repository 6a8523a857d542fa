"""``borderhub bench --suite stream``: the correlation workers end to end, on the real stack.

With ``--entries N`` (the default is a million) the workers load a synthetic N-entry watchlist
from a bench-only compacted topic (``bench.watchlist-N.v1``, written once and reused; the
``correlate`` suite's generator and seed), and the crossings are that suite's too: 2 % by listed
people, 1 % on listed documents, 0.5 % in listed vehicles. With ``--entries 0`` they are
simulated crossings (``borderhub simulate``'s) against whatever ``watchlist.entries.v1`` holds.
Either way the crossings are published to ``poe.crossings.v1`` with the gateway's "validated"
header (so the system's own indexer and workers see them too), and worker processes of a
consumer group of their own (``bench-stream-*``, its offsets set to where the bench's records
start, so it reads nothing older) correlate them: decode, matching, rule inputs, alerts, link
records, commits after the acks. The rate is records committed per second by the group, with 1
worker and with one per core, next to the workers' CPU time per event (steadier than a rate on
a shared machine), split into matching (the workers' own metric of its CPU time) and the rest
of the pipeline. Baselines on the same records in the same run: a raw aiokafka consumer, and a
faust agent that only acknowledges them (faust's own per-record cost: why the workers' event
topics are consumed in batches outside faust's agents, see ``pipeline.py``).

The runs share one snapshot directory and hash seed: the first run's workers load the watchlist
(and link graph) from the topics and write snapshots, the next run's restore them
(``watchlist_from``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
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
from borderhub.stack.components import tail
from borderhub.topics import CROSSINGS, LINKS
from services.correlate.app import VALIDATED_HEADER, rules_app_id

console = Console(stderr=True)
READY_TIMEOUT = 1200.0  # two workers loading a million entries each, on two cores
WARM_UP = 500  # records each group correlates before the measured run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a rate per CPU second means
    more than a wall-clock rate on a shared machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


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


def bench_watchlist_topic(n_entries: int) -> str:
    return f"bench.watchlist-{n_entries}.v1"


def synthetic_records(settings: Settings, n_entries: int, n_events: int, progress: Progress, task,
                      seed: int = 11) -> list[bytes]:
    """The correlate suite's watchlist of n_entries on its bench topic (published unless the
    topic holds it already), and n_events of its crossings, Avro-encoded, with fresh event ids
    and times of today (they pass through the system's own topics)."""
    import random
    import uuid

    from services.correlate.matching.bench import _events
    from services.correlate.matching.synthetic import watchlist
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    rng = random.Random(seed)
    people: list = []
    kept: dict[str, list[dict]] = {}
    topic = bench_watchlist_topic(n_entries)
    entries = watchlist(rng, n_entries, people=people, dob_share=0.95, diverse=True)
    if _topic_records(settings, topic) == n_entries:
        progress.update(task, description=f"generating the {n_entries:,}-entry watchlist (on {topic} already)")
        for i, entry in enumerate(entries):
            if i % 1000 == 0:
                kept.setdefault(entry["kind"], []).append(entry)
    else:
        progress.update(task, description=f"publishing a {n_entries:,}-entry watchlist to {topic}")
        asyncio.run(_publish_watchlist(settings, topic, entries, codec, kept))
    now = int(time.time() * 1000)
    values = []
    for i, event in enumerate(_events(rng, n_events, people, kept)):
        event["event_id"] = str(uuid.uuid4())
        event["occurred_at"] = now - (n_events - i) * 10
        values.append(codec.encode("crossings", event))
    return values


def _topic_records(settings: Settings, topic: str) -> int:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as SyncPartition
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        partitions = [SyncPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return sum(consumer.end_offsets(partitions).values()) if partitions else -1
    finally:
        consumer.close()


async def _publish_watchlist(settings: Settings, topic: str, entries, codec: AvroCodec,
                             kept: dict[str, list[dict]]) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        if topic in admin.list_topics():  # an interrupted load: start again
            admin.delete_topics([topic])
            await asyncio.sleep(3)
        admin.create_topics([NewTopic(topic, 3, settings.topic_replication,
                                      topic_configs={"cleanup.policy": "compact"})])
    finally:
        admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        pending = []
        for i, entry in enumerate(entries):
            if i % 1000 == 0:
                kept.setdefault(entry["kind"], []).append(entry)
            pending.append(await producer.send(topic, value=codec.encode("watchlist", entry),
                                               key=entry["entry_id"].encode()))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


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
    from kafka.errors import CoordinatorNotAvailableError
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        for attempt in itertools.count():
            try:
                admin.alter_group_offsets(group, {SyncPartition(tp.topic, tp.partition):
                                                  OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
                return
            except CoordinatorNotAvailableError:
                # A fresh broker creates its offsets topic on the first group request: seconds.
                if attempt >= 30:
                    raise
                time.sleep(1.0)
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


def _samples(body: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families
    return [(sample.name, sample.labels, sample.value) for family in text_string_to_metric_families(body)
            for sample in family.samples]


def _metrics_text(port: int, timeout: float) -> str:
    """A local worker's Prometheus exposition."""
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout).read().decode()


class _Workers:
    """Correlation worker processes of one bench consumer group."""

    def __init__(self, settings: Settings, group: str, count: int, state_dir: Path, watchlist_topic: str,
                 snapshots: tuple[Path, str]):
        self.ports = [_free_port() for _ in range(count)]
        self.logs = []
        self.log_paths = [state_dir / f"worker-{i}.log" for i in range(count)]
        self.procs = []
        self.load_sources: list[str] = []  # where the workers' watchlists came from
        self.watchlist_topic = watchlist_topic
        for i, port in enumerate(self.ports):
            env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
                       BORDERHUB_ES_URL=settings.es_url, BORDERHUB_CORRELATE_APP_ID=group,
                       BORDERHUB_CORRELATE_METRICS_PORT=str(port), BORDERHUB_CORRELATE_RETRO_HUNT_DAYS="0",
                       BORDERHUB_CORRELATE_WATCHLIST_TOPIC=watchlist_topic,
                       BORDERHUB_STATE_DIR=str(state_dir / f"worker-{i}"),
                       # One snapshot directory and hash seed for the suite: the first run loads the
                       # topics and writes the snapshots the next run restores.
                       BORDERHUB_CORRELATE_SNAPSHOT_DIR=str(snapshots[0]), PYTHONHASHSEED=snapshots[1],
                       BORDERHUB_CORRELATE_SNAPSHOT_INTERVAL="900")
            log = open(self.log_paths[i], "wb")
            self.logs.append(log)
            self.procs.append(subprocess.Popen([sys.executable, "-m", "borderhub", "correlate"], env=env,
                                               stdout=log, stderr=subprocess.STDOUT))

    def ready(self) -> bool:
        sources = []
        for port, proc, log_path in zip(self.ports, self.procs, self.log_paths):
            if proc.poll() is not None:  # its log lives in a temporary directory: show its end now
                raise RuntimeError(f"a bench worker exited ({proc.returncode}):\n{tail(log_path, 15)}")
            try:
                body = _metrics_text(port, timeout=2)
            except OSError:
                return False
            # Ready, and done with the snapshots (written, or confirmed when restored): a child
            # still pickling would share the cores with the measured run.
            samples = _samples(body)
            done = {labels.get("topic") for name, labels, value in samples
                    if name == "borderhub_correlate_snapshots_total" and labels.get("outcome") in ("written", "confirmed")
                    and value >= 1}
            if "borderhub_correlate_ready 1.0" not in body or not {self.watchlist_topic, LINKS} <= done:
                return False
            sources += [labels["source"] for name, labels, _ in samples
                        if name == "borderhub_correlate_load_seconds" and labels.get("topic") == self.watchlist_topic]
        self.load_sources = sources
        return True

    def match_cpu_seconds(self) -> float:
        """CPU time the workers spent in matching so far (their metric of it)."""
        return sum(value for port in self.ports for name, _, value in _samples(_metrics_text(port, timeout=5))
                   if name == "borderhub_correlate_match_cpu_seconds_total")

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


def _keep_logs(settings: Settings, group: str, paths: list[Path]) -> Path:
    """Copy the logs of a failed run's workers out of its temporary directory."""
    kept = settings.state_dir / "logs" / group
    kept.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.exists():
            shutil.copy(path, kept / path.name)
    return kept


def stream_rate(settings: Settings, warm_up: list[bytes], values: list[bytes], workers: int, progress: Progress,
                task, watchlist_topic: str, snapshots: tuple[Path, str]) -> tuple[dict, dict[TopicPartition, int]]:
    """Records/s of ``workers`` processes of a new group correlating ``values`` end to end, after
    ``warm_up``; and where the measured records started. snapshots: the snapshot directory and
    hash seed the workers share."""
    group = f"bench-stream-{workers}w-{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        start = _end_offsets(settings)
        _commit_group(settings, group, start)
        pool = _Workers(settings, group, workers, Path(tmp), watchlist_topic, snapshots)
        try:
            progress.update(task, description=f"{workers} worker(s): loading the watchlist")
            loading = time.monotonic()
            while not pool.ready():
                if time.monotonic() - loading > READY_TIMEOUT:
                    raise RuntimeError("bench workers were not ready in time")
                time.sleep(0.5)
            ready_s = time.monotonic() - loading
            # Warm-up first (name tables load on first use, caches fill), then the measured run.
            target = sum(start.values())
            for phase, records in (("warming up", warm_up), ("correlating", values)):
                progress.update(task, description=f"{workers} worker(s): {phase}")
                target += len(records)
                measured = _end_offsets(settings)  # where this phase's records start
                cpu_before = sum(cpu_seconds(p.pid) for p in pool.procs)
                match_before = pool.match_cpu_seconds()
                started = time.perf_counter()
                asyncio.run(_produce(settings, records))
                while _committed(settings, group) < target:
                    time.sleep(0.25)
                    if time.perf_counter() - started > 1800:
                        raise RuntimeError("bench workers did not finish in 30 minutes")
            elapsed = time.perf_counter() - started
            cpu = sum(cpu_seconds(p.pid) for p in pool.procs) - cpu_before
            match_cpu = pool.match_cpu_seconds() - match_before
            rss = max(rss_mb(p.pid) for p in pool.procs)
        except BaseException as exc:
            pool.stop()  # its logs are complete once it stopped
            exc.add_note(f"bench worker logs kept in {_keep_logs(settings, group, pool.log_paths)}")
            raise
        finally:
            pool.stop()
            _delete_group_topics(settings, group)
    return {"workers": workers, "seconds": round(elapsed, 1), "events_per_s": round(len(values) / elapsed),
            "worker_cpu_us_per_event": round(cpu / len(values) * 1e6),
            # Of which matching; the rest is the pipeline: decode, rules, links, Kafka, the loop.
            "worker_match_cpu_us_per_event": round(match_cpu / len(values) * 1e6),
            "worker_other_cpu_us_per_event": round((cpu - match_cpu) / len(values) * 1e6),
            "events_per_worker_cpu_s": round(len(values) / max(cpu, 1e-9)),
            "watchlist_load_s": round(ready_s), "watchlist_from": "/".join(sorted(set(pool.load_sources))),
            "worker_rss_mb": round(rss)}, measured


def faust_noop_worker(bootstrap: str, group: str, count: int, out: str, batch: int, datadir: str) -> None:
    """A faust app whose agent only acknowledges the crossings, in batches like a worker's
    (``noack_take``); writes its records/s to ``out`` after ``count`` records. Run in a process
    of its own by ``faust_noop_rate``."""
    import faust
    from faust.worker import Worker
    app = faust.App(group, broker=f"kafka://{bootstrap}", store="memory://", key_serializer="raw",
                    value_serializer="raw", web_enabled=False, datadir=datadir, broker_commit_every=batch)
    topic = app.topic(CROSSINGS, key_serializer="raw", value_serializer="raw")
    progress = {"seen": 0, "started": 0.0}

    @app.agent(topic)
    async def noop(stream):
        async for events in stream.noack_take(batch, within=0.05):
            progress["started"] = progress["started"] or time.perf_counter()
            for event in events:
                await stream.ack(event)
            progress["seen"] += len(events)
            if progress["seen"] >= count:
                Path(out).write_text(str(progress["seen"] / (time.perf_counter() - progress["started"])))
                os._exit(0)

    Worker(app, loglevel="WARN", quiet=True).execute_from_commandline()


def faust_noop_rate(settings: Settings, start: dict[TopicPartition, int], count: int) -> float:
    """Records/s of faust's stream machinery alone on the measured records: the ceiling of a
    worker whose events would go through a faust agent."""
    group = f"bench-faust-noop-{int(time.time())}"
    _commit_group(settings, group, start)
    with tempfile.TemporaryDirectory(prefix="bench-faust-") as tmp:
        out = Path(tmp) / "rate"
        code = ("import sys; from services.correlate.bench_stream import faust_noop_worker; "
                "faust_noop_worker(*sys.argv[1:3], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6])")
        proc = subprocess.Popen([sys.executable, "-c", code, settings.kafka_bootstrap, group, str(count), str(out),
                                 str(settings.correlate_batch_size), tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(600)
        finally:
            if proc.poll() is None:
                proc.kill()
            _delete_group_topics(settings, group)
        if not out.exists():
            raise RuntimeError("the faust baseline did not finish")
        return float(out.read_text())


def bench_stream(settings: Settings, n_events: int = 20_000, n_entries: int = 1_000_000) -> dict:
    cores = os.cpu_count() or 1
    results: dict = {"entries": n_entries}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating crossings", total=None)
        if n_entries:
            values, rejected = synthetic_records(settings, n_entries, n_events + WARM_UP, progress, task), 0
            watchlist_topic = bench_watchlist_topic(n_entries)
        else:
            values, rejected = bench_records(settings, n_events + WARM_UP)
            watchlist_topic = settings.correlate_watchlist_topic
        warm_up, values = values[:WARM_UP], values[WARM_UP:]
        results["events"], results["rejected_by_checks"] = len(values), rejected
        seed = str(random.randrange(1, 2**32))
        with tempfile.TemporaryDirectory(prefix="bench-snapshots-") as snapshot_dir:
            for workers in sorted({1, cores}):
                results[f"workers_{workers}"], start = stream_rate(settings, warm_up, values, workers, progress,
                                                                   task, watchlist_topic, (Path(snapshot_dir), seed))
        progress.update(task, description="raw consumer baseline")  # the records of the last run
        results["raw_consumer_msgs_per_s"] = round(asyncio.run(raw_consume_rate(settings, start, len(values))))
        progress.update(task, description="faust agent that only acknowledges (baseline)")
        results["faust_noop_agent_msgs_per_s"] = round(faust_noop_rate(settings, start, len(values)))
    base = results["raw_consumer_msgs_per_s"]
    results["ratios_vs_raw_consumer"] = {
        key: round(value["events_per_s"] / base, 4) for key, value in results.items()
        if key.startswith("workers_") and isinstance(value, dict)}
    return results
