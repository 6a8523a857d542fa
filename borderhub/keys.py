"""API keys: created by ``borderhub keys create``, sent as ``X-API-Key``, stored hashed.

A key reads ``bh_<id>_<secret>``. The id finds the record; only SHA-256 of the whole key is
stored. Keys are 256-bit random, so a fast hash is enough (no password stretching needed), and
the comparison is constant-time. The store is one JSON file (mode 600) in the state directory,
re-read when it changes, so a revoked key stops working within a second everywhere.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROLES = ("producer", "officer", "investigator", "analyst", "operations", "admin")


class KeyError_(ValueError):
    """Bad key request (unknown role, unknown key id)."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: str
    key_hash: str
    ports: tuple[str, ...] = ()
    name: str = ""
    created_at: str = ""
    revoked_at: str | None = None

    def may_publish_for(self, port_locode: str) -> bool:
        return not self.ports or port_locode.upper() in self.ports


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class KeyStore:
    path: Path
    _cache: dict[str, ApiKey] = field(default_factory=dict, repr=False)
    _stamp: tuple[int, int] | None = field(default=None, repr=False)

    def _read(self) -> dict[str, ApiKey]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._cache, self._stamp = {}, None
            return self._cache
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            records = json.loads(self.path.read_text() or "[]")
            self._cache = {r["key_id"]: ApiKey(**{**r, "ports": tuple(r.get("ports", ()))}) for r in records}
            self._stamp = stamp
        return self._cache

    def _write(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump([asdict(k) for k in keys.values()], out, indent=1)
        os.replace(tmp, self.path)

    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self.path.with_suffix(".lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def create(self, role: str, ports: list[str] | tuple[str, ...] = (), name: str = "") -> tuple[ApiKey, str]:
        if role not in ROLES:
            raise KeyError_(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if ports and role != "producer":
            raise KeyError_("--port limits apply to producer keys only")
        from borderhub.domain.ports import check_locode
        for port in ports:
            problems = check_locode(port.upper(), "port")
            if problems:
                raise KeyError_(problems[0].message)
        with self._locked():
            keys = dict(self._read())
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            token = f"bh_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(key_id, role, _hash(token), tuple(p.upper() for p in ports), name,
                            dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
            keys[key_id] = record
            self._write(keys)
        return record, token

    def revoke(self, key_id: str) -> None:
        with self._locked():
            keys = dict(self._read())
            if key_id not in keys:
                raise KeyError_(f"no key with id {key_id}")
            keys[key_id] = ApiKey(**{**asdict(keys[key_id]),
                                     "revoked_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
            self._write(keys)

    def all(self) -> list[ApiKey]:
        return list(self._read().values())

    def verify(self, token: str | None) -> ApiKey | None:
        """The key's record if ``token`` is a valid, unrevoked key; else None."""
        if not token or not token.startswith("bh_") or token.count("_") < 2:
            return None
        key_id = token.split("_", 2)[1]
        record = self._read().get(key_id)
        if record is None or record.revoked_at:
            return None
        return record if hmac.compare_digest(record.key_hash, _hash(token)) else None
