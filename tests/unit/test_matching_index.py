"""WatchlistIndex: upsert, remove, get, bulk load, compaction, lookups (services/correlate/matching/index.py)."""

import pytest

from services.correlate.matching import index as index_module
from services.correlate.matching.engine import Matcher, subject_keys
from services.correlate.matching.index import WatchlistIndex, entry_keys
from services.correlate.matching.scoring import make_subject, prepare_entry
from services.correlate.matching.synthetic import base_entry


def person(entry_id, name, born="1980-01-01", **kw):
    return base_entry(entry_id, "PERSON", names=[name], birth_dates=[born] if born else [], **kw)


def document(entry_id, number, country="FR", status="STOLEN"):
    return base_entry(entry_id, "DOCUMENT", document_status=status,
                      identifiers=[{"scheme": "PASSPORT", "value": number, "country": country}])


def word(i):
    """A distinct made-up name token for each i (names keep letters only)."""
    syllables = ["ba", "ko", "ri", "mu", "te", "sa", "lo", "ni", "du", "ve"]
    return "".join(syllables[int(d)] for d in f"{i:03d}").capitalize()


def found(index, name=None, born="1980-01-01", docs=()):
    subject = make_subject("q", names=[name] if name else [], birth_dates=[born], documents=docs)
    strong, weak = index.lookup_split(*subject_keys(subject, index, 1))
    return {index.prepared(s).entry_id for s in strong | weak}


def test_upsert_get_len_remove():
    index = WatchlistIndex()
    entry = person("p1", "Ivan Petrov")
    index.upsert(entry)
    assert len(index) == 1 and "p1" in index
    got = index.get("p1")
    assert got["names"] == ["Ivan Petrov"] and got["birth_dates"] == ["1980-01-01"]
    assert found(index, "PETROV, IVAN") == {"p1"}
    assert index.remove("p1") is True
    assert index.remove("p1") is False
    assert len(index) == 0 and index.get("p1") is None
    assert found(index, "PETROV, IVAN") == set()


def test_upsert_replaces_the_entry_and_its_keys():
    index = WatchlistIndex()
    index.upsert(person("p1", "Ivan Petrov"))
    index.upsert(person("p1", "Sergei Kozlov"))
    assert len(index) == 1
    assert found(index, "Ivan Petrov") == set()
    assert found(index, "Sergei Kozlov") == {"p1"}


def test_unchanged_reupsert_is_a_no_op():
    index = WatchlistIndex()
    index.upsert(person("p1", "Ivan Petrov"))
    slot = index.slot("p1")
    index.upsert(person("p1", "Ivan Petrov"))
    assert index.slot("p1") == slot and index.stats()["dead_slots"] == 0


def test_lookup_by_document_with_ocr_confusion():
    index = WatchlistIndex()
    index.extend([document("d1", "X1234B67"), document("d2", "99887766")])
    assert found(index, docs=[("X1234B67", "FR")]) == {"d1"}
    assert found(index, docs=[("X1234867", "FR")]) == {"d1"}  # B read as 8: same OCR-canonical key
    assert found(index, docs=[("X1234567", "FR")]) == set()


def test_birth_years_narrow_name_lookups():
    index = WatchlistIndex()
    index.extend([person("old", "Ivan Petrov", "1950-05-05"), person("same", "Ivan Petrov", "1980-07-07"),
                  person("unknown", "Ivan Petrov", None)])
    assert found(index, "Ivan Petrov", "1980-01-01") == {"same", "unknown"}  # same year
    assert found(index, "Ivan Petrov", "1981-07-07") == {"same", "unknown"}  # same day, year off by one
    # A year off on another day scores below any threshold of a one-year window: not looked up.
    assert found(index, "Ivan Petrov", "1981-01-01") == {"unknown"}
    assert found(index, "Ivan Petrov", "1981") == {"same", "unknown"}  # a year only: within one

    subject = make_subject("q", names=["Ivan Petrov"])  # no birth date: every namesake
    assert {index.prepared(s).entry_id for s in index.lookup_split(*subject_keys(subject, index, 1))[1]} == \
        {"old", "same", "unknown"}


def test_partial_birth_dates_are_found_within_a_year():
    index = WatchlistIndex()
    index.extend([person("year", "Ivan Petrov", "1980"), person("month", "Ivan Petrov", "1979-07"),
                  person("far", "Ivan Petrov", "1977")])
    assert found(index, "Ivan Petrov", "1981-02-03") == {"year"}
    assert found(index, "Ivan Petrov", "1980-02-03") == {"year", "month"}


def test_bulk_load_then_live_updates_then_compaction(monkeypatch):
    monkeypatch.setattr(index_module, "OVERLAY_LIMIT", 50)
    index = WatchlistIndex()
    index.extend(person(f"p{i}", f"{word(i)} {word(999 - i)}") for i in range(200))
    assert index.stats()["base_postings"] > 0 and index.stats()["overlay_postings"] == 0
    for i in range(200, 240):  # past the overlay limit: merged into the base on the way
        index.upsert(person(f"p{i}", f"{word(i)} {word(999 - i)}"))
    for i in range(0, 240, 3):
        index.remove(f"p{i}")
    index.compact()
    stats = index.stats()
    assert stats["overlay_postings"] == 0 and stats["dead_slots"] == 0 and stats["slots"] == len(index)
    for i in (1, 2, 200, 202, 239):  # name keys are fuzzy: look-alike names come along
        assert f"p{i}" in found(index, f"{word(i)} {word(999 - i)}")
    for i in (0, 3, 201, 237):
        assert f"p{i}" not in found(index, f"{word(i)} {word(999 - i)}")


def test_entry_keys_cover_every_identifier():
    entry = prepare_entry(base_entry("x", "VESSEL", identifiers=[
        {"scheme": "IMO", "value": "IMO 9074729", "country": None},
        {"scheme": "MMSI", "value": "636012345", "country": None},
        {"scheme": "PHONE", "value": "+44 7700 900123", "country": None}]))
    assert {"i:9074729", "m:636012345", "t:+447700900123"} <= entry_keys(entry).plain


def test_index_rejects_entries_without_id():
    with pytest.raises(ValueError):
        WatchlistIndex().upsert({"kind": "PERSON", "names": ["A B"]})


def test_matcher_add_and_delete_change_the_outcome():
    matcher = Matcher()
    subject = make_subject("q", names=["GAGARIN, IURII"], birth_dates=["1934-03-09"])
    assert matcher.match_subject(subject) == []
    matcher.upsert(person("p1", "Юрий Гагарин", "1934-03-09"))
    assert [m.entry_id for m in matcher.match_subject(subject)] == ["p1"]
    matcher.remove("p1")
    assert matcher.match_subject(subject) == []


def test_suffixed_name_keys_hash_alike_on_both_sides():
    # Entries mix (name key, birth-date suffix) hashes in Python, queries in numpy: the same value.
    from services.correlate.matching.index import EntryKeys, NameKeys, entry_hashes
    index = WatchlistIndex()
    names, suffixes = ["s:bdl|ggln", "p:ifn|ptrf", "s:fn|bdrb"], ["@-", "@1980", "@1980-3-4"]
    expected = set(entry_hashes(EntryKeys(set(), NameKeys(names, suffixes))))
    hashes, owners = index._query_hashes([({"i:123"}, NameKeys(names, suffixes)), ((), NameKeys(names))])
    assert len(expected) == 9 and expected <= set(hashes.tolist())
    assert set(hashes[owners == 1].tolist()) == expected  # the first query's weak keys
    assert set(hashes[owners == 3].tolist()) == set(entry_hashes(EntryKeys(set(names), NameKeys())))
