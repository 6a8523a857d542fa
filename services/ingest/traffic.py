"""``borderhub simulate --rate N --duration S``: demo traffic through the ingest gateway, as a
port-of-entry system would send it (NDJSON batches, a producer key)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from borderhub.keys import KeyStore
from borderhub.settings import Settings
from services.ingest.simulate import Simulator

DEMO_LIST = "demo-planted"


def demo_producer_key(settings: Settings) -> str:
    """The demo's producer key, created once and kept (mode 600) in the state directory."""
    path = settings.state_dir / "demo-producer.key"
    if path.exists():
        token = path.read_text().strip()
        if KeyStore(settings.keys_file).verify(token):
            return token
    _, token = KeyStore(settings.keys_file).create("producer", name="demo traffic")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return token


def publish_planted_watchlist(settings: Settings, sim: Simulator, progress=print) -> None:
    from services.ingest.loader import load_watchlist
    with tempfile.NamedTemporaryFile("w", suffix=".ftm.jsonl", delete=False) as out:
        for entity in sim.watchlist_entities():
            out.write(json.dumps(entity, ensure_ascii=False) + "\n")
    def with_face_template(entry: dict) -> dict:
        # FtM carries no biometrics; the demo lists planted people's faces as well.
        try:
            vector = sim.template_for(entry["entry_id"], "FACE")
        except KeyError:
            return entry
        template = {"modality": "FACE", "algorithm": "arcface-r100", "algorithm_version": "2.1",
                    "dimension": len(vector), "vector": vector}
        return {**entry, "biometric_templates": [template]}

    try:
        summary = load_watchlist(settings, Path(out.name), replace=True, source_list=DEMO_LIST, fmt="ftm",
                                 enrich=with_face_template)
    finally:
        os.unlink(out.name)
    progress(f"planted watchlist: {summary.published} entries ({len(summary.errors)} bad lines)")


def run_traffic(settings: Settings, rate: float, duration: float, seed: int, load_watchlist: bool,
                progress=print) -> dict[str, int]:
    # Event times follow the wall clock so the gateway's plausibility checks hold.
    sim = Simulator(seed=seed, start=dt.datetime.now(dt.timezone.utc), events_per_second=max(rate, 0.1))
    if load_watchlist:
        publish_planted_watchlist(settings, sim, progress)
    truth_path = settings.state_dir / "demo" / "truth.json"
    token = demo_producer_key(settings)
    base = f"http://127.0.0.1:{settings.ingest_port}"
    totals: collections.Counter[str] = collections.Counter()
    events = sim.events()
    started = last_report = time.monotonic()
    tick = 1.0
    with httpx.Client(base_url=base, headers={"X-API-Key": token}, timeout=60) as client:
        while duration <= 0 or time.monotonic() - started < duration:
            tick_start = time.monotonic()
            due = int(rate * (tick_start - started + tick)) - sum(totals[k] for k in ("sent",))
            by_kind: dict[str, list[bytes]] = collections.defaultdict(list)
            for _ in range(max(0, due)):
                kind, event = next(events)
                by_kind[kind].append(orjson.dumps(event))
            for kind, lines in by_kind.items():
                try:
                    response = client.post(f"/v1/events/{kind}/batch", content=b"\n".join(lines),
                                           headers={"Content-Type": "application/x-ndjson"})
                    counts = response.json().get("counts", {})
                except (httpx.HTTPError, ValueError) as exc:
                    progress(f"gateway unavailable ({exc}); retrying next tick")
                    continue
                totals["sent"] += len(lines)
                for outcome, n in counts.items():
                    totals[outcome] += n
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                progress(f"published {totals['accepted']} accepted, {totals['rejected']} rejected "
                         f"({totals['sent'] / (last_report - started):.0f} events/s)")
                _write_truth(truth_path, sim)
            time.sleep(max(0.0, tick - (time.monotonic() - tick_start)))
    _write_truth(truth_path, sim)
    progress(f"done: {totals['accepted']} accepted, {totals['rejected']} rejected; truth in {truth_path}")
    return dict(totals)


def _write_truth(path: Path, sim: Simulator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sim.truth(), indent=1, default=str))
    tmp.replace(path)
