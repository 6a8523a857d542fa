"""Who may call what, how often, and the record of what they saw.

- ``require(*roles)``: a dependency that answers 401 without a valid ``X-API-Key``, 429 when
  the key's token bucket is empty, 403 when the key's role is not allowed.
- ``AuditLog``: one append-only record per search and record view in ``bh-audit``. Writing it
  is part of answering: when the record cannot be written the caller gets 503, not data.
- ``strip_vectors`` / ``SafeJSONResponse``: biometric templates never leave the API, whatever
  a document happens to hold.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import orjson
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from prometheus_client import Counter

from borderhub.keys import ApiKey, KeyStore
from services.search_api.indices import AUDIT_ALIAS
from services.search_api.queries import iso

log = logging.getLogger("borderhub.search_api")

AUDIT_RECORDS = Counter("borderhub_search_audit_records_total", "Audit records written", ["action"])
AUDIT_FAILURES = Counter("borderhub_search_audit_failures_total", "Audit records that could not be written")
RATE_LIMITED = Counter("borderhub_search_rate_limited_total", "Requests refused by the per-key rate limit")

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Key from `borderhub keys create`.")

# Who may do what. Operations staff see aggregates and health, never persons.
SEARCH = ("officer", "investigator", "analyst", "admin")
NETWORK = ("investigator", "analyst", "admin")
ALERT_READ = ("officer", "investigator", "analyst", "admin")
ALERT_TRIAGE = ("officer", "investigator", "admin")
STATS = ("analyst", "operations", "admin", "investigator")
SCREEN = ("officer", "investigator", "admin")
WATCHLIST_READ = ("investigator", "admin")
WATCHLIST_WRITE = ("admin",)
EXPORT = ("investigator", "analyst", "admin")
AUDIT = ("admin",)
DASHBOARD = ("operations", "admin")


# --- biometric templates ------------------------------------------------------------------------

def is_vector_key(key: str) -> bool:
    return key == "vector" or key.endswith("_vector")


def strip_vectors(value: Any) -> Any:
    """``value`` without any ``vector`` / ``*_vector`` member, at any depth. Copy on write:
    what holds no vector is returned as is (every answer passes through here)."""
    if isinstance(value, dict):
        out = None
        for key, item in value.items():
            if isinstance(key, str) and is_vector_key(key):
                out = dict(value) if out is None else out
                del out[key]
                continue
            stripped = strip_vectors(item)
            if stripped is not item:
                out = dict(value) if out is None else out
                out[key] = stripped
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        items = [strip_vectors(v) for v in value]
        return value if all(a is b for a, b in zip(items, value)) and isinstance(value, list) else items
    return value


class SafeJSONResponse(JSONResponse):
    """The API's JSON response: vectors removed, then rendered with orjson.

    Rendered first as it is: a member named ``vector`` or ``*_vector`` always shows in the JSON
    as ``vector":``, so when those bytes are absent there is nothing to strip and the answer
    goes out as rendered; otherwise it is stripped and rendered again. Walking every answer in
    Python was the largest CPU cost of a search (50 events are some 3,000 values)."""

    def render(self, content: Any) -> bytes:
        rendered = orjson.dumps(content, default=str)
        if b'vector":' not in rendered:
            return rendered
        return orjson.dumps(strip_vectors(content), default=str)


# --- rate limit ---------------------------------------------------------------------------------

class RateLimiter:
    """A token bucket per key: ``per_minute`` requests of burst, refilled evenly over a minute.
    In memory, per process: with several API processes each enforces its own share."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when the request may go ahead, else the seconds until a token is back."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / self.rate


# --- authentication and roles -------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    key_id: str
    role: str
    name: str

    @classmethod
    def of(cls, key: ApiKey) -> "Caller":
        return cls(key.key_id, key.role, key.name)


