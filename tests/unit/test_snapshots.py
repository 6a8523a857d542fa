"""Watchlist snapshots: a restored state matches exactly as the state it was taken from (also in
a process with another hash seed), and a snapshot that might not be this topic's current state
is refused with its reason."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from services.correlate.links import ListedKeys
from services.correlate.matching.engine import Matcher
from services.correlate.matching.synthetic import crossing, make_person, watchlist
from services.correlate.snapshots import SnapshotStore, TopicIdentity, hash_probe, tombstone_safe_age

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = TopicIdentity("cluster-a", "topic-1", (0, 1, 2), 24 * 3600.0)
DAY = tombstone_safe_age(IDENTITY)  # 23 h
FACE = {"modality": "FACE", "algorithm": "synthetic-face", "algorithm_version": "1"}


def build(seed: int = 3, n: int = 3000) -> tuple[Matcher, list[dict], list[dict]]:
    """A matcher loaded in bulk, then changed live (upserts in the overlay, removals, a
    template), and crossings: a third by listed persons, some carrying listed documents."""
    rng = random.Random(seed)
    people: list = []
    entries = list(watchlist(rng, n, people=people, keep_every=10))
    vectors = np.random.default_rng(seed).standard_normal((20, 32)).astype(np.float32)
    persons = [e for e in entries if e["kind"] == "PERSON"]
    for e, v in zip(persons[:20], vectors):
        e["biometric_templates"] = [{**FACE, "vector": v.tolist(), "quality": None, "captured_at": None}]
    matcher = Matcher()
    matcher.load(entries[: n // 2])
    for e in entries[n // 2:]:
        matcher.upsert(e)
    for e in entries[::17]:
        matcher.remove(e["entry_id"])
    documents = [e for e in entries if e["kind"] == "DOCUMENT"]
    events = []
    for i in range(300):
        person = people[i % len(people)] if i % 3 == 0 else make_person(rng, diverse=True)
        ident = documents[i % len(documents)]["identifiers"][0] if i % 7 == 0 else None
        events.append(crossing(rng, i, person, document=(ident["value"], ident["country"]) if ident else None))
    return matcher, entries, events


def outcome(matcher: Matcher, events: list[dict]) -> list:
    found = [[(m.entry_id, m.score, json.dumps(m.explanation, sort_keys=True)) for m in ms]
             for ms in matcher.match_events("crossing", events)]
    probes = [matcher.gallery.search({**FACE, "vector": v}) for v in
              np.random.default_rng(3).standard_normal((20, 32)).astype(np.float32).tolist()]
    return [found, [[(h.entry_id, h.similarity) for h in hits] for hits in probes], len(matcher)]


def written(tmp_path: Path, matcher: Matcher, listed: ListedKeys | None = None) -> SnapshotStore:
    store = SnapshotStore(tmp_path, "watchlist.entries.v1")
    state = {"matcher": matcher.state(), "listed": listed or ListedKeys()}
    store.write(state, store.new_meta(IDENTITY, {0: 10, 1: 20, 2: 30}, len(matcher)))
    return store


def test_restored_state_matches_exactly_as_the_original(tmp_path):
    matcher, entries, events = build()
    listed = ListedKeys()
    for e in entries:
        listed.upsert(e)
    before = outcome(matcher, events)
    assert sum(map(len, before[0])) > 50 and any(before[1])  # the comparison has matches to lose
    store = written(tmp_path, matcher, listed)
    meta, why = store.usable_meta(IDENTITY, DAY)
    assert meta is not None, why
    assert meta.offsets == {0: 10, 1: 20, 2: 30} and meta.entries == len(matcher)
    state = store.read_state(meta)
    fresh = Matcher()
    fresh.restore(state["matcher"], same_hashes=meta.hash_probe == hash_probe())
    assert outcome(fresh, events) == before
    restored_listed = ListedKeys()
    restored_listed.adopt(state["listed"])
    assert len(restored_listed) == len(listed)
    # Still a live watchlist: the next change applies to the restored state.
    victim = next(m for ms in matcher.match_events("crossing", events) for m in ms)
    fresh.remove(victim.entry_id)
    assert victim.entry_id not in {m.entry_id for ms in fresh.match_events("crossing", events) for m in ms}


def test_rebuilding_postings_gives_the_same_matches(tmp_path):
    matcher, _, events = build(seed=5)
    before = outcome(matcher, events)
    matcher.index.rehash()
    assert outcome(matcher, events) == before


READER = """
import json, sys
from services.correlate.matching.engine import Matcher
from services.correlate.snapshots import SnapshotStore, hash_probe
from tests.unit.test_snapshots import DAY, IDENTITY, build, outcome
store = SnapshotStore(sys.argv[1], "watchlist.entries.v1")
if sys.argv[2] == "write":
    matcher, _, events = build(seed=7)
    store.write({"matcher": matcher.state()}, store.new_meta(IDENTITY, {0: 1}, len(matcher)))
    restored_hashes = None
