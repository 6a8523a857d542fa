"""Shared fixtures. Integration tests run against real Kafka and Elasticsearch:
- ``BORDERHUB_KAFKA_BOOTSTRAP`` and ``BORDERHUB_ES_URL`` given and ``BORDERHUB_TEST_EXTERNAL=1``:
  that external cluster;
- else a reachable Docker engine: testcontainers;
- else the project's own JVM stack (``borderhub stack up``), started once per session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _docker_available() -> bool:
    try:
        import docker
        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(bootstrap: str, es_url: str) -> None:
    """What `borderhub up` does before the services start: the hub's topics and indices."""
    from borderhub.settings import Settings
    from borderhub.topics import ensure_topics
    from services.search_api.es_setup import ensure_indices, make_client
    settings = Settings(kafka_bootstrap=bootstrap, es_url=es_url)
    ensure_topics(settings)
    ensure_indices(make_client(settings), settings)


@pytest.fixture(scope="session")
def stack():
    """Addresses of a running Kafka and Elasticsearch, with the hub's topics and indices:
    (kafka_bootstrap, es_url)."""
    if os.environ.get("BORDERHUB_TEST_EXTERNAL") == "1":
        _prepare(os.environ["BORDERHUB_KAFKA_BOOTSTRAP"], os.environ["BORDERHUB_ES_URL"])
        yield os.environ["BORDERHUB_KAFKA_BOOTSTRAP"], os.environ["BORDERHUB_ES_URL"]
        return
    if _docker_available():
        from testcontainers.elasticsearch import ElasticSearchContainer
        from testcontainers.kafka import KafkaContainer
        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka, \
                ElasticSearchContainer("docker.elastic.co/elasticsearch/elasticsearch:8.19.4", mem_limit="2g") as es:
            bootstrap, es_url = kafka.get_bootstrap_server(), es.get_url()
            os.environ["BORDERHUB_KAFKA_BOOTSTRAP"], os.environ["BORDERHUB_ES_URL"] = bootstrap, es_url
            _prepare(bootstrap, es_url)
            yield bootstrap, es_url
        return
    from borderhub.settings import get_settings
    from borderhub.stack.components import components
    settings = get_settings()
    already_running = all(c.status()["state"] == "running" for c in components(settings))
    result = subprocess.run([sys.executable, "-m", "borderhub", "stack", "up"], capture_output=True, text=True)
    assert result.returncode == 0, f"borderhub stack up failed:\n{result.stdout}\n{result.stderr}"
    _prepare(settings.kafka_bootstrap, settings.es_url)
    yield settings.kafka_bootstrap, settings.es_url
    if not already_running:  # leave the machine as we found it
        subprocess.run([sys.executable, "-m", "borderhub", "stack", "down"], capture_output=True)


@pytest.fixture(scope="session")
def settings(stack, tmp_path_factory):
    """Settings pointing at the test stack, with the test session's own key store."""
    from borderhub.settings import Settings
    keys_dir = tmp_path_factory.mktemp("keys")
    return Settings(kafka_bootstrap=stack[0], es_url=stack[1], api_keys_file=keys_dir / "api_keys.json")


@pytest.fixture(scope="session")
def catalog():
    from borderhub.avro import SchemaCatalog
    from borderhub.settings import get_settings
    return SchemaCatalog(get_settings().schemas_dir)


class ServiceProcess:
    """A borderhub service run as a real process, so tests can kill -9 and restart it."""

    def __init__(self, args: list[str], env: dict[str, str], health_url: str, log: Path):
        self.args, self.env, self.health_url, self.log = args, env, health_url, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60, wait: bool = True) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "borderhub", *self.args], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"service exited: {self.log.read_text()[-3000:]}"
            if self.healthy():
                return
            time.sleep(0.3)
        raise TimeoutError(f"{self.args} not healthy: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture(scope="session")
def ingest(settings, tmp_path_factory):
    """The ingest gateway on a free port, as a separate process."""
    port = _free_port()
    env = dict(os.environ, BORDERHUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, BORDERHUB_ES_URL=settings.es_url,
               BORDERHUB_API_KEYS_FILE=str(settings.keys_file), BORDERHUB_INGEST_PORT=str(port),
               PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("logs") / "ingest.log"
    service = ServiceProcess(["ingest"], env, f"http://127.0.0.1:{port}/healthz", log)
    service.start()
    service.url = f"http://127.0.0.1:{port}"
    yield service
    service.stop()


@pytest.fixture(scope="session")
def keys(settings):
    from borderhub.keys import KeyStore
    return KeyStore(settings.keys_file)


@pytest.fixture(scope="session")
def producer_key(keys):
    return keys.create("producer", name="tests")[1]