class Guard:
    """Keys and rate limits of one app."""

    def __init__(self, keys: KeyStore, limiter: RateLimiter):
        self.keys = keys
        self.limiter = limiter

    def check(self, token: str | None, roles: Iterable[str]) -> Caller:
        key = self.keys.verify(token)
        if key is None:
            raise HTTPException(401, "missing or invalid X-API-Key", headers={"WWW-Authenticate": "API-Key"})
        wait = self.limiter.take(key.key_id)
        if wait > 0:
            RATE_LIMITED.inc()
            raise HTTPException(429, "rate limit exceeded for this key",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if key.role not in roles:
            raise HTTPException(403, f"role {key.role} may not use this endpoint")
        return Caller.of(key)


def require(*roles: str):
    """Dependency: the caller, when their key is valid, within its rate and of one of ``roles``."""
    allowed = frozenset(roles)

    # async: FastAPI runs a plain def dependency in its thread pool, a thread hand-off per request
    # for what is a dictionary look-up, a hash and a stat of the key file.
    async def dependency(request: Request, token: str | None = Depends(api_key_header)) -> Caller:
        caller = request.app.state.guard.check(token, allowed)
        request.state.caller = caller
        return caller

    dependency.__doc__ = f"Roles: {', '.join(roles)}"
    return dependency


# --- audit --------------------------------------------------------------------------------------

MAX_AUDITED_IDS = 1000


def normalise_params(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters as the audit stores them: set values only, as strings (a flattened field)."""
    out: dict[str, Any] = {}
    for name, value in sorted(params.items()):
        if value is None or value == [] or value == ():
            continue
        if isinstance(value, (list, tuple)):
            out[name] = [_text(v) for v in value]
        else:
            out[name] = _text(value)
    return out


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:1000]


class AuditLog:
    """Writes audit records in bulk, by group commit: each request waits until its own record
    is acknowledged (no record, no answer), while records of concurrent requests share one
    bulk request instead of one index request each."""

    MAX_BATCH = 500

    def __init__(self, es):
        self.es = es
        self._pending: list[tuple[dict, asyncio.Future]] = []
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task | None = None

    async def record(self, request: Request, caller: Caller, action: str, params: dict[str, Any] | None = None,
                     results: int = 0, record_ids: Iterable[str] = (), status: int = 200) -> None:
        ids = [str(i) for i in record_ids][:MAX_AUDITED_IDS]
        doc = {
            "at": iso(dt.datetime.now(dt.timezone.utc)),
            "key_id": caller.key_id, "role": caller.role, "key_name": caller.name,
            "client": request.client.host if request.client else None,
            "method": request.method, "path": request.url.path, "action": action,
            "query": normalise_params(params or {}), "status": status, "results": results, "record_ids": ids,
        }
        written = asyncio.get_running_loop().create_future()
        self._pending.append((doc, written))
        self._start()
        try:
            await written
        except Exception as exc:
            AUDIT_FAILURES.inc()
            log.error("audit record not written (%s); refusing the answer", exc)
            raise HTTPException(503, "audit log unavailable; request not served") from None
        AUDIT_RECORDS.labels(action).inc()

    def _start(self) -> None:
        if self._writer is None or self._writer.done():
            self._wake = asyncio.Event()
            self._writer = asyncio.get_running_loop().create_task(self._write_forever())
        self._wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:self.MAX_BATCH], self._pending[self.MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[tuple[dict, asyncio.Future]]) -> None:
        operations: list[dict] = []
        for doc, _ in batch:
            operations += [{"create": {"_index": AUDIT_ALIAS}}, doc]
        try:
            # require_alias: never let a write auto-create a concrete "bh-audit" index with guessed
            # mappings before the real one is set up.
            response = await self.es.bulk(operations=operations, require_alias=True)
            outcomes = [item["create"] for item in response["items"]]
        except Exception as exc:  # Elasticsearch away: every waiting request fails closed
            outcomes = [{"status": 503, "error": str(exc)}] * len(batch)
        for (_, written), outcome in zip(batch, outcomes):
            if written.done():  # the request was cancelled meanwhile
                continue
            if outcome.get("status", 500) < 300:
                written.set_result(None)
            else:
                written.set_exception(RuntimeError(str(outcome.get("error"))[:300]))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