else:
    meta, why = store.usable_meta(IDENTITY, DAY)
    assert meta is not None, why
    matcher = Matcher()
    restored_hashes = meta.hash_probe == hash_probe()
    matcher.restore(store.read_state(meta)["matcher"], same_hashes=restored_hashes)
    events = build(seed=7)[2]
print(json.dumps({"same_hashes": restored_hashes, "outcome": outcome(matcher, events)}))
"""


def run_with_seed(seed: int, *args: str) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=str(seed), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", READER, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_process_with_another_hash_seed_rebuilds_the_postings(tmp_path):
    original = run_with_seed(1, str(tmp_path), "write")
    same = run_with_seed(1, str(tmp_path), "read")
    other = run_with_seed(2, str(tmp_path), "read")
    assert same["same_hashes"] is True and other["same_hashes"] is False
    assert same["outcome"] == original["outcome"]
    assert other["outcome"] == original["outcome"]


def test_snapshot_written_by_a_forked_child(tmp_path):
    matcher, _, events = build(seed=9, n=1000)
    store = SnapshotStore(tmp_path, "watchlist.entries.v1")
    meta = store.new_meta(IDENTITY, {0: 5}, len(matcher))
    pid = store.write_in_background({"matcher": matcher.state()}, meta)
    assert pid is not None
    matcher.remove(next(iter(matcher.index.entry_ids())))  # the parent goes on; the child keeps its image
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.state_id() == meta.state_id
    fresh = Matcher()
    fresh.restore(store.read_state(meta)["matcher"], same_hashes=True)
    assert len(fresh) == len(matcher) + 1


@pytest.mark.parametrize("change, reason", [
    (lambda i: i._replace(cluster_id="cluster-b"), "another cluster"),
    (lambda i: i._replace(topic_id="topic-2"), "earlier topic"),
    (lambda i: i._replace(topic_id=None), "topic id is unknown"),
    (lambda i: i._replace(partitions=(0, 1)), "partitions"),
    (lambda i: i._replace(delete_retention_s=None), "no safe age is known"),
    (lambda i: i._replace(delete_retention_s=1800.0), "later than the -0.5 h it stays safe"),
])
def test_snapshot_of_another_topic_or_too_old_is_refused(tmp_path, change, reason):
    matcher, _, _ = build(seed=4, n=200)
    store = written(tmp_path, matcher)
    assert store.usable_meta(IDENTITY, DAY)[0] is not None
    changed = change(IDENTITY)
    meta, why = store.usable_meta(changed, tombstone_safe_age(changed))
    assert meta is None and reason in why


def test_snapshot_refused_when_old_code_or_unconfirmed_for_a_day(tmp_path):
    store = written(tmp_path, build(seed=4, n=200)[0])
    meta, _ = store.usable_meta(IDENTITY, DAY)
    assert store.usable_meta(IDENTITY, DAY, now=time.time() + 22 * 3600)[0] is not None
    assert store.usable_meta(IDENTITY, DAY, now=time.time() + 23.5 * 3600)[0] is None
    store.write_meta(dataclasses.replace(meta, confirmed_at=time.time() + 20 * 3600))  # confirmed later
    assert store.usable_meta(IDENTITY, DAY, now=time.time() + 23.5 * 3600)[0] is not None
    store.write_meta(dataclasses.replace(meta, code="0" * 64))
    assert "other matching code" in store.usable_meta(IDENTITY, DAY)[1]


def test_state_file_of_another_snapshot_is_not_read(tmp_path):
    matcher, _, _ = build(seed=4, n=200)
    store = written(tmp_path, matcher)
    first, _ = store.usable_meta(IDENTITY, DAY)
    # A crash between the two renames of a newer snapshot: the meta still names the old state.
    store.write({"matcher": matcher.state()}, store.new_meta(IDENTITY, {0: 99}, len(matcher)))
    with pytest.raises(ValueError, match="does not belong"):
        store.read_state(first)
    assert store.usable_meta(IDENTITY, DAY)[0].offsets == {0: 99}


def test_missing_or_corrupt_meta_is_a_reason_not_a_crash(tmp_path):
    store = SnapshotStore(tmp_path, "watchlist.entries.v1")
    assert store.usable_meta(IDENTITY, DAY) == (None, "no snapshot")
    store.meta_path.write_text("{not json")
    assert "unreadable meta" in store.usable_meta(IDENTITY, DAY)[1]
    store.meta_path.write_text(json.dumps({"format": 1, "offsets": {}}))
    assert "malformed meta" in store.usable_meta(IDENTITY, DAY)[1]


def test_workers_rerun_with_the_installation_hash_seed(tmp_path):
    code = ("import os, sys; from services.correlate.snapshots import run_with_installation_hash_seed; "
            "run_with_installation_hash_seed(sys.argv[1]); print(os.environ['PYTHONHASHSEED'], hash('some name'))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env["PYTHONPATH"] = str(ROOT)

    def start() -> list[str]:
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    first, second = start(), start()
    seed_file = tmp_path / "correlate-hash-seed"
    assert first == second and first[0] == seed_file.read_text()
    assert seed_file.stat().st_mode & 0o077 == 0  # the seed is a secret of the installation
    seed_file.write_text("12345")  # another installation: other hashes
    assert start()[1] != first[1]


def test_leftovers_of_dead_writers_are_removed(tmp_path):
    store = written(tmp_path, build(seed=4, n=100)[0])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f"watchlist.entries.v1.state.{dead.stdout.strip()}.tmp"
    mine = tmp_path / f"watchlist.entries.v1.state.{os.getpid()}.tmp"  # a writer still at work
    leftover.write_bytes(b"half a pickle")
    mine.write_bytes(b"half a pickle")
    store.remove_leftovers()
    assert not leftover.exists() and mine.exists() and store.state_path.exists()


def test_follower_writes_then_confirms_then_writes_again_when_records_arrive(tmp_path):
    from borderhub.settings import Settings
    from services.correlate.follower import TopicFollower, snapshot_policy

    settings = Settings(state_dir=tmp_path, correlate_snapshot_interval=0.01)
    state = {"entries": ["a", "b"]}
    policy = snapshot_policy(settings, "watchlist.entries.v1", capture=lambda: (state, len(state["entries"])),
                             restore=lambda s, same: None, max_age=tombstone_safe_age)
    feed = TopicFollower(settings, "watchlist.entries.v1", apply=lambda record: None, snapshots=policy)
    feed._identity = IDENTITY
    feed.positions = {0: 4, 1: 0, 2: 7}
    feed._loaded()  # the first snapshot, by a child
    assert feed.ready.is_set()
    feed._reap_writer(block=True)
    store = feed.snapshots.store
    first, _ = store.usable_meta(IDENTITY, DAY)
    assert first.offsets == {0: 4, 1: 0, 2: 7} and store.read_state(first) == state

    time.sleep(0.02)
    feed._keep_snapshot()  # nothing applied since: only confirmed
    confirmed, _ = store.usable_meta(IDENTITY, DAY)
    assert confirmed.state_id == first.state_id and confirmed.confirmed_at > first.confirmed_at

    state["entries"].append("c")  # a record applied: a new snapshot at the new offsets
    feed.applied += 1
    feed.positions[1] = 1
    time.sleep(0.02)
    feed._keep_snapshot()
    feed._reap_writer(block=True)
    second, _ = store.usable_meta(IDENTITY, DAY)
    assert second.state_id != first.state_id and second.offsets[1] == 1 and second.entries == 3
    assert store.read_state(second) == {"entries": ["a", "b", "c"]}

    # Another worker sharing the directory wrote its own: ours is not confirmed over it, it is
    # written again.
    store.write({"entries": []}, store.new_meta(IDENTITY, {0: 1}, 0))
    time.sleep(0.02)
    feed._keep_snapshot()
    feed._reap_writer(block=True)
    third, _ = store.usable_meta(IDENTITY, DAY)
    assert third.offsets == second.offsets and store.read_state(third) == {"entries": ["a", "b", "c"]}


def test_link_graph_comes_back_with_its_edges_and_the_live_bounds(tmp_path):
    import pickle

    from services.correlate.links import LinkGraph

    graph = LinkGraph()
    for i in range(50):
        graph.add_edge(f"person:{i}", f"phone:{i % 7}", 1_000 + i)
    restored = pickle.loads(pickle.dumps(graph))
    live = LinkGraph()
    live.adopt(restored)
    assert len(live) == len(graph) and live.neighbours("phone:3") == graph.neighbours("phone:3")
    small = LinkGraph(max_nodes=10)
    small.adopt(pickle.loads(pickle.dumps(graph)))
    assert len(small) <= 10
    assert "phone:6" in small  # the most recently linked stay
