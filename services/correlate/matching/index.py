"""WatchlistIndex: watchlist entries by blocking key, fast and compact at a million entries.

Layout
------
Every entry gets a *slot* (an int). Per slot the index keeps the entry as a marshalled
``PreparedEntry`` tuple (a few hundred bytes; decoded only for candidates) and a few columns in
``array``/``bytearray`` form for cheap rejection before any decoding: kind, birth-year range,
sex, validity window, source list, alive flag; and a listed person's name forms, so that the
many namesakes a name comparison rules out are never decoded.

Postings (key -> slots) live in two places:

* the *base*: two numpy arrays, 64-bit key hashes sorted and the slot of each posting, plus a
  bucket table on the top bits of the hash. A lookup reads the bucket start and a fixed window
  of the sorted keys for all the query's keys at once (one vectorised gather, about two cache
  misses per key, where a plain binary search over tens of millions of keys costs ~20 misses).
* the *overlay*: a dict of recent upserts, merged into the base (``compact``) when it grows.

Keys are the identifier keys of ``identifiers.entry_identifier_keys`` and, for persons and
organisations, the name blocking keys of ``names.blocking_keys``; the index also keeps the
vocabulary of listed name tokens, with which a query's name keys tolerate a typo. Hashes are Python's string
hash, so the postings mean something only in a process with the same hash seed (a snapshot
restored elsewhere is ``rehash``-ed; see ``services/correlate/snapshots.py``);
a hash collision only adds a candidate that scoring then rejects. A name key with a birth-date
suffix is not spelled out: its hash mixes the two hashes (``suffixed_hashes``), so a query's
dozens of (name key, suffix) combinations are one vectorised step, not dozens of new strings.

Removing or replacing an entry marks its slot dead: its postings stay until the next
compaction and are skipped on lookup. Re-upserting an unchanged entry is a no-op, so a full
reload of a feed does not grow the index.
"""

from __future__ import annotations

import marshal
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .identifiers import entry_identifier_keys
from .names import TokenVocabulary, blocking_keys, key_units
from .scoring import PreparedEntry, prepare_entry

__all__ = ["KIND_CODES", "EntryKeys", "NameKeys", "WatchlistIndex", "entry_keys", "query_name_keys"]

KIND_CODES = {"UNKNOWN": 0, "PERSON": 1, "DOCUMENT": 2, "VEHICLE": 3, "VESSEL": 4, "PHONE": 5, "ORGANISATION": 6}
SEX_CODES = {"M": 1, "F": 2}
_MASK64 = (1 << 64) - 1
_SUFFIX_MIX = 0x9E3779B97F4A7C15  # odd, so (name hash * mix + suffix hash) mod 2**64 keeps names apart
_NEVER_BEFORE = -(1 << 63)
_NEVER_AFTER = (1 << 63) - 1
WINDOW = 16  # sorted keys read per query key; longer runs fall back to a binary search
OVERLAY_LIMIT = 250_000  # postings held in the dict overlay before merging into the base
DEAD_FRACTION = 0.25  # renumber slots once this share of them is dead


NO_YEAR = "@-"
_NO_ROWS = np.empty(0, dtype=np.int64)
_NO_SLOTS = np.empty(0, dtype=np.uint32)


class NameKeys(NamedTuple):
    """Name keys to look up: each key with each suffix, or the plain keys when there is none."""
    keys: Collection[str] = ()
    suffixes: Sequence[str] = ()


class EntryKeys(NamedTuple):
    """The postings of an entry: plain keys (identifiers, names), and name keys with suffixes."""
    plain: set[str]
    suffixed: NameKeys


def entry_keys(entry: PreparedEntry) -> EntryKeys:
    """All lookup keys of an entry: identifiers, plus names for persons and organisations.

    A person's name keys come twice: plain, for queries that give no birth date, and with
    birth-date suffixes (``date_suffixes``), for queries that give one and so only need
    namesakes whose birth date can still agree well enough."""
    keys = entry_identifier_keys({"scheme": s, "value": v} for s, v, _, _ in entry.identifiers)
    suffixed = NameKeys()
    if entry.kind == "PERSON":
        names = blocking_keys(entry.forms)
        keys |= names
        suffixed = NameKeys(names, date_suffixes(entry.dates))
    elif entry.kind == "ORGANISATION":
        keys |= {"o" + k for k in blocking_keys(entry.forms)}
    return EntryKeys(keys, suffixed)


