"""The matcher's shortcuts lose nothing: narrowing name lookups by birth date and rejecting
candidates by bounds give exactly the matches of looking up every namesake and scoring it in
full. Namesakes are made on purpose: listed people travelling with their birth date exact, a
year off, on another day, swapped, or cut to the year."""

import random
from datetime import date

import pytest

from services.correlate.matching.engine import Matcher, subject_keys, subjects_of_event
from services.correlate.matching.scoring import score_entry
from services.correlate.matching.synthetic import crossing, make_person, person_entry


def _shifted(rng: random.Random, born: date) -> date:
    choice = rng.randrange(6)
    if choice == 0:
        return born
    if choice == 1:  # a year off, same day
        return born.replace(year=born.year + rng.choice((-1, 1)), day=min(born.day, 28))
    if choice == 2:  # a year off, another day
        return date(born.year + rng.choice((-1, 1)), rng.randint(1, 12), rng.randint(1, 28))
    if choice == 3:  # same year, another day
        return date(born.year, rng.randint(1, 12), rng.randint(1, 28))
    if choice == 4 and born.day <= 12:  # day and month swapped
        return date(born.year, born.day, born.month)
    return date(born.year + rng.choice((-3, -2, 2, 3)), born.month, min(born.day, 28))


@pytest.fixture(scope="module")
def namesakes():
    rng = random.Random(5)
    people = [make_person(rng) for _ in range(400)]  # small name pools: many namesakes
    entries = []
    for i, person in enumerate(people):
        entry = person_entry(rng, f"p{i}", person, dob_share=0.9)
        if entry["birth_dates"] and rng.random() < 0.2:  # partial dates, as lists publish them
            entry["birth_dates"] = [entry["birth_dates"][0][: rng.choice((4, 7))]]
        entries.append(entry)
    events = []
    for i in range(600):
        person = rng.choice(people)
        person.birth = _shifted(rng, person.birth)
        events.append(crossing(rng, i, person))
    return entries, events


def test_birth_date_narrowing_finds_every_alert_of_a_full_namesake_lookup(namesakes):
    entries, events = namesakes
    narrowed, every_namesake = Matcher(), Matcher()
    every_namesake.year_window = None  # plain name keys: every namesake is a candidate
    narrowed.load(entries)
    every_namesake.load(entries)
    assert narrowed.year_window == 1
    found = [[(m.entry_id, m.score) for m in ms] for ms in narrowed.match_events("crossing", events)]
    expected = [[(m.entry_id, m.score) for m in ms] for ms in every_namesake.match_events("crossing", events)]
    assert sum(map(len, expected)) > 100  # the set does exercise it
    assert found == expected


def test_score_floor_rejects_only_what_cannot_reach_it(namesakes):
    entries, events = namesakes
    matcher = Matcher()
    matcher.load(entries)
    prepared = [matcher.index.prepared(matcher.index.slot(e["entry_id"])) for e in entries]
    rejected = with_documents = 0
    for event in events[:150]:
        subject = subjects_of_event("crossing", event)[0]
        for entry in prepared:
            full, features = score_entry(entry, subject)
            bounded, explained = score_entry(entry, subject, floor=0.75)
            if explained:
                assert (bounded, explained) == (full, features)
            else:
                rejected += 1
                with_documents += bool(entry.identifiers)  # listed passports the traveller does not hold
                assert full < 0.75 and bounded >= full - 1e-9  # an upper bound below the floor
    assert rejected > 1000 and with_documents > 100


def test_cheap_rejections_before_scoring_lose_no_match(namesakes):
    """Every candidate the index finds, scored in full with no floor, gives the matcher's
    matches: the column bound, the name comparison before decoding and the score floor only
    drop candidates that cannot reach the threshold."""
    entries, events = namesakes
    rng = random.Random(6)
    events = events + [crossing(rng, 1000 + i, make_person(rng)) for i in range(600)]  # unlisted namesakes
    matcher = Matcher()
    matcher.load(entries)
    index = matcher.index
    threshold = matcher.thresholds.default
    compared = matched = 0
    for event, matches in zip(events, matcher.match_events("crossing", events)):
        subject = subjects_of_event("crossing", event)[0]
        strong, weak = index.lookup_split(*subject_keys(subject, index, matcher.year_window))
        expected = []
        for slot in strong | weak:
            entry = index.prepared(slot)
            score, features = score_entry(entry, subject)
            compared += 1
            if features and score >= threshold:
                expected.append((entry.entry_id, score))
        assert sorted((m.entry_id, m.score) for m in matches) == sorted(expected)
        matched += len(expected)
    assert matched > 100 and compared > matched + 25  # some candidates are rejected
