"""Matcher: events and FollowTheMoney query entities against the watchlist.

``match_event(kind, event)`` splits an event into subjects (the traveller with their document,
conveyance and phones; each person of a seizure; the seized documents, conveyance and phones;
a biometric capture with its document), looks each up in the index, rejects cheaply what cannot
reach its list's threshold, scores the rest and returns one ``Match`` per watchlist entry at or
above its threshold, best first. ``match_events`` does the same for a batch of events with one
vectorised index lookup: a worker taking its stream in batches should use it.

Name lookups of a subject with a birth date only reach entries born within ``year_window`` years
of it (or of unknown birth): a namesake born further apart cannot reach the lowest threshold
(see ``Matcher._year_window``); with a one-year window and a full date, only the dates that
can still agree (``index.query_name_keys``).

``screen_entity(entity)`` does the same for one FtM entity (the ``borderhub screen`` batch);
query entities are read with the same converter as the watchlist feed
(``services.ingest.watchlist.entries_from_ftm``), so both sides see the same fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from borderhub.gc_tuning import freeze_start_up_objects
from services.ingest.watchlist import entries_from_ftm

from .biometric import TemplateGallery
from .identifiers import DOCUMENT_SCHEMES, identifier_key
from .index import KIND_CODES, SEX_CODES, NameKeys, WatchlistIndex, query_name_keys
from .names import NameComparison, best_comparisons, blocking_keys
from .scoring import (
    DEFAULT_THRESHOLD,
    W_DOB_EXACT,
    W_DOB_FAR,
    W_DOB_NEAR,
    W_NAME,
    W_NAT_AGREE,
    W_SEX_AGREE,
    W_SEX_CONFLICT,
    Subject,
    Thresholds,
    biometric_contribution,
    dob_bound,
    make_subject,
    name_bound,
    score_entry,
    to_millis,
)

__all__ = ["Match", "Matcher", "screen_result", "subject_keys", "subject_of_entry", "subjects_of_event"]

_PERSON = KIND_CODES["PERSON"]
NAME_KEY_CACHE_SIZE = 50_000
_EVENT_KINDS = {
    "crossing": "CROSSING", "crossings": "CROSSING",
    "seizure": "SEIZURE", "seizures": "SEIZURE",
    "biometric": "BIOMETRIC", "biometrics": "BIOMETRIC",
}


@dataclass(frozen=True, slots=True)
class Match:
    """One watchlist entry an event (or query) matched, and why."""

    entry_id: str
    source_list: str
    kind: str
    score: float
    explanation: list[dict[str, Any]]
    action_on_hit: str
    subject: str  # who or what is listed, in a few words
    event_part: str = ""  # which part of the event matched: traveller, persons[0], seized items, capture


@dataclass(slots=True)
class _Lookup:
    subject: Subject
    template: Mapping[str, Any] | None = None
    biometric: dict[str, tuple[float, str]] = field(default_factory=dict)  # entry_id -> contribution
    strong: set[int] = field(default_factory=set)  # slots found by identifiers or template
    weak: set[int] = field(default_factory=set)  # slots found by name only


def _event_kind(kind: str) -> str:
    found = _EVENT_KINDS.get(kind.lower())
    if found is None:
        raise ValueError(f"unknown event kind {kind!r} (crossing, seizure or biometric)")
    return found


def _traveller_names(traveller: Mapping[str, Any]) -> list[str]:
    printed = " ".join(x for x in (traveller.get("given_names"), traveller.get("family_names")) if x)
    return [n for n in (printed, traveller.get("names_latin")) if n]


def _person_subject(label: str, person: Mapping[str, Any], document: Mapping[str, Any] | None = None,
                    conveyance: Mapping[str, Any] | None = None) -> Subject:
    nationality = person.get("nationality") or (document or {}).get("issuing_country")
    return make_subject(
        label, names=_traveller_names(person), birth_dates=[person.get("date_of_birth")],
        nationalities=[nationality], sex=person.get("sex"), phones=person.get("phone_numbers") or (),
        documents=[(document.get("number"), document.get("issuing_country"))] if document else (),
        **_conveyance_fields(conveyance),
    )


def _conveyance_fields(conveyance: Mapping[str, Any] | None) -> dict[str, Any]:
    if not conveyance:
        return {}
    return {
        "plates": [(conveyance.get("vehicle_plate"), conveyance.get("vehicle_country"))],
        "vins": [conveyance.get("vehicle_vin")], "imos": [conveyance.get("vessel_imo")],
        "mmsis": [conveyance.get("vessel_mmsi")], "vessel_names": [conveyance.get("vessel_name")],
    }


def subjects_of_event(kind: str, event: Mapping[str, Any]) -> list[Subject]:
    """The subjects an event is screened as (see module doc)."""
    kind = _event_kind(kind)
    if kind == "CROSSING":
        return [_person_subject("traveller", event.get("traveller") or {}, event.get("document"),
                                event.get("conveyance"))]
    if kind == "SEIZURE":
        subjects = [_person_subject(f"persons[{i}]", p) for i, p in enumerate(event.get("persons") or ())]
        documents = [(d.get("number"), d.get("issuing_country")) for d in event.get("documents") or ()]
        items = make_subject("seized items", documents=documents, phones=event.get("phone_numbers") or (),
                             **_conveyance_fields(event.get("conveyance")))
        return subjects + [items]
    document = event.get("document")
    return [make_subject("capture",
                         documents=[(document.get("number"), document.get("issuing_country"))] if document else ())]


def subject_keys(subject: Subject, index: WatchlistIndex | None = None, year_window: int | None = None,
                 names: NameKeys | None = None) -> tuple[set[str], NameKeys]:
    """(identifier keys, name keys) of a subject, spelled as the index spells them; with the
    index, name keys also cover listed tokens one edit away from the subject's. With a
    year_window, a person's name keys only reach entries born that many years around the
    subject's birth years (or of unknown birth)."""
    strong: set[str] = set()
    for number, _ in subject.documents:
        strong.add(identifier_key("PASSPORT", number))
    for plate, _ in subject.plates:
        strong.add(identifier_key("VEHICLE_PLATE", plate))
    for scheme, values in (("VIN", subject.vins), ("IMO", subject.imos), ("MMSI", subject.mmsis),
                           ("PHONE", subject.phones)):
        strong.update(identifier_key(scheme, v) for v in values)
    for number, _ in subject.registrations:
        strong.add(identifier_key("REGISTRATION_NUMBER", number))
    weak = NameKeys()
    if names is not None:  # computed before for the same names, years and vocabulary
        weak = names
    elif subject.forms:
        if subject.organisation:
            vocabulary = index.org_vocabulary if index is not None else None
            weak = NameKeys({"o" + k for k in blocking_keys(subject.forms, vocabulary)})
        else:
            keys = blocking_keys(subject.forms, index.vocabulary if index is not None else None)
            weak = query_name_keys(keys, subject.birth_dates, year_window)
    return strong, weak


