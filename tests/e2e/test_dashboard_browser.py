"""The operations dashboard in headless Chromium (Debian's, driven by Playwright): an
operations key opens it, traffic published to Kafka moves its numbers, every request stays on
the API's own origin, and a screenshot lands in tests/e2e/artifacts/dashboard.png."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

from borderhub.avro import AvroCodec, from_json
from borderhub.kafka import make_producer
from borderhub.topics import EVENT_TOPICS
from services.ingest.simulate import Simulator
from tests.conftest import ServiceProcess, _free_port
from tests.integration.test_search_api import start_api

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRAFFIC = 400

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def api(settings, tmp_path_factory):
    service = start_api(settings, tmp_path_factory)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def indexer(settings, tmp_path_factory):
    """The real indexer, in a group of its own, so per-port figures come from indexed traffic."""
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_INDEXER_METRICS_PORT=str(port),
               BORDERHUB_INDEXER_GROUP_ID=f"borderhub-indexer-e2e-{uuid.uuid4().hex[:6]}")
    service = ServiceProcess(["indexer"], env, f"http://127.0.0.1:{port}/metrics",
                             tmp_path_factory.mktemp("indexer") / "indexer.log")
    service.start(timeout=120)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def publish_traffic(settings, catalog, count: int, seconds: float) -> None:
    """Realistic events straight onto the topics, spread over ``seconds``."""
    codec = AvroCodec(catalog)
    sim = Simulator(seed=int(time.time()), start=dt.datetime.now(dt.timezone.utc), events_per_second=count / seconds)
    producer = make_producer(settings, "dashboard-browser-test")
    events = sim.events()
    for _ in range(10):
        for _event in range(count // 10):
            kind, event = next(events)
            datum, problems = from_json(catalog.get(kind), event)
            assert not problems, problems
            producer.send(EVENT_TOPICS[kind], key=datum["event_id"].encode(), value=codec.encode(kind, datum))
        producer.flush()
        time.sleep(seconds / 10)
    producer.close()


def number(text: str) -> float:
    digits = re.sub(r"[^\d.]", "", text)
    return float(digits) if digits else 0.0


def test_dashboard_shows_live_traffic(api, indexer, browser, keys, settings, catalog):
    ops_key = keys.create("operations", name="dashboard-browser")[1]
    officer_key = keys.create("officer", name="dashboard-browser")[1]
    origin = api.url
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(origin) else elsewhere.append(request.url))

    # A key of another role is refused with a clear message.
    page.goto(f"{origin}/dashboard")
    page.fill("#api-key", officer_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:has-text('may not open the dashboard')", timeout=10_000)

    page.fill("#api-key", ops_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#status[data-state=live]", timeout=15_000)
    crossings_total = page.locator('tr[data-topic="poe.crossings.v1"] td.total')
    crossings_total.wait_for(timeout=15_000)
    page.wait_for_selector("#health li[data-component=kafka] .badge.up", timeout=15_000)
    before = number(crossings_total.inner_text())

    traffic = threading.Thread(target=publish_traffic, args=(settings, catalog, TRAFFIC, 8.0))
    traffic.start()
    peak_rate = 0.0
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        peak_rate = max(peak_rate, number(page.locator("#total-rate").inner_text()))
        if not traffic.is_alive() and number(crossings_total.inner_text()) >= before + TRAFFIC * 0.5 and peak_rate:
            break
        time.sleep(0.5)
    traffic.join()
    after = number(crossings_total.inner_text())

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    assert after > before, (before, after)
    assert peak_rate > 0
    assert page.locator("#health li[data-component=elasticsearch] .badge.up").count() == 1
    assert page.locator("#lag tbody tr").count() == 2
    assert page.locator("#ports tbody tr").count() >= 1
    assert "updated" in page.locator("#updated").inner_text()
    assert elsewhere == []  # no CDN, no tiles, no outside call
    # The key lives in this tab's sessionStorage only; nothing is kept in localStorage or cookies.
    assert page.evaluate("sessionStorage.getItem('borderhub.dashboard.key')") == ops_key
    assert page.evaluate("localStorage.length") == 0 and context.cookies() == []
    context.close()
