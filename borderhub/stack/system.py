"""``borderhub up``: the stack plus every service, detached, with logs under the state dir."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import httpx

from borderhub.settings import Settings
from borderhub.stack.components import components, tail
from borderhub.stack.jvm import StackError
from borderhub.stack.process import Detached


@dataclass(frozen=True)
class Service:
    name: str
    args: tuple[str, ...]  # arguments of the borderhub CLI
    health_url: str | None  # None: alive is healthy (workers without HTTP)


def services(settings: Settings, demo: bool) -> list[Service]:
    listed = [
        Service("ingest", ("ingest",), f"http://127.0.0.1:{settings.ingest_port}/healthz"),
        Service("correlate", ("correlate",), f"http://127.0.0.1:{settings.correlate_metrics_port}/metrics"),
        Service("indexer", ("indexer",), f"http://127.0.0.1:{settings.indexer_metrics_port}/metrics"),
        Service("search-api", ("search-api",), f"http://127.0.0.1:{settings.api_port}/healthz"),
    ]
    if demo:
        listed.append(Service("simulate", ("simulate", "--rate", "20", "--duration", "0"), None))
    return listed


def _proc(settings: Settings, service: Service) -> Detached:
    return Detached(service.name, settings.run_dir / f"{service.name}.pid",
                    settings.logs_dir / f"{service.name}.log")


def _healthy(service: Service) -> bool:
    if service.health_url is None:
        return True
    try:
        return httpx.get(service.health_url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_service(settings: Settings, service: Service, timeout: float = 60.0) -> int:
    proc = _proc(settings, service)
    pid = proc.pid()
    if pid is None:
        env = dict(os.environ, BORDERHUB_STATE_DIR=str(settings.state_dir), PYTHONUNBUFFERED="1")
        pid = proc.start([sys.executable, "-m", "borderhub", *service.args], env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.pid() is None:
            raise StackError(f"{service.name} exited while starting; see {proc.log_file}\n{tail(proc.log_file)}")
        if _healthy(service):
            return pid
        time.sleep(0.5)
    raise StackError(f"{service.name} did not become healthy in {timeout:.0f} s; see {proc.log_file}")


def up(settings: Settings, demo: bool, progress=print) -> None:
    for component in components(settings, progress):
        component.up()
    from borderhub.topics import ensure_topics
    ensure_topics(settings)
    for service in services(settings, demo):
        progress(f"starting {service.name} ...")
        start_service(settings, service)


def down(settings: Settings, progress=print) -> None:
    # Services first (they flush to Kafka on SIGTERM), then the stack.
    for service in reversed(services(settings, demo=True)):
        if _proc(settings, service).stop(timeout=30):
            progress(f"stopped {service.name}")
    for component in reversed(components(settings, progress)):
        if component.down():
            progress(f"stopped {component.name}")


def status(settings: Settings) -> dict:
    out = {c.name: c.status() for c in components(settings)}
    for service in services(settings, demo=True):
        proc = _proc(settings, service)
        pid = proc.pid()
        state = "stopped" if pid is None else ("running" if _healthy(service) else "starting_or_unhealthy")
        out[service.name] = {"state": state, "address": service.health_url.rsplit("/", 1)[0]
                             if service.health_url else None, "pid": pid, "log": str(proc.log_file)}
    return out
