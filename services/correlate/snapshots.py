"""Snapshots of what a worker builds from a followed topic: a worker restarts in seconds, not
in the minutes it takes to read and index a million watchlist entries (or a month of link
records) again.

A snapshot is the state (the watchlist: index, biometric gallery, listed graph keys; the link
graph), pickled, with the topic offsets it reflects. On start the worker restores it and
reads the topic from those offsets on, so what changed meanwhile (adds, changes, tombstones,
new links) still applies. A snapshot is used only when it is certainly the state of *this*
topic:

* the same Kafka cluster id and topic id (a topic deleted and created again has a new id);
* written by the same matching code and libraries (``code_fingerprint``): a new release
  rebuilds from the topic, since its keys or prepared entries may differ;
* offsets within each partition's current range (the follower checks);
* confirmed current within the topic's safe age (``max_age_s``): for the compacted watchlist
  its ``delete.retention.ms`` less a margin, since compaction may drop a tombstone after that
  long, and a restored entry whose tombstone is gone would never be deleted.

Two files per topic: ``<topic>.state`` (a JSON header line, then the pickle) and
``<topic>.meta.json`` (what the checks above read without loading the state; rewritten alone
to confirm an unchanged snapshot). Both are written to a temporary name and renamed, and the
meta names its state file's random id, so a crash mid-write leaves the previous pair usable or
nothing usable, never a mix. Snapshots are the worker's own local state, like its faust data
directory: whoever can write the state directory can already change what the worker runs.

Writing forks: the child pickles a copy-on-write image of the state while the worker goes on
correlating (a million entries pickle in about 3 s, a pause live traffic must not see)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from borderhub.stack.process import pid_alive

log = logging.getLogger("borderhub.correlate.snapshot")

FORMAT = 1
RETENTION_MARGIN_S = 3600.0  # a snapshot expires this long before tombstones may be compacted away
# Libraries whose output the prepared entries and keys depend on (transliteration, parsing).
_LIBRARIES = ("rigour", "normality", "numpy", "usearch", "rapidfuzz", "jellyfish", "phonenumbers",
              "python-stdnum", "pycountry", "fastavro")
_CODE_ROOTS = ("services/correlate/matching", "borderhub/domain")
_CODE_FILES = ("services/correlate/links.py", "services/correlate/snapshots.py")
_HASH_PROBE = "borderhub watchlist hash probe"


class TopicIdentity(NamedTuple):
    cluster_id: str | None
    topic_id: str | None
    partitions: tuple[int, ...]
    delete_retention_s: float | None


@dataclass(frozen=True)
class SnapshotMeta:
    state_id: str
    topic: str
    cluster_id: str
    topic_id: str
    offsets: dict[int, int]  # partition -> next offset to read
    code: str
    hash_probe: int  # this process's hash of a fixed string: equal means the same string hashes
    entries: int
    written_at: float
    confirmed_at: float  # last time the worker had read the topic to these offsets and no further

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **self.__dict__, "offsets": {str(p): o for p, o in self.offsets.items()}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SnapshotMeta:
        fields = {k: v for k, v in doc.items() if k != "format"}
        fields["offsets"] = {int(p): int(o) for p, o in doc["offsets"].items()}
        return cls(**fields)


def tombstone_safe_age(identity: TopicIdentity) -> float | None:
    """Safe age of a compacted topic's snapshot: tombstones are kept delete.retention.ms."""
    if identity.delete_retention_s is None:
        return None
    return identity.delete_retention_s - RETENTION_MARGIN_S


def hash_probe() -> int:
    return hash(_HASH_PROBE)


def installation_hash_seed(state_dir: Path) -> str:
    """This installation's string-hash seed, made at random on first use and kept in the
    state directory (readable by its owner only). Workers run with it, so a snapshot's
    postings stay valid across restarts, and hashes stay unpredictable to whoever sends names
    (the point of Python's random seed: no crafted collisions)."""
    path = Path(state_dir) / "correlate-hash-seed"
    try:
        return str(int(path.read_text().strip()))
    except (FileNotFoundError, ValueError):
        path.parent.mkdir(parents=True, exist_ok=True)
        seed = str(int.from_bytes(os.urandom(4), "big") % 4_294_967_295 + 1)  # PYTHONHASHSEED: 1..2**32-1
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(seed)
        try:
            os.link(tmp, path)  # two workers starting together: the first one's seed wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return str(int(path.read_text().strip()))


def run_with_installation_hash_seed(state_dir: Path) -> None:
    """Re-execute this process with the installation's hash seed, unless it runs with a fixed
    seed already (the installation's, or one the operator chose). Call it first thing:
    everything before it runs twice."""
    if os.environ.get("PYTHONHASHSEED", "random") != "random":
        return
    seed = installation_hash_seed(state_dir)
    os.execve(sys.executable, sys.orig_argv, {**os.environ, "PYTHONHASHSEED": seed})


