"""Watchlist loading to the compacted topic, the simulator, and the whole system under
``borderhub up`` — all against the real Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import httpx

from borderhub.avro import AvroCodec
from borderhub.topics import CROSSINGS, WATCHLIST
from tests.conftest import _free_port
from tests.integration.kafka_tail import KafkaTail


def person(entity_id: str, name: str, birth: str = "1975-04-02") -> dict:
    return {"id": entity_id, "schema": "Person",
            "properties": {"name": [name], "birthDate": [birth], "nationality": ["co"], "topics": ["wanted"]}}


def cli(settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
               BORDERHUB_API_KEYS_FILE=str(settings.keys_file))
    return subprocess.run([sys.executable, "-m", "borderhub", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def latest_by_key(records) -> dict[str, bytes | None]:
    latest: dict[str, bytes | None] = {}
    for r in records:
        latest[r.key.decode()] = r.value
    return latest


def test_load_replace_and_bad_lines(settings, catalog, tmp_path):
    codec = AvroCodec(catalog)
    run = uuid.uuid4().hex[:8]
    listed = [f"wl-{run}-{i}" for i in range(3)]
    feed = tmp_path / "wanted.jsonl"
    lines = [json.dumps(person(listed[0], "Juan Carlos Rendón")), "{not json",
             json.dumps(person(listed[1], "Ольга Петрова")), json.dumps({"schema": "Person", "properties": {}}),
             json.dumps(person(listed[2], "محمد الأحمد"))]
    feed.write_text("\n".join(lines) + "\n")
    tail = KafkaTail(settings.kafka_bootstrap, WATCHLIST)
    result = cli(settings, "watchlist", "load", str(feed), "--list", f"test-{run}")
    assert result.returncode == 0, result.stderr
    assert "3 entries published" in result.stderr and "2 bad lines" in result.stderr
    assert "line 2" in result.stderr and "line 4" in result.stderr
    latest = latest_by_key(tail.read(at_least=3))
    assert set(latest) == set(listed)
    entry = codec.decode(latest[listed[1]], "watchlist")
    assert entry["kind"] == "PERSON" and entry["source_list"] == f"test-{run}" and entry["action_on_hit"] == "ARREST"

    # --replace with one entry gone: that entry gets a tombstone, the others are republished.
    feed.write_text("\n".join([lines[0], lines[2]]) + "\n")
    tail = KafkaTail(settings.kafka_bootstrap, WATCHLIST)
    result = cli(settings, "watchlist", "load", str(feed), "--list", f"test-{run}", "--replace")
    assert result.returncode == 0, result.stderr
    assert "1 deleted" in result.stderr
    latest = latest_by_key(tail.read(at_least=3))
    assert latest[listed[2]] is None
    assert latest[listed[0]] is not None and latest[listed[1]] is not None


def test_csv_feed(settings, tmp_path):
    run = uuid.uuid4().hex[:8]
    feed = tmp_path / "plates.csv"
    feed.write_text(
        "entry_id,kind,name,aliases,birth_date,nationality,sex,identifier_scheme,identifier_value,"
        "identifier_country,document_status,reason,action_on_hit,valid_until,topics\n"
        f"veh-{run},VEHICLE,,,,,,VEHICLE_PLATE,BCN4821,MX,,stolen pickup,SEIZE_DOCUMENT,,\n"
        f"bad-{run},SPACESHIP,,,,,,,,,,,,,\n")
    tail = KafkaTail(settings.kafka_bootstrap, WATCHLIST)
    result = cli(settings, "watchlist", "load", str(feed), "--list", f"csv-{run}")
    assert result.returncode == 0, result.stderr
    assert "1 entries published" in result.stderr and "1 bad lines" in result.stderr
    assert f"veh-{run}" in latest_by_key(tail.read(at_least=1))


def test_simulate_writes_a_dataset(settings, tmp_path):
    result = cli(settings, "simulate", "--count", "400", "--output", str(tmp_path), "--seed", "3")
    assert result.returncode == 0, result.stderr
    crossings = [json.loads(line) for line in (tmp_path / "crossings.jsonl").read_text().splitlines()]
    assert len(crossings) > 250
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["seed"] == 3 and truth["items"]
    assert (tmp_path / "watchlist.ftm.jsonl").exists()


def test_simulated_dataset_passes_the_gateway(ingest, producer_key, settings, tmp_path):
    """What the simulator writes is what a port system sends: the gateway accepts all of it."""
    result = cli(settings, "simulate", "--count", "600", "--output", str(tmp_path), "--seed", "5")
    assert result.returncode == 0, result.stderr
    with httpx.Client(base_url=ingest.url, headers={"X-API-Key": producer_key}, timeout=60) as client:
        for kind in ("crossings", "seizures", "biometrics"):
            body = (tmp_path / f"{kind}.jsonl").read_bytes()
            response = client.post(f"/v1/events/{kind}/batch", content=body,
                                   headers={"Content-Type": "application/x-ndjson"})
            rejected = [r for r in response.json()["results"] if r["status"] != "accepted"][:3]
            assert response.status_code == 202, rejected


def test_whole_system_up_with_demo_traffic_and_down(settings, tmp_path):
    """`borderhub up --demo` reuses the running stack, starts the services detached, and
    traffic reaches Kafka; `borderhub down` stops them."""
    port = _free_port()
    env = dict(os.environ, BORDERHUB_STATE_DIR=str(tmp_path), BORDERHUB_INGEST_PORT=str(port),
               BORDERHUB_CORRELATE_METRICS_PORT=str(_free_port()),
               BORDERHUB_INDEXER_METRICS_PORT=str(_free_port()), BORDERHUB_API_PORT=str(_free_port()),
               BORDERHUB_INDEXER_GROUP_ID=f"borderhub-indexer-up-{uuid.uuid4().hex[:6]}",
               BORDERHUB_CORRELATE_APP_ID=f"borderhub-correlate-up-{uuid.uuid4().hex[:6]}",
               BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url)

    def borderhub(*args):
        return subprocess.run([sys.executable, "-m", "borderhub", *args], capture_output=True, text=True,
                              env=env, timeout=600)

    tail = KafkaTail(settings.kafka_bootstrap, CROSSINGS)
    try:
        up = borderhub("up", "--demo")
        assert up.returncode == 0, up.stderr
        assert f"http://localhost:{port}" in up.stderr
        services = ("kafka", "elasticsearch", "ingest", "correlate", "indexer", "search-api", "simulate")
        deadline = time.monotonic() + 60  # health is sampled: allow a busy moment to pass
        while True:
            status = json.loads(borderhub("status", "--json").stdout)
            states = {n: status[n]["state"] for n in services}
            if set(states.values()) == {"running"} or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert set(states.values()) == {"running"}, states
        deadline = time.monotonic() + 120
        records = []
        while time.monotonic() < deadline and len(records) < 20:
            records += tail.read(timeout=2)
        assert len(records) >= 20, (tmp_path / "logs" / "simulate.log").read_text()[-2000:]
    finally:
        down = borderhub("down")
    assert down.returncode == 0
    status = json.loads(borderhub("status", "--json").stdout)
    assert {status[n]["state"] for n in ("ingest", "correlate", "indexer", "search-api", "simulate")} == {"stopped"}
    assert status["kafka"]["state"] == "running"  # not ours to stop: it was running before