def entry_hashes(keys: EntryKeys) -> list[int]:
    hashes = [key_hash(k) for k in keys.plain]
    names, suffixes = keys.suffixed
    if suffixes:
        mixed = [key_hash(suffix) for suffix in suffixes]
        hashes.extend((key_hash(k) * _SUFFIX_MIX + m) & _MASK64 for k in names for m in mixed)
    return hashes


def date_suffixes(dates: Iterable[tuple[int, int, int]]) -> list[str]:
    """Birth-date suffixes of an entry's name keys: "@1975" for each birth year, and
    "@1975-3-12" for a full date (found by queries born a year off on the same day) or
    "@~1975" for a partial one (found by queries born within a year of it); "@-" for none."""
    out = set()
    for year, month, day in dates:
        out.add(f"@{year}")
        out.add(f"@{year}-{month}-{day}" if month and day else f"@~{year}")
    return sorted(out) or [NO_YEAR]


def query_name_keys(name_keys: Collection[str], birth_dates: Iterable[tuple[int, int, int]],
                    year_window: int | None) -> NameKeys:
    """The name keys a person query looks up: entries of unknown birth, and those born within
    year_window years of the query's birth dates; plain when it gives no date or year_window
    is None.

    With a window of one year and a full date, precisely the entries whose dates can still agree:
    any date of the same year, the same day a year off, or a partial date a year off. (A
    full date a year off on another day costs more than the threshold allows: that is what
    makes the window one year, see ``Matcher._year_window``.)"""
    suffixes = {NO_YEAR}
    for year, month, day in birth_dates:
        if year_window == 1 and month and day:
            suffixes.add(f"@{year}")
            suffixes.update((f"@{year - 1}-{month}-{day}", f"@{year + 1}-{month}-{day}",
                             f"@~{year - 1}", f"@~{year + 1}"))
        elif year_window is not None:
            suffixes.update(f"@{year + d}" for d in range(-year_window, year_window + 1))
    if len(suffixes) == 1:
        return NameKeys(name_keys)
    return NameKeys(name_keys, sorted(suffixes))


def key_hash(key: str) -> int:
    return hash(key) & _MASK64


def suffixed_hashes(name_hashes: np.ndarray, suffix_hashes: np.ndarray) -> np.ndarray:
    """The hash of every (name key, suffix) pair of two arrays of equal length, as
    ``entry_hashes`` mixes them (uint64 arithmetic wraps modulo 2**64 as the masks do)."""
    return name_hashes * np.uint64(_SUFFIX_MIX) + suffix_hashes


