"""The labelled evaluation set of person matching, and ``evaluate()``.

``python -m services.correlate.matching.evalset`` regenerates ``tests/data/eval/pairs.jsonl``
(deterministic for the seed) and prints the evaluation. Each line is one labelled pair: a query
(what a crossing says about a traveller) and a watchlist entry, ``label`` 1 when they are the
same person. ``tags`` say how the pair was made:

Positives (same person), combined at random:
  ``script`` entry in its own script (Cyrillic, Arabic, Han, Hangul, Greek), query in Latin;
  ``translit:<system>`` Cyrillic romanised by ICAO 9303, the popular, German or French habit;
  ``spelling`` another Latin spelling of an Arabic, Korean, Greek or Chinese name;
  ``order`` family name first ("FAMILY, Given"); ``no_middle`` middle name or patronymic
  missing; ``no_second_surname`` Spanish/Portuguese second surname dropped; ``typo`` one edit
  in one token; ``accents`` diacritics folded or ICAO-folded (ü -> ue);
  ``dob:<variant>`` exact, year_only, year_month, swapped, year_off, none (entry or query).
Negatives (another person):
  ``namesake_far`` same name, born 5 to 40 years apart; ``namesake_near`` same name, born 2 to 3
  years apart, another nationality; ``shared_surname`` same family name, another given name;
  ``shared_given`` same given name, another family name; ``gendered`` the family name's other
  gender form, opposite sex (Ivanov / Ivanova); ``random`` another person of the same culture.

``evaluate()`` loads every entry into one Matcher and runs each query through the whole path
(blocking, cheap rejection, scoring): a positive counts as found when its entry is among the
matches at the default threshold, a negative as a false alert when its entry is.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter, defaultdict
from copy import deepcopy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .engine import Matcher
from .scoring import DEFAULT_THRESHOLD, make_subject
from .synthetic import (
    NATIONALITIES,
    Person,
    _gendered_pl,
    _gendered_ru,
    base_entry,
    latin_name,
    make_person,
)

__all__ = ["PAIRS_FILE", "evaluate", "generate", "load", "write"]

PAIRS_FILE = Path(__file__).resolve().parents[3] / "tests" / "data" / "eval" / "pairs.jsonl"
SEED = 9303
N_POSITIVE = 1500
N_NEGATIVE = 1500
NON_LATIN = ("ru", "ua", "ar", "cn", "kr", "gr")
EVENT_TIME = "2025-06-01T12:00:00+00:00"


# ---------------------------------------------------------------------------- variations

def _typo(rng: random.Random, text: str) -> str:
    """One keyboard-style edit in one token of four letters or more (rarely the first letter)."""
    tokens = text.split(" ")
    choices = [i for i, t in enumerate(tokens) if len(t) >= 4 and t.isalpha()]
    if not choices:
        return text
    i = rng.choice(choices)
    token = tokens[i]
    pos = rng.randrange(0 if rng.random() < 0.1 else 1, len(token))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    letter = letter.upper() if token.isupper() else letter
    op = rng.choice(("substitute", "delete", "insert", "transpose"))
    if op == "substitute":
        token = token[:pos] + letter + token[pos + 1:]
    elif op == "delete":
        token = token[:pos] + token[pos + 1:]
    elif op == "insert":
        token = token[:pos] + letter + token[pos:]
    elif pos < len(token) - 1:
        token = token[:pos] + token[pos + 1] + token[pos] + token[pos + 2:]
    else:
        token = token[:pos - 1] + token[pos] + token[pos - 1]
    tokens[i] = token
    return " ".join(tokens)


def _listed_names(rng: random.Random, p: Person) -> tuple[list[str], list[str], list[str]]:
    """(names, aliases, tags) as a watchlist would list the person."""
    tags = []
    if p.culture in NON_LATIN and rng.random() < 0.7:
        names = [p.native()]
        tags.append("script")
    elif p.culture in NON_LATIN:
        names = [latin_name(rng, p, system="popular")]
    else:
        names = [p.native()]  # Latin script with its accents
    aliases = [latin_name(rng, p, system="popular", middle=False)] if rng.random() < 0.3 else []
    return names, aliases, tags


def _query_names(rng: random.Random, p: Person, tags: list[str], *, exact_spelling: bool = False) -> list[str]:
    """How a crossing names the traveller: the Latin (MRZ-like) name, sometimes the printed one."""
    system = rng.choice(("icao", "icao", "icao", "popular", "popular", "german", "french"))
    family_first = rng.random() < 0.5
    middle = not p.middle or rng.random() < 0.5
    second = len(p.family) < 2 or rng.random() < 0.5
    text = latin_name(rng, p, system=system, family_first=family_first, comma=family_first and rng.random() < 0.7,
                      middle=middle, second_surname=second, upper=rng.random() < 0.6)
    if p.culture in ("ru", "ua"):
        tags.append(f"translit:{system}")
    elif p.culture in ("ar", "kr", "gr", "cn"):
        tags.append("spelling")
    elif any(ord(c) > 127 for c in p.native()):
        tags.append("accents")
    if family_first:
        tags.append("order")
    if not middle:
        tags.append("no_middle")
    if not second:
        tags.append("no_second_surname")
    if not exact_spelling and rng.random() < 0.25:
        text = _typo(rng, text)
        tags.append("typo")
    names = [text]
    if p.culture in NON_LATIN and rng.random() < 0.3:
        names.append(p.native())
    return names


def _swap_possible(d: date) -> bool:
    return d.day <= 12 and d.day != d.month


def _birth_variant(rng: random.Random, born: date, tags: list[str]) -> tuple[list[str], str | None]:
    """(entry birth dates, query birth date) for a positive pair."""
    r = rng.random()
    if r < 0.45:
        tags.append("dob:exact")
        return [born.isoformat()], born.isoformat()
    if r < 0.57:
        tags.append("dob:year_only")
        return [str(born.year)], born.isoformat()
    if r < 0.62:
        tags.append("dob:year_month")
        return [born.isoformat()[:7]], born.isoformat()
    if r < 0.72 and _swap_possible(born):
        tags.append("dob:swapped")
        return [date(born.year, born.day, born.month).isoformat()], born.isoformat()
    if r < 0.82 and not (born.month == 2 and born.day == 29):
        tags.append("dob:year_off")
        return [born.replace(year=born.year + rng.choice((-1, 1))).isoformat()], born.isoformat()
    if r < 0.92:
        tags.append("dob:none_listed")
        return [], born.isoformat()
    tags.append("dob:none_given")
    return [born.isoformat()], None


def _query(names: list[str], birth: str | None, nationality: str | None, sex: str) -> dict[str, Any]:
    return {"names": names, "birth_date": birth, "nationality": nationality, "sex": sex}


def _entry(entry_id: str, names: list[str], aliases: list[str], births: list[str], p: Person) -> dict[str, Any]:
    return {"entry_id": entry_id, "names": names, "aliases": aliases, "birth_dates": births,
            "nationalities": [p.nationality], "sex": p.sex}


def _positive(rng: random.Random, n: int) -> dict[str, Any]:
    p = make_person(rng)
    names, aliases, tags = _listed_names(rng, p)
    births, query_birth = _birth_variant(rng, p.birth, tags)
    query = _query(_query_names(rng, p, tags), query_birth,
                   p.nationality if rng.random() < 0.9 else None, p.sex)
    return {"id": f"pos{n:05d}", "label": 1, "tags": tags, "query": query,
            "entry": _entry(f"e-pos{n:05d}", names, aliases, births, p)}


def _other_nationality(rng: random.Random, p: Person) -> str:
    options = [c for cs in NATIONALITIES.values() for c in cs if c != p.nationality]
    return rng.choice(sorted(set(options)))


def _shifted_birth(rng: random.Random, born: date, low: int, high: int) -> date:
    years = rng.randint(low, high) * rng.choice((-1, 1))
    return born + timedelta(days=365 * years + rng.randint(-150, 150))


def _negative(rng: random.Random, n: int) -> dict[str, Any]:
    query_person = make_person(rng)
    other = deepcopy(query_person)
    kind = rng.choices(("namesake_far", "namesake_near", "shared_surname", "shared_given", "gendered", "random"),
                       weights=(30, 15, 20, 15, 10, 10))[0]
    if kind == "namesake_far":
        other.birth = _shifted_birth(rng, query_person.birth, 5, 40)
        if rng.random() < 0.5:
            other.nationality = _other_nationality(rng, query_person)
    elif kind == "namesake_near":
        other.birth = _shifted_birth(rng, query_person.birth, 2, 3)
        other.nationality = _other_nationality(rng, query_person)
    else:
        fresh = make_person(rng, query_person.culture, query_person.sex if kind != "gendered" else None)
        other = deepcopy(fresh)
        other.birth = _shifted_birth(rng, query_person.birth, 0, 15)
        if kind == "shared_surname":
            other.family, other.latin_family = query_person.family, query_person.latin_family
        elif kind == "shared_given":
            other.given, other.latin_given = query_person.given, query_person.latin_given
        elif kind == "gendered":
            other.sex = "F" if query_person.sex == "M" else "M"
            other.given = fresh.given if fresh.sex == other.sex else make_person(rng, query_person.culture, other.sex).given
            if query_person.culture in ("ru",):
                stem = query_person.family[0]
                stem = stem[:-1] if query_person.sex == "F" and stem.endswith("а") else stem
                other.family = [_gendered_ru(stem, other.sex)]
            elif query_person.culture == "pl":
                stem = query_person.family[0]
                stem = stem[:-1] + "i" if query_person.sex == "F" and stem.endswith("ska") else stem
                other.family = [_gendered_pl(stem, other.sex)]
            else:
                other.family, other.latin_family = query_person.family, query_person.latin_family
    tags = [kind]
    names, aliases, _ = _listed_names(rng, other)
    births = [other.birth.isoformat()] if rng.random() < 0.9 else [str(other.birth.year)]
    query = _query(_query_names(rng, query_person, [], exact_spelling=True), query_person.birth.isoformat(),
                   query_person.nationality, query_person.sex)
    return {"id": f"neg{n:05d}", "label": 0, "tags": tags, "query": query,
            "entry": _entry(f"e-neg{n:05d}", names, aliases, births, other)}


def generate(seed: int = SEED, positives: int = N_POSITIVE, negatives: int = N_NEGATIVE) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pairs = [_positive(rng, i) for i in range(positives)] + [_negative(rng, i) for i in range(negatives)]
    return pairs


def write(path: Path = PAIRS_FILE, pairs: list[dict[str, Any]] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs if pairs is not None else generate():
            out.write(json.dumps(pair, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def load(path: Path = PAIRS_FILE) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# ---------------------------------------------------------------------------- evaluation

def evaluate(path: Path | None = None, threshold: float = DEFAULT_THRESHOLD,
             examples: int = 5) -> dict[str, Any]:
    """Recall and false-alert rate of the whole matching path on the labelled pairs."""
    pairs = load(path or PAIRS_FILE)
    matcher = Matcher(default_threshold=threshold)
    matcher.load(base_entry(p["entry"]["entry_id"], "PERSON", "eval", **{k: v for k, v in p["entry"].items()
                                                                        if k != "entry_id"}) for p in pairs)
    outcome = Counter()
    by_tag: dict[str, Counter] = defaultdict(Counter)
    misses: list[dict[str, Any]] = []
    false_alerts: list[dict[str, Any]] = []
    for pair in pairs:
        q = pair["query"]
        subject = make_subject("traveller", names=q["names"], birth_dates=[q["birth_date"]],
                               nationalities=[q["nationality"]], sex=q["sex"])
        matches = {m.entry_id: m for m in matcher.match_subject(subject, at=EVENT_TIME)}
        match = matches.get(pair["entry"]["entry_id"])
        alert = match is not None
        label = "positive" if pair["label"] else "negative"
        outcome[label] += 1
        outcome[f"{label}_alert"] += alert
        for tag in pair["tags"]:
            by_tag[tag]["pairs"] += 1
            by_tag[tag]["alerts"] += alert
        if pair["label"] and not alert and len(misses) < examples:
            misses.append({"id": pair["id"], "query": q["names"], "entry": pair["entry"]["names"], "tags": pair["tags"]})
        if not pair["label"] and alert and len(false_alerts) < examples:
            false_alerts.append({"id": pair["id"], "score": match.score, "query": q["names"],
                                 "entry": pair["entry"]["names"], "tags": pair["tags"]})
    positives, negatives = outcome["positive"], outcome["negative"]
    return {
        "pairs": len(pairs),
        "positives": positives,
        "negatives": negatives,
        "threshold": threshold,
        "recall": round(outcome["positive_alert"] / max(1, positives), 4),
        "false_alert_rate": round(outcome["negative_alert"] / max(1, negatives), 4),
        "by_tag": {tag: {"pairs": c["pairs"], "alert_rate": round(c["alerts"] / c["pairs"], 4)}
                   for tag, c in sorted(by_tag.items())},
        "missed_examples": misses,
        "false_alert_examples": false_alerts,
    }


if __name__ == "__main__":
    if "--no-write" not in sys.argv:
        print(f"wrote {write()}")
    print(json.dumps(evaluate(), indent=2, ensure_ascii=False))