class Matcher:
    """The watchlist (index and biometric gallery) and the thresholds; matches events and
    screening queries. Feed it every watchlist change with ``upsert`` / ``remove``."""

    def __init__(self, *, default_threshold: float = DEFAULT_THRESHOLD,
                 list_thresholds: Mapping[str, float] | None = None,
                 biometric_thresholds: Mapping[str, float] | None = None,
                 index: WatchlistIndex | None = None, gallery: TemplateGallery | None = None) -> None:
        self.thresholds = Thresholds(default_threshold, list_thresholds)
        self.index = index if index is not None else WatchlistIndex()
        self.gallery = gallery if gallery is not None else TemplateGallery(biometric_thresholds)
        self.year_window = self._year_window()
        self._thresholds_by_code: list[float] = []
        self._name_key_cache: dict[tuple, NameKeys] = {}

    def _year_window(self) -> int | None:
        """How far apart in birth years a namesake can still reach the lowest threshold: its
        best score with a birth-year gap of 2-3 or more is known, so lookups need not return
        namesakes born further apart (None: every namesake is a candidate)."""
        best_other = W_NAME + W_NAT_AGREE + W_SEX_AGREE
        lowest = self.thresholds.lowest
        if lowest > best_other + W_DOB_NEAR:
            return 1
        if lowest > best_other + W_DOB_FAR:
            return 3
        return None

    # ------------------------------------------------------------------ watchlist

    def upsert(self, entry: Mapping[str, Any]) -> None:
        self.index.upsert(entry)
        self._set_templates(entry)

    def _set_templates(self, entry: Mapping[str, Any]) -> None:
        # A changed entry without templates drops the ones it had.
        templates = entry.get("biometric_templates") or ()
        if templates or entry["entry_id"] in self.gallery:
            self.gallery.set_templates(entry["entry_id"], templates)

    def remove(self, entry_id: str) -> bool:
        self.gallery.remove(entry_id)
        return self.index.remove(entry_id)

    def load(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Bulk load (start-up, or a whole feed)."""
        def with_templates() -> Iterator[Mapping[str, Any]]:
            for entry in entries:
                self._set_templates(entry)
                yield entry
        count = self.index.extend(with_templates())
        # The loaded structures live as long as the process: keep the cyclic garbage collector
        # from walking millions of them on every full collection (pauses of a second at 1M).
        freeze_start_up_objects()
        return count

    def load_ftm(self, lines: Iterable[str], source_list: str) -> list[str]:
        """Load a FollowTheMoney watchlist (JSON lines); returns the errors of rejected lines."""
        errors: list[str] = []
        entries = []
        for parsed in entries_from_ftm(lines, source_list):
            if parsed.error:
                errors.append(f"line {parsed.line_no}: {parsed.error}")
            elif parsed.entry is not None:
                entries.append(parsed.entry)
        self.load(entries)
        return errors

    def get(self, entry_id: str) -> dict[str, Any] | None:
        return self.index.get(entry_id)

    def state(self) -> dict[str, Any]:
        """The watchlist as loaded (index and gallery), for a snapshot; thresholds are settings
        and stay out of it."""
        return {"index": self.index, "gallery": self.gallery}

    def restore(self, state: Mapping[str, Any], *, same_hashes: bool) -> None:
        """Adopt a snapshot's ``state()``. same_hashes: written by a process whose string hashes
        equal this one's; else the index's postings are rebuilt."""
        index, gallery = state["index"], state["gallery"]
        if not same_hashes:
            index.rehash()
        gallery.thresholds = self.gallery.thresholds
        self.index, self.gallery = index, gallery
        self._thresholds_by_code = []
        self._name_key_cache = {}
        freeze_start_up_objects()

    def __len__(self) -> int:
        return len(self.index)

    # ------------------------------------------------------------------ matching

    def match_event(self, kind: str, event: Mapping[str, Any]) -> list[Match]:
        """Matches of one event (a CrossingEvent, SeizureEvent or BiometricCapture datum)."""
        return self.match_events(kind, [event])[0]

    def match_events(self, kind: str, events: Iterable[Mapping[str, Any]]) -> list[list[Match]]:
        """Matches of each of a batch of events of one kind, in order. Same result as
        match_event one by one, faster: index lookups for the batch run as one (a worker
        taking events from its stream in batches should use this)."""
        event_kind = _event_kind(kind)
        time_field = "captured_at" if event_kind == "BIOMETRIC" else "occurred_at"
        batches: list[tuple[list[_Lookup], int | None]] = []
        for event in events:
            lookups = [_Lookup(s) for s in subjects_of_event(kind, event)]
            if event_kind == "BIOMETRIC" and event.get("template"):
                lookups[0].template = event["template"]
            batches.append((lookups, to_millis(event.get(time_field))))
        self._lookup([lookup for lookups, _ in batches for lookup in lookups])
        return [self._collect(lookups, at) for lookups, at in batches]

    def match_subject(self, subject: Subject, at: Any = None,
                      template: Mapping[str, Any] | None = None) -> list[Match]:
        lookup = _Lookup(subject, template)
        self._lookup([lookup])
        return self._collect([lookup], to_millis(at))

    def _lookup(self, lookups: list[_Lookup]) -> None:
        """Candidates of every lookup: one batched index query, then the biometric gallery."""
        index = self.index
        found = index.lookup_batch([self._keys(lookup.subject) for lookup in lookups])
        for lookup, (strong, weak) in zip(lookups, found):
            lookup.strong, lookup.weak = strong, weak
            if lookup.template is not None:
                for hit in self.gallery.search(lookup.template):
                    slot = index.slot(hit.entry_id)
                    if slot is not None:
                        lookup.biometric[hit.entry_id] = biometric_contribution(
                            hit.similarity, hit.threshold, hit.modality)
                        strong.add(slot)
                weak -= strong

    def _keys(self, subject: Subject) -> tuple[set[str], NameKeys]:
        """subject_keys, with the name keys of recently seen names cached (travellers' names
        repeat; the cache is keyed on the vocabulary version, so listed tokens added since are
        taken into account)."""
        vocabulary = self.index.org_vocabulary if subject.organisation else self.index.vocabulary
        cache_key = (subject.forms, subject.organisation, subject.birth_dates, vocabulary.version)
        names = self._name_key_cache.get(cache_key)
        strong, weak = subject_keys(subject, self.index, self.year_window, names=names)
        if names is None and subject.forms:
            if len(self._name_key_cache) >= NAME_KEY_CACHE_SIZE:
                self._name_key_cache.clear()
            self._name_key_cache[cache_key] = weak
        return strong, weak

    def _collect(self, lookups: list[_Lookup], at: int | None) -> list[Match]:
        at = int(time.time() * 1000) if at is None else at
        best: dict[str, Match] = {}
        for lookup in lookups:
            for match in self._score(lookup, at):
                known = best.get(match.entry_id)
                if known is None or match.score > known.score:
                    best[match.entry_id] = match
        return sorted(best.values(), key=lambda m: (-m.score, m.entry_id))

    def _score(self, lookup: _Lookup, at: int) -> list[Match]:
        subject = lookup.subject
        index = self.index
        thresholds = self._source_thresholds()
        valid_from, valid_until, source = index.valid_from, index.valid_until, index.source
        candidates = [s for s in lookup.strong if valid_from[s] <= at <= valid_until[s]]
        compared: dict[int, NameComparison] = {}
        if lookup.weak:
            reach = self._reach_test(subject)
            found_by_name = [s for s in lookup.weak if valid_from[s] <= at <= valid_until[s] and reach(s)]
            if subject.is_person:
                # Found by name alone (no identifier key, no template: those are strong), a listed
                # person scores by name and its evidence only: compare the names before decoding.
                forms_of = index.person_forms
                comparisons = best_comparisons(subject.forms, [forms_of(slot) for slot in found_by_name])
                for slot, comparison in zip(found_by_name, comparisons):
                    if name_bound(comparison.score) >= thresholds[source[slot]]:
                        compared[slot] = comparison
                        candidates.append(slot)
            else:
                candidates += found_by_name
        matches = []
        for slot in candidates:
            threshold = thresholds[source[slot]]
            entry = index.prepared(slot)
            score, features = score_entry(entry, subject, lookup.biometric.get(entry.entry_id), floor=threshold,
                                          comparison=compared.get(slot))
            if features and score >= threshold:
                matches.append(Match(entry.entry_id, entry.source_list, entry.kind, score, features,
                                     entry.action_on_hit, entry.subject_text(), subject.label))
        return matches

    def _source_thresholds(self) -> list[float]:
        """Threshold of each source list, by the index's source code."""
        sources = self.index.sources
        if len(self._thresholds_by_code) != len(sources):
            self._thresholds_by_code = [self.thresholds.for_list(name) for name in sources]
        return self._thresholds_by_code

    def _reach_test(self, subject: Subject) -> Callable[[int], bool]:
        """Cheap rejection of name-only candidates from the index columns: True when the best
        score the slot could get, knowing its kind, birth years and sex, reaches its list's
        threshold."""
        index = self.index
        kind = index.kind
        if subject.organisation:
            organisation = KIND_CODES["ORGANISATION"]
            return lambda slot: kind[slot] == organisation
        thresholds = self._source_thresholds()
        source, year_lo, year_hi, sex = index.source, index.year_lo, index.year_hi, index.sex
        years = [d[0] for d in subject.birth_dates]
        subject_sex = SEX_CODES.get(subject.sex or "", 0)
        base = W_NAME + W_NAT_AGREE + W_SEX_AGREE

        def reach(slot: int) -> bool:
            if kind[slot] != _PERSON:
                return False
            bound = base
            lo = year_lo[slot]
            bound += max(dob_bound(y, lo, year_hi[slot]) for y in years) if lo and years else W_DOB_EXACT
            if subject_sex and sex[slot] and sex[slot] != subject_sex:
                bound += W_SEX_CONFLICT - W_SEX_AGREE
            return bound >= thresholds[source[slot]]
        return reach

    # ------------------------------------------------------------------ screening

    def screen_entity(self, entity: Mapping[str, Any]) -> list[Match]:
        """Matches of one FollowTheMoney entity (a dict as in FtM JSON lines)."""
        subjects = list(self._ftm_subjects([json.dumps(entity)]))
        if not subjects or subjects[0][1] is None:
            return []
        return self.match_subject(subjects[0][1])

    def screen_ftm(self, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
        """The ``borderhub screen`` contract: one result per query entity (JSON lines), as
        ``{"query_id", "matches": [{"entity_id", "score", "explanation"}]}``, best first.
        Documents in the file join onto their holders as in the watchlist converter; lines that
        list nothing (an Address, a Sanction) or cannot be read yield an empty result."""
        for query_id, subject in self._ftm_subjects(lines):
            matches = self.match_subject(subject) if subject is not None else []
            yield screen_result(query_id, matches)

    def _ftm_subjects(self, lines: Iterable[str]) -> Iterator[tuple[str, Subject | None]]:
        lines = [line for line in lines if line.strip()]
        for parsed in entries_from_ftm(lines, "query"):
            entry = parsed.entry
            if entry is None:
                try:
                    query_id = json.loads(lines[parsed.line_no - 1]).get("id", "")
                except (ValueError, AttributeError):
                    query_id = ""
                yield str(query_id), None
                continue
            yield entry["entry_id"], subject_of_entry(entry)


def subject_of_entry(entry: Mapping[str, Any]) -> Subject:
    """A WatchlistEntry-shaped record (a converted FtM query entity) as a subject."""
    by_scheme: dict[str, list[tuple[str, str | None]]] = {}
    for ident in entry.get("identifiers") or ():
        scheme = "DOCUMENT" if ident["scheme"] in DOCUMENT_SCHEMES else ident["scheme"]
        by_scheme.setdefault(scheme, []).append((ident["value"], ident.get("country")))
    kind = entry.get("kind")
    names = [*(entry.get("names") or ()), *(entry.get("aliases") or ())]
    return make_subject(
        str(entry.get("entry_id") or "query"), names=[] if kind == "VESSEL" else names,
        organisation=kind == "ORGANISATION", birth_dates=entry.get("birth_dates") or (),
        nationalities=entry.get("nationalities") or (), sex=entry.get("sex"),
        documents=by_scheme.get("DOCUMENT", ()), plates=by_scheme.get("VEHICLE_PLATE", ()),
        vins=[v for v, _ in by_scheme.get("VIN", ())], imos=[v for v, _ in by_scheme.get("IMO", ())],
        mmsis=[v for v, _ in by_scheme.get("MMSI", ())], phones=[v for v, _ in by_scheme.get("PHONE", ())],
        vessel_names=names if kind == "VESSEL" else (), registrations=by_scheme.get("REGISTRATION_NUMBER", ()),
    )


def screen_result(query_id: str, matches: list[Match]) -> dict[str, Any]:
    return {"query_id": query_id,
            "matches": [{"entity_id": m.entry_id, "score": m.score, "explanation": m.explanation} for m in matches]}