class WatchlistIndex:
    """Watchlist entries by entry id and by blocking key. Not thread-safe: one worker owns it."""

    def __init__(self) -> None:
        self._slot_of: dict[str, int] = {}
        self._records: list[bytes | None] = []
        self._person_forms: list[tuple[str, ...] | None] = []  # name forms of persons, None otherwise
        self._alive = bytearray()
        self.kind = bytearray()
        self.sex = bytearray()
        self.year_lo = array("h")
        self.year_hi = array("h")
        self.valid_from = array("q")
        self.valid_until = array("q")
        self.source = array("H")
        self.sources: list[str] = []
        self._source_code: dict[str, int] = {}
        self._keys = np.empty(0, dtype=np.uint64)
        self._slots = np.empty(0, dtype=np.uint32)
        self._shift = np.uint64(63)
        self._bucket = np.zeros(3, dtype=np.int64)
        self._overlay: dict[int, list[int]] = {}
        self._overlay_postings = 0
        self._dead = 0
        self._window = np.arange(WINDOW, dtype=np.int64)
        self.vocabulary = TokenVocabulary()  # name tokens of persons, for typo-tolerant queries
        self.org_vocabulary = TokenVocabulary()

    # ------------------------------------------------------------------ entries

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._slot_of

    def get(self, entry_id: str) -> dict[str, Any] | None:
        """The entry as upserted (template vectors excepted: the biometric gallery keeps them)."""
        slot = self._slot_of.get(entry_id)
        return None if slot is None else self.prepared(slot).to_entry()

    def prepared(self, slot: int) -> PreparedEntry:
        return PreparedEntry._make(marshal.loads(self._records[slot]))

    def person_forms(self, slot: int) -> tuple[str, ...] | None:
        """The name forms of a listed person (None for other kinds)."""
        return self._person_forms[slot]

    def slot(self, entry_id: str) -> int | None:
        return self._slot_of.get(entry_id)

    def alive(self, slot: int) -> bool:
        return bool(self._alive[slot])

    def entry_ids(self) -> Iterator[str]:
        return iter(self._slot_of)

    def upsert(self, entry: Mapping[str, Any] | PreparedEntry) -> PreparedEntry:
        """Add or replace an entry; it is found by the next lookup."""
        prepared = entry if isinstance(entry, PreparedEntry) else prepare_entry(entry)
        added = self._add(prepared)
        if added is not None:
            slot, hashes = added
            for h in hashes:
                self._overlay.setdefault(h, []).append(slot)
            self._overlay_postings += len(hashes)
            if self._overlay_postings > OVERLAY_LIMIT:
                self.compact()
        return prepared

    def extend(self, entries: Iterable[Mapping[str, Any] | PreparedEntry]) -> int:
        """Bulk upsert: postings go straight into one merge with the base. Returns the count."""
        hashes = array("Q")
        slots = array("I")
        count = 0
        for entry in entries:
            prepared = entry if isinstance(entry, PreparedEntry) else prepare_entry(entry)
            added = self._add(prepared)
            count += 1
            if added is not None:
                slot, keys = added
                hashes.extend(keys)
                slots.extend([slot] * len(keys))
        self._merge(np.frombuffer(hashes, dtype=np.uint64), np.frombuffer(slots, dtype=np.uint32))
        return count

    def remove(self, entry_id: str) -> bool:
        """Delete an entry (a tombstone on the watchlist topic). False when it was not there."""
        slot = self._slot_of.pop(entry_id, None)
        if slot is None:
            return False
        self._kill(slot)
        if self._dead > DEAD_FRACTION * max(1, len(self._records)) and self._dead > 10_000:
            self.compact()
        return True

    def _kill(self, slot: int) -> None:
        self._alive[slot] = 0
        self._records[slot] = None
        self._person_forms[slot] = None
        self._dead += 1

    def _add(self, prepared: PreparedEntry) -> tuple[int, list[int]] | None:
        record = marshal.dumps(tuple(prepared))
        old = self._slot_of.get(prepared.entry_id)
        if old is not None:
            if self._records[old] == record:
                return None  # unchanged: a reload of the same feed costs nothing
            self._kill(old)
        slot = len(self._records)
        self._slot_of[prepared.entry_id] = slot
        self._records.append(record)
        self._person_forms.append(prepared.forms if prepared.kind == "PERSON" else None)
        self._alive.append(1)
        self.kind.append(KIND_CODES.get(prepared.kind, 0))
        self.sex.append(SEX_CODES.get(prepared.sex, 0))
        years = [d[0] for d in prepared.dates]
        self.year_lo.append(min(years) if years else 0)
        self.year_hi.append(max(years) if years else 0)
        self.valid_from.append(_NEVER_BEFORE if prepared.valid_from is None else prepared.valid_from)
        self.valid_until.append(_NEVER_AFTER if prepared.valid_until is None else prepared.valid_until)
        code = self._source_code.get(prepared.source_list)
        if code is None:
            code = self._source_code[prepared.source_list] = len(self.sources)
            self.sources.append(prepared.source_list)
        self.source.append(code)
        if prepared.kind in ("PERSON", "ORGANISATION"):
            vocabulary = self.vocabulary if prepared.kind == "PERSON" else self.org_vocabulary
            vocabulary.add_entry(key_units(prepared.forms))
        return slot, entry_hashes(entry_keys(prepared))

    # ------------------------------------------------------------------ postings

    def lookup(self, keys: Iterable[str]) -> set[int]:
        """Slots of live entries sharing at least one key."""
        return self.lookup_batch([(keys, NameKeys())])[0][0]

    def lookup_split(self, strong_keys: Iterable[str], weak_keys: NameKeys) -> tuple[set[int], set[int]]:
        """Live slots found by a strong key (identifiers), and those found by weak keys (names)
        only."""
        return self.lookup_batch([(strong_keys, weak_keys)])[0]

    def lookup_batch(self, queries: list[tuple[Iterable[str], NameKeys]]) -> list[tuple[set[int], set[int]]]:
        """lookup_split for many queries in one vectorised pass over the base (numpy's fixed
        cost per call is paid once per batch, not once per event)."""
        hashes, owners = self._query_hashes(queries)
        rows, slots = self._lookup_base(hashes) if len(hashes) and len(self._keys) else (_NO_ROWS, _NO_SLOTS)
        if self._overlay:
            overlay = self._overlay
            extra_rows, extra_slots = [], []
            for row, h in enumerate(hashes.tolist()):
                found = overlay.get(h)
                if found:
                    extra_rows.extend([row] * len(found))
                    extra_slots.extend(found)
            if extra_rows:
                rows = np.concatenate([rows, np.array(extra_rows, dtype=np.int64)])
                slots = np.concatenate([slots, np.array(extra_slots, dtype=np.uint32)])
        # Live postings, one per (owner, slot), grouped by owner: 2 * query + (0 strong, 1 weak).
        live = np.frombuffer(self._alive, dtype=np.uint8)[slots].astype(bool)
        pairs = np.unique((owners[rows[live]].astype(np.uint64) << np.uint64(32)) | slots[live])
        bounds = np.searchsorted(pairs >> np.uint64(32), np.arange(2 * len(queries) + 1, dtype=np.uint64)).tolist()
        found_slots = (pairs & np.uint64(0xFFFFFFFF)).tolist()
        out = []
        for q in range(len(queries)):
            strong = set(found_slots[bounds[2 * q]:bounds[2 * q + 1]])
            weak = set(found_slots[bounds[2 * q + 1]:bounds[2 * q + 2]])
            out.append((strong, weak - strong if strong else weak))
        return out

    @staticmethod
    def _query_hashes(queries: list[tuple[Iterable[str], NameKeys]]) -> tuple[np.ndarray, np.ndarray]:
        """Every hash the queries look up, and its owner (2 * query + (0 strong, 1 weak))."""
        # Python's signed string hashes, read as uint64: key_hash without a Python-level mask.
        plain: list[int] = []
        plain_owners: list[int] = []
        names: list[int] = []  # name keys to combine with suffixes...
        name_owners: list[int] = []
        name_firsts: list[int] = []  # ...from suffixes[first] on, count of them
        name_counts: list[int] = []
        suffixes: list[int] = []
        for q, (strong_keys, (weak_keys, weak_suffixes)) in enumerate(queries):
            before = len(plain)
            plain.extend(map(hash, strong_keys))
            plain_owners.extend([2 * q] * (len(plain) - before))
            if not weak_suffixes:
                before = len(plain)
                plain.extend(map(hash, weak_keys))
                plain_owners.extend([2 * q + 1] * (len(plain) - before))
            elif weak_keys:
                first, count = len(suffixes), len(weak_suffixes)
                suffixes.extend(map(key_hash, weak_suffixes))
                names.extend(map(hash, weak_keys))
                name_owners.extend([2 * q + 1] * len(weak_keys))
                name_firsts.extend([first] * len(weak_keys))
                name_counts.extend([count] * len(weak_keys))
        hashes = np.array(plain, dtype=np.int64).view(np.uint64)
        owners = np.array(plain_owners, dtype=np.int64)
        if names:
            counts = np.array(name_counts, dtype=np.int64)
            ends = np.cumsum(counts)
            # For the i-th name: suffixes[first_i], ..., suffixes[first_i + count_i - 1].
            within = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - counts, counts)
            firsts = np.repeat(np.array(name_firsts, dtype=np.int64), counts)
            picked = np.array(suffixes, dtype=np.uint64)[firsts + within]
            mixed = suffixed_hashes(np.repeat(np.array(names, dtype=np.int64).view(np.uint64), counts), picked)
            hashes = np.concatenate([hashes, mixed])
            owners = np.concatenate([owners, np.repeat(np.array(name_owners, dtype=np.int64), counts)])
        return hashes, owners

    def _lookup_base(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, slot) of every base posting of the hashes."""
        keys, n = self._keys, len(self._keys)
        top = (query >> self._shift).astype(np.int64)
        starts = self._bucket[top]
        ends = self._bucket[top + 1]
        positions = starts[:, None] + self._window
        np.minimum(positions, n - 1, out=positions)
        hit = keys[positions] == query[:, None]
        rows, cols = np.nonzero(hit)
        slots = self._slots[positions[rows, cols]]
        # A key whose postings run past the window, or a bucket longer than the window: all its
        # postings by binary search, for every such key at once.
        spill = hit[:, -1] | ((ends - starts > WINDOW) & ~hit.any(axis=1))
        if spill.any():
            spilled = np.flatnonzero(spill)
            lo = np.searchsorted(keys, query[spilled], "left")
            counts = np.searchsorted(keys, query[spilled], "right") - lo
            firsts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
            found = firsts + np.arange(int(counts.sum()))
            # Spilled keys' window hits are found again by the search: np.unique drops the repeats.
            rows = np.concatenate([rows, np.repeat(spilled, counts)])
            slots = np.concatenate([slots, self._slots[found]])
        return rows, slots

    def compact(self) -> None:
        """Merge the overlay into the base, drop postings of dead slots, and renumber slots when
        many are dead."""
        if self._overlay:
            counts = [len(v) for v in self._overlay.values()]
            hashes = np.repeat(np.fromiter(self._overlay.keys(), dtype=np.uint64, count=len(counts)), counts)
            slots = np.fromiter((s for v in self._overlay.values() for s in v), dtype=np.uint32, count=sum(counts))
            self._overlay = {}
            self._overlay_postings = 0
        else:
            hashes = np.empty(0, dtype=np.uint64)
            slots = np.empty(0, dtype=np.uint32)
        self._merge(hashes, slots)
        if self._dead > DEAD_FRACTION * max(1, len(self._records)):
            self._renumber()

    def _merge(self, hashes: np.ndarray, slots: np.ndarray) -> None:
        alive = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool) if self._alive else np.zeros(0, bool)
        base_keys, base_slots = self._keys, self._slots
        if self._dead and len(base_slots):
            live = alive[base_slots]
            base_keys, base_slots = base_keys[live], base_slots[live]
        if len(slots):
            live = alive[slots]
            hashes, slots = hashes[live], slots[live]
            order = np.argsort(hashes, kind="stable")
            hashes, slots = hashes[order], slots[order]
            if len(base_keys) > 4 * len(hashes):
                # Few new postings: insert them in place, linear in the base size.
                where = np.searchsorted(base_keys, hashes)
                base_keys = np.insert(base_keys, where, hashes)
                base_slots = np.insert(base_slots, where, slots)
            else:
                base_keys = np.concatenate([base_keys, hashes])
                base_slots = np.concatenate([base_slots, slots])
                order = np.argsort(base_keys, kind="stable")
                base_keys, base_slots = base_keys[order], base_slots[order]
        self._set_base(base_keys, base_slots)

    def _set_base(self, keys: np.ndarray, slots: np.ndarray) -> None:
        self._keys, self._slots = keys, slots
        # About four postings per bucket: the window then covers a bucket nearly always.
        bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) / 4 + 1))))
        self._shift = np.uint64(64 - bits)
        top = (keys >> self._shift).astype(np.int64)
        counts = np.bincount(top, minlength=1 << bits)
        self._bucket = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def rehash(self) -> None:
        """Rebuild every posting from the stored entries: for an index unpickled in a process
        whose string hashes differ (another PYTHONHASHSEED), where the stored key hashes mean
        nothing. Costs the key step of a load, not the preparation of the entries."""
        hashes = array("Q")
        slots = array("I")
        for slot, record in enumerate(self._records):
            if record is not None:
                keys = entry_hashes(entry_keys(self.prepared(slot)))
                hashes.extend(keys)
                slots.extend([slot] * len(keys))
        self._overlay, self._overlay_postings = {}, 0
        self._keys, self._slots = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint32)
        self._merge(np.frombuffer(hashes, dtype=np.uint64), np.frombuffer(slots, dtype=np.uint32))

    def _renumber(self) -> None:
        """Give live entries consecutive slots again (after many removals or replacements)."""
        alive = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool)
        new_slot = np.cumsum(alive, dtype=np.int64) - 1
        keep = np.flatnonzero(alive)
        self._records = [self._records[i] for i in keep]
        self._person_forms = [self._person_forms[i] for i in keep]
        for name in ("kind", "sex"):
            column = getattr(self, name)
            setattr(self, name, bytearray(column[i] for i in keep))
        for name in ("year_lo", "year_hi", "valid_from", "valid_until", "source"):
            column = getattr(self, name)
            setattr(self, name, array(column.typecode, (column[i] for i in keep)))
        self._alive = bytearray(b"\x01" * len(keep))
        self._slot_of = {eid: int(new_slot[s]) for eid, s in self._slot_of.items()}
        self._dead = 0
        slots = new_slot[self._slots].astype(np.uint32)  # postings of dead slots were dropped by _merge
        self._set_base(self._keys, slots)

    # ------------------------------------------------------------------ facts

    def stats(self) -> dict[str, int]:
        postings_bytes = self._keys.nbytes + self._slots.nbytes + self._bucket.nbytes
        return {
            "entries": len(self),
            "slots": len(self._records),
            "dead_slots": self._dead,
            "base_postings": int(len(self._keys)),
            "overlay_postings": self._overlay_postings,
            "postings_bytes": int(postings_bytes),
            "record_bytes": sum(len(r) for r in self._records if r is not None),
        }