def code_fingerprint() -> str:
    """Digest of the code and library versions that shape the watchlist state."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256(f"{FORMAT} {sys.version_info[:2]}".encode())
    files = [p for r in _CODE_ROOTS for p in sorted((root / r).rglob("*")) if p.suffix in (".py", ".pyx", ".json",
                                                                                           ".txt", ".csv", ".tsv")]
    for path in files + [root / f for f in _CODE_FILES]:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent".encode())
    return digest.hexdigest()


def describe_topic(bootstrap: str, topic: str) -> TopicIdentity:
    """Cluster id, topic id, partitions and tombstone retention of a topic (blocking)."""
    from kafka import KafkaConsumer
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None)
    try:
        partitions = tuple(sorted(consumer.partitions_for_topic(topic) or ()))
        cluster = consumer._client.cluster  # kafka-python keeps both ids from the metadata response
        topic_id = cluster.topic_id(topic)
        identity = (cluster.cluster_id, None if topic_id is None else str(topic_id), partitions)
    finally:
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                       configs=["delete.retention.ms"])],
                                       config_filter="all")  # the default counts too
        value = found.get("topic", {}).get(topic, {}).get("delete.retention.ms", {}).get("value")
    except Exception as exc:  # no retention known: no snapshot is trusted
        log.warning("cannot read delete.retention.ms of %s: %s", topic, exc)
        value = None
    finally:
        admin.close()
    return TopicIdentity(*identity, None if value is None else int(value) / 1000)


class SnapshotStore:
    """The snapshot files of one topic in one directory."""

    def __init__(self, directory: Path, topic: str) -> None:
        self.directory = Path(directory)
        self.topic = topic
        self.state_path = self.directory / f"{topic}.state"
        self.meta_path = self.directory / f"{topic}.meta.json"
        self._code: str | None = None

    @property
    def code(self) -> str:
        if self._code is None:
            self._code = code_fingerprint()
        return self._code

    # ------------------------------------------------------------------ reading

    def usable_meta(self, identity: TopicIdentity, max_age_s: float | None,
                    now: float | None = None) -> tuple[SnapshotMeta | None, str]:
        """The snapshot's meta when the snapshot may be restored for this topic, else (None, why).
        max_age_s: how long after its last confirmation a snapshot stays safe (None: unknown)."""
        try:
            doc = json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            return None, "no snapshot"
        except (OSError, ValueError) as exc:
            return None, f"unreadable meta: {exc}"
        if doc.get("format") != FORMAT:
            return None, f"format {doc.get('format')} (this code writes {FORMAT})"
        try:
            meta = SnapshotMeta.from_json(doc)
        except (KeyError, TypeError, ValueError) as exc:
            return None, f"malformed meta: {exc}"
        now = time.time() if now is None else now
        if meta.topic != self.topic:
            return None, f"snapshot of {meta.topic}"
        if not identity.cluster_id or not identity.topic_id:
            return None, "the cluster or topic id is unknown"
        if (meta.cluster_id, meta.topic_id) != (identity.cluster_id, identity.topic_id):
            return None, "another cluster or an earlier topic of the same name"
        if meta.code != self.code:
            return None, "written by other matching code or libraries"
        if max_age_s is None:
            return None, "no safe age is known for snapshots of this topic"
        age = now - meta.confirmed_at
        if age > max_age_s:
            return None, f"last confirmed {age / 3600:.1f} h ago, later than the {max_age_s / 3600:.1f} h it stays safe"
        if not set(meta.offsets) <= set(identity.partitions):
            return None, "partitions of the snapshot are gone"
        return meta, "usable"

    def state_id(self) -> str | None:
        """The id in the state file's header (None without a readable one)."""
        try:
            with open(self.state_path, "rb") as f:
                return json.loads(f.readline()).get("state_id")
        except (OSError, ValueError):
            return None

    def read_state(self, meta: SnapshotMeta) -> Any:
        """The pickled state the meta describes; ValueError when the state file is another one."""
        with open(self.state_path, "rb") as f:
            header = json.loads(f.readline())
            if header.get("state_id") != meta.state_id:
                raise ValueError("the state file does not belong to the meta")
            return pickle.load(f)

    # ------------------------------------------------------------------ writing

    def remove_leftovers(self) -> None:
        """Temporary files of writers that died mid-write (a killed worker's child)."""
        for path in self.directory.glob(f"{self.topic}.*.tmp"):
            pid = path.suffixes[-2].lstrip(".") if len(path.suffixes) >= 2 else ""
            if pid.isdigit() and not pid_alive(int(pid)):
                path.unlink(missing_ok=True)

    def new_meta(self, identity: TopicIdentity, offsets: dict[int, int], entries: int) -> SnapshotMeta:
        now = time.time()
        return SnapshotMeta(uuid.uuid4().hex, self.topic, identity.cluster_id or "", identity.topic_id or "",
                            dict(offsets), self.code, hash_probe(), entries, now, now)

    def write(self, state: Any, meta: SnapshotMeta) -> int:
        """State then meta, each atomically. Returns the bytes written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f"{self.state_path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(json.dumps({"state_id": meta.state_id}).encode() + b"\n")
                pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
                size = f.tell()
            os.replace(tmp, self.state_path)
        finally:
            tmp.unlink(missing_ok=True)
        self.write_meta(meta)
        return size

    def write_meta(self, meta: SnapshotMeta) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.meta_path.with_name(f"{self.meta_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(meta.to_json()))
        os.replace(tmp, self.meta_path)

    def write_in_background(self, state: Any, meta: SnapshotMeta) -> int | None:
        """Fork a child that writes the state as it is now; its pid, or None when the platform
        cannot fork (then the caller may write in the foreground)."""
        if not hasattr(os, "fork"):
            return None
        pid = os.fork()
        if pid:
            return pid
        # The child: touch nothing shared (no logging, no event loop, no signal wake-up fd of
        # the parent's loop), write, and leave without running the parent's exit handlers.
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            self.write(state, meta)
            code = 0
        except BaseException:  # noqa: BLE001 - the parent learns of it from the exit status
            code = 1
        finally:
            os._exit(code)
