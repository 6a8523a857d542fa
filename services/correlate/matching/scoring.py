"""One score in [0, 1] per (subject, watchlist entry), with the evidence that made it.

A *subject* is what one part of an event says about one person or thing: a traveller with the
document and conveyance they present, a person named in a seizure, a seized document, a
biometric capture. An entry is prepared once (``prepare_entry``) when it enters the index.

Scores add up signed evidence and are clamped to [0, 1]; every contribution is one
``{"feature", "weight", "detail"}`` record (the ScoreFeature of schemas/alert.avsc), so the
explanation is the sum. The weights below are set so that:

* an exact full name alone (0.85) is an alert at the default threshold 0.75, and a name with a
  typo (~0.9 similarity) alone is right at it; birth date, nationality and sex agreement lift a
  fuzzy name above it;
* a clear birth-date conflict (born more than 3 years apart: -0.40) or a sex conflict (-0.15)
  pulls a bare name match below it, so a namesake is not an alert;
* a listed document number with the same issuing country is an alert on its own (0.95), and a
  LOST / STOLEN / REVOKED / INVALIDATED one whoever carries it; one OCR confusion costs 0.15;
  a different issuing country is no alert;
* plates as documents; an IMO number is unique (1.0), an MMSI can be reassigned (0.9); phones
  (0.9); organisations by name (0.9 x similarity) with jurisdiction and registration number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from .alignment import round_score
from .identifiers import DOCUMENT_SCHEMES, normalize_identifier, ocr_confusions
from .names import NameComparison, best_comparison, distinct_forms, name_forms, org_forms

__all__ = [
    "DEFAULT_THRESHOLD",
    "PreparedEntry",
    "Subject",
    "Thresholds",
    "compare_birth_dates",
    "make_subject",
    "name_bound",
    "prepare_entry",
    "score_entry",
]

DEFAULT_THRESHOLD = 0.75

W_NAME = 0.85  # x name similarity, persons
W_ORG_NAME = 0.90  # x name similarity, organisations
MIN_NAME_SIM = 0.5  # below: the names are not the same, no name evidence at all
W_DOB_EXACT = 0.15
W_DOB_SWAPPED = 0.10  # day and month swapped
W_DOB_YEAR_MONTH = 0.10  # the entry knows year and month only, and they agree
W_DOB_YEAR = 0.07  # the entry knows the year only, and it agrees
W_DOB_YEAR_OFF = 0.06  # same day and month, year off by one
W_DOB_SAME_YEAR = -0.10  # same year, another day (could be a typo, could be another person)
W_DOB_NEAR = -0.25  # born 2 or 3 years apart
W_DOB_FAR = -0.40  # born more than 3 years apart: another person
W_NAT_AGREE, W_NAT_CONFLICT = 0.04, -0.08
W_SEX_AGREE, W_SEX_CONFLICT = 0.02, -0.15
BEST_PERSON_EVIDENCE = W_DOB_EXACT + W_NAT_AGREE + W_SEX_AGREE  # the most birth date, nationality and sex add
W_DOC_EXACT, W_DOC_OCR = 0.70, 0.55
W_COUNTRY_SAME, W_COUNTRY_UNKNOWN, W_COUNTRY_CONFLICT = 0.25, 0.10, -0.30
W_DOC_STATUS = 0.05  # a document listed as lost, stolen, revoked or invalidated
W_HOLDER_AGREES = 0.05  # a listed (valid) document presented by its listed holder
W_VIN = 0.95
W_IMO, W_MMSI, W_VESSEL_NAME = 1.0, 0.90, 0.05
W_PHONE = 0.90
W_REGISTRATION = 0.60
W_JURISDICTION_AGREE, W_JURISDICTION_CONFLICT = 0.05, -0.05
BIOMETRIC_FLOOR = 0.80  # score of a template exactly at its modality threshold

FLAGGED_STATUSES = frozenset({"LOST", "STOLEN", "REVOKED", "INVALIDATED"})
PLATE_SCHEMES = frozenset({"VEHICLE_PLATE"})


class Thresholds:
    """The alert threshold of each source list, the default for lists not named."""

    def __init__(self, default: float = DEFAULT_THRESHOLD, per_list: Mapping[str, float] | None = None):
        self.default = default
        self.per_list = dict(per_list or {})

    def for_list(self, source_list: str | None) -> float:
        return self.per_list.get(source_list or "", self.default)

    @property
    def lowest(self) -> float:
        return min([self.default] + list(self.per_list.values()))


# ---------------------------------------------------------------------------- dates and times

def parse_partial_date(text: str) -> tuple[int, int, int] | None:
    """'1975', '1975-03' or '1975-03-12' (a time part is ignored) as (year, month, day), 0 = unknown."""
    try:
        parts = text.strip()[:10].split("-")
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 and parts[1] else 0
        day = int(parts[2]) if len(parts) > 2 and parts[2] else 0
    except (ValueError, IndexError):
        return None
    return (year, month, day) if 1 <= year <= 9999 else None


def to_date(value: Any) -> date | None:
    """A date from an Avro datum field: date, datetime, days since the epoch, or ISO text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return date.fromordinal(date(1970, 1, 1).toordinal() + value)
    parsed = parse_partial_date(str(value))
    if parsed and parsed[1] and parsed[2]:
        try:
            return date(*parsed)
        except ValueError:
            return None
    return None


def to_millis(value: Any) -> int | None:
    """Milliseconds since the epoch from a datetime (naive = UTC), millis, or ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("not a timestamp")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000)
    raise TypeError(f"not a timestamp: {value!r}")


def compare_birth_dates(born: Iterable[tuple[int, int, int]] | date,
                        listed: Iterable[tuple[int, int, int]]) -> tuple[float, str] | None:
    """Best agreement of the subject's birth dates with the entry's. Dates are (year, month,
    day) with 0 for an unknown part; a full date may be given as a ``date``."""
    if isinstance(born, date):
        born = [(born.year, born.month, born.day)]
    best: tuple[float, str] | None = None
    for query in born:
        for entry_date in listed:
            found = _compare_dates(query, entry_date)
            if best is None or found[0] > best[0]:
                best = found
    return best


def _date_text(d: tuple[int, int, int]) -> str:
    year, month, day = d
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if month and day else "")


def _compare_dates(query: tuple[int, int, int], listed: tuple[int, int, int]) -> tuple[float, str]:
    q_text, e_text = _date_text(query), _date_text(listed)
    gap = abs(query[0] - listed[0])
    full = query[1] and query[2] and listed[1] and listed[2]
    if full:
        same_day = (query[1], query[2]) == (listed[1], listed[2])
        if gap == 0 and same_day:
            return W_DOB_EXACT, f"{q_text} = {e_text}"
        if gap == 0 and (query[1], query[2]) == (listed[2], listed[1]):
            return W_DOB_SWAPPED, f"{q_text} vs {e_text}: day and month swapped"
        if gap == 1 and same_day:
            return W_DOB_YEAR_OFF, f"{q_text} vs {e_text}: year off by one"
        if gap == 0:
            return W_DOB_SAME_YEAR, f"{q_text} vs {e_text}: same year, another day"
        return _year_gap(q_text, e_text, gap)
    by_month = bool(query[1] and listed[1])  # compare at the precision both sides have
    if gap == 0 and (not by_month or query[1] == listed[1]):
        finer, coarser = (q_text, e_text) if len(q_text) >= len(e_text) else (e_text, q_text)
        return (W_DOB_YEAR_MONTH if by_month else W_DOB_YEAR), f"{finer} within {coarser}"
    if gap == 0:
        return W_DOB_SAME_YEAR, f"{q_text} vs {e_text}: same year, another month"
    if gap == 1:
        return 0.0, f"{q_text} vs {e_text}: year off by one"
    return _year_gap(q_text, e_text, gap)


def _year_gap(q_text: str, e_text: str, gap: int) -> tuple[float, str]:
    weight = W_DOB_NEAR if gap <= 3 else W_DOB_FAR
    return weight, f"{q_text} vs {e_text}: born {gap} years apart"


def dob_bound(born_year: int, year_lo: int, year_hi: int) -> float:
    """The most a birth date of the entry can add, knowing only its range of years."""
    gap = 0 if year_lo <= born_year <= year_hi else min(abs(born_year - year_lo), abs(born_year - year_hi))
    return W_DOB_EXACT if gap <= 1 else W_DOB_NEAR if gap <= 3 else W_DOB_FAR


# ---------------------------------------------------------------------------- entries

class PreparedEntry(NamedTuple):
    """A watchlist entry with what scoring needs precomputed (a plain tuple, cheap to store)."""

    entry_id: str
    kind: str
    names: tuple[str, ...]
    aliases: tuple[str, ...]
    identifiers: tuple[tuple[str, str, str | None, str | None], ...]  # scheme, value, country, normalised
    birth_dates: tuple[str, ...]
    nationalities: tuple[str, ...]
    sex: str
    document_status: str
    templates: tuple[tuple[str, str, str, int], ...]  # modality, algorithm, version, dimension
    topics: tuple[str, ...]
    reason: str
    action_on_hit: str
    valid_from: int | None  # ms
    valid_until: int | None
    source_list: str
    updated_at: int | None
    forms: tuple[str, ...]  # name forms of names and aliases (organisation forms for organisations)
    dates: tuple[tuple[int, int, int], ...]  # parsed birth dates

    def to_entry(self) -> dict[str, Any]:
        """Back to a WatchlistEntry datum (template vectors are kept by the gallery, not here)."""
        return {
            "entry_id": self.entry_id, "kind": self.kind, "names": list(self.names), "aliases": list(self.aliases),
            "identifiers": [{"scheme": s, "value": v, "country": c} for s, v, c, _ in self.identifiers],
            "birth_dates": list(self.birth_dates), "nationalities": list(self.nationalities), "sex": self.sex,
            "document_status": self.document_status, "biometric_templates": [], "topics": list(self.topics),
            "reason": self.reason, "action_on_hit": self.action_on_hit,
            "valid_from": _datetime(self.valid_from), "valid_until": _datetime(self.valid_until),
            "source_list": self.source_list, "updated_at": _datetime(self.updated_at),
        }

    def subject_text(self) -> str:
        """A few words for the alert list: who or what is listed."""
        name = (self.names or self.aliases or ("",))[0]
        if self.kind == "PERSON":
            extra = ", ".join(x for x in (f"b. {self.birth_dates[0]}" if self.birth_dates else "",
                                          "/".join(self.nationalities)) if x)
            return f"{name} ({extra})" if extra else name or self.entry_id
        if self.identifiers:
            scheme, value, country, _ = self.identifiers[0]
            text = f"{scheme.replace('_', ' ').lower()} {country + ' ' if country else ''}{value}"
            if self.kind == "DOCUMENT" and self.document_status not in ("UNKNOWN", "VALID"):
                text += f" ({self.document_status.lower()})"
            return f"{name}: {text}" if name and self.kind in ("VESSEL", "ORGANISATION") else text
        return name or self.entry_id


def _datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _enum(value: Any, default: str) -> str:
    return str(value) if value else default


def prepare_entry(entry: Mapping[str, Any]) -> PreparedEntry:
    """Validate the few fields matching relies on and precompute names and identifiers."""
    entry_id = entry.get("entry_id")
    if not entry_id:
        raise ValueError("watchlist entry without entry_id")
    kind = _enum(entry.get("kind"), "UNKNOWN")
    names = tuple(n for n in entry.get("names") or () if n)
    aliases = tuple(a for a in entry.get("aliases") or () if a)
    identifiers = []
    for ident in entry.get("identifiers") or ():
        scheme = _enum(ident.get("scheme"), "OTHER")
        value = ident.get("value") or ""
        identifiers.append((scheme, value, ident.get("country"), normalize_identifier(scheme, value)))
    birth_dates = tuple(entry.get("birth_dates") or ())
    forms_of = org_forms if kind == "ORGANISATION" else name_forms
    forms = distinct_forms(f for n in (*names, *aliases) for f in forms_of(n))
    templates = tuple((_enum(t.get("modality"), "UNKNOWN"), t.get("algorithm") or "", t.get("algorithm_version") or "",
                       int(t.get("dimension") or len(t.get("vector") or ())))
                      for t in entry.get("biometric_templates") or ())
    return PreparedEntry(
        entry_id=str(entry_id), kind=kind, names=names, aliases=aliases, identifiers=tuple(identifiers),
        birth_dates=birth_dates, nationalities=tuple(entry.get("nationalities") or ()),
        sex=_enum(entry.get("sex"), "UNKNOWN"), document_status=_enum(entry.get("document_status"), "UNKNOWN"),
        templates=templates, topics=tuple(entry.get("topics") or ()), reason=entry.get("reason") or "",
        action_on_hit=_enum(entry.get("action_on_hit"), "REFER_SECONDARY"),
        valid_from=to_millis(entry.get("valid_from")), valid_until=to_millis(entry.get("valid_until")),
        source_list=entry.get("source_list") or "", updated_at=to_millis(entry.get("updated_at")),
        forms=forms, dates=tuple(d for d in map(parse_partial_date, birth_dates) if d),
    )


# ---------------------------------------------------------------------------- subjects

@dataclass(slots=True)
class Subject:
    """What an event says about one person or thing. Identifiers are normalised on construction
    by ``make_subject``; ``label`` names the part of the event ("traveller", "persons[1]")."""

    label: str = "subject"
    names: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    organisation: bool = False
    birth_dates: tuple[tuple[int, int, int], ...] = ()  # (year, month, day), 0 = unknown
    nationalities: frozenset[str] = frozenset()
    sex: str | None = None
    documents: tuple[tuple[str, str | None], ...] = ()  # normalised number, issuing country
    plates: tuple[tuple[str, str | None], ...] = ()
    vins: tuple[str, ...] = ()
    imos: tuple[str, ...] = ()
    mmsis: tuple[str, ...] = ()
    vessel_names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    registrations: tuple[tuple[str, str | None], ...] = ()

    @property
    def is_person(self) -> bool:
        return bool(self.forms) and not self.organisation


def make_subject(label: str, *, names: Iterable[str | None] = (), organisation: bool = False,
                 birth_dates: Iterable[Any] = (), nationalities: Iterable[str | None] = (), sex: str | None = None,
                 documents: Iterable[tuple[str | None, str | None]] = (),
                 plates: Iterable[tuple[str | None, str | None]] = (), vins: Iterable[str | None] = (),
                 imos: Iterable[str | None] = (), mmsis: Iterable[str | None] = (),
                 vessel_names: Iterable[str | None] = (), phones: Iterable[str | None] = (),
                 registrations: Iterable[tuple[str | None, str | None]] = ()) -> Subject:
    names = tuple(n for n in names if n)
    forms_of = org_forms if organisation else name_forms
    return Subject(
        label=label, names=names, forms=distinct_forms(f for n in names for f in forms_of(n)),
        organisation=organisation, birth_dates=_dates(birth_dates),
        nationalities=frozenset(c for c in nationalities if c), sex=sex if sex in ("M", "F") else None,
        documents=_normalised_pairs("PASSPORT", documents), plates=_normalised_pairs("VEHICLE_PLATE", plates),
        vins=_normalised("VIN", vins), imos=_normalised("IMO", imos), mmsis=_normalised("MMSI", mmsis),
        vessel_names=tuple(v for v in vessel_names if v), phones=_normalised("PHONE", phones),
        registrations=_normalised_pairs("REGISTRATION_NUMBER", registrations),
    )


def _dates(values: Iterable[Any]) -> tuple[tuple[int, int, int], ...]:
    out = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (date, int)):
            full = to_date(value)
            parsed = (full.year, full.month, full.day) if full else None
        else:
            parsed = parse_partial_date(str(value))
        if parsed:
            out.append(parsed)
    return tuple(dict.fromkeys(out))


def _normalised(scheme: str, values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in (normalize_identifier(scheme, v) for v in values) if n))


def _normalised_pairs(scheme: str, pairs: Iterable[tuple[str | None, str | None]]) -> tuple[tuple[str, str | None], ...]:
    out = []
    for value, country in pairs:
        normalized = normalize_identifier(scheme, value)
        if normalized:
            out.append((normalized, country or None))
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------------- scoring

Feature = dict[str, Any]


def _feature(name: str, weight: float, detail: str) -> Feature:
    return {"feature": name, "weight": round(weight, 4), "detail": detail}  # weights may be negative


def _country_feature(name: str, listed: str | None, seen: str | None) -> Feature:
    if not listed or not seen:
        return _feature(name, W_COUNTRY_UNKNOWN, f"country {'not listed' if not listed else 'not given'}")
    if listed == seen:
        return _feature(name, W_COUNTRY_SAME, f"{seen} = {listed}")
    return _feature(name, W_COUNTRY_CONFLICT, f"{seen} vs listed {listed}")


def _best_number_match(listed: Iterable[tuple[str, str | None]], seen: Iterable[tuple[str, str | None]]
                       ) -> tuple[int, str, str | None, str, str | None] | None:
    """(confusions, listed number, listed country, seen number, seen country) of the best pair:
    fewest OCR confusions, then agreeing countries."""
    best = None
    for listed_number, listed_country in listed:
        for seen_number, seen_country in seen:
            confusions = 0 if listed_number == seen_number else ocr_confusions(listed_number, seen_number)
            if confusions is None or confusions > 1:
                continue
            rank = (confusions, 0 if listed_country and listed_country == seen_country else 1)
            if best is None or rank < best[0]:
                best = (rank, (confusions, listed_number, listed_country, seen_number, seen_country))
    return best[1] if best else None


def _number_features(kind_word: str, number_feature: str, country_feature: str,
                     listed: list[tuple[str, str | None]], seen: tuple[tuple[str, str | None], ...]) -> list[Feature]:
    found = _best_number_match(listed, seen)
    if found is None:
        return []
    confusions, listed_number, listed_country, seen_number, seen_country = found
    if confusions == 0:
        number = _feature(number_feature, W_DOC_EXACT, f"{kind_word} {seen_number} = listed {listed_number}")
    else:
        number = _feature(number_feature, W_DOC_OCR,
                          f"{kind_word} {seen_number} vs listed {listed_number}: one OCR confusion")
    return [number, _country_feature(country_feature, listed_country, seen_country)]


def _exact_features(feature: str, weight: float, word: str, listed: list[str], seen: tuple[str, ...]) -> list[Feature]:
    common = [v for v in seen if v in listed]
    return [_feature(feature, weight, f"{word} {common[0]} listed")] if common else []


def _person_evidence(entry: PreparedEntry, subject: Subject) -> list[Feature]:
    """What besides the name speaks for or against one person being the other: birth date,
    nationality, sex. Known before any name is compared, so it bounds the score cheaply."""
    features = []
    if subject.birth_dates and entry.dates:
        found = compare_birth_dates(subject.birth_dates, entry.dates)
        if found:
            features.append(_feature("birth_date", *found))
    if subject.nationalities and entry.nationalities:
        shared = subject.nationalities.intersection(entry.nationalities)
        if shared:
            features.append(_feature("nationality", W_NAT_AGREE, f"{'/'.join(sorted(shared))} listed"))
        else:
            features.append(_feature("nationality", W_NAT_CONFLICT,
                                     f"{'/'.join(sorted(subject.nationalities))} vs listed {'/'.join(entry.nationalities)}"))
    if subject.sex and entry.sex in ("M", "F"):
        if subject.sex == entry.sex:
            features.append(_feature("sex", W_SEX_AGREE, f"{subject.sex} = {entry.sex}"))
        else:
            features.append(_feature("sex", W_SEX_CONFLICT, f"{subject.sex} vs listed {entry.sex}"))
    return features


def _person_features(entry: PreparedEntry, comparison: NameComparison, evidence: list[Feature]) -> list[Feature]:
    if comparison.score < MIN_NAME_SIM:
        return [_feature("name_similarity", 0.0, f"names differ ({comparison.score:.2f})")] if entry.forms else []
    return [_feature("name_similarity", W_NAME * comparison.score,
                     f"{comparison.score:.2f}: {comparison.detail()}"), *evidence]


def _organisation_features(entry: PreparedEntry, subject: Subject) -> list[Feature]:
    comparison = best_comparison(subject.forms, entry.forms)
    if comparison.score < MIN_NAME_SIM:
        return []
    features = [_feature("name_similarity", W_ORG_NAME * comparison.score,
                         f"{comparison.score:.2f}: {comparison.detail()}")]
    if subject.nationalities and entry.nationalities:
        if subject.nationalities.intersection(entry.nationalities):
            features.append(_feature("jurisdiction", W_JURISDICTION_AGREE, "same country"))
        else:
            features.append(_feature("jurisdiction", W_JURISDICTION_CONFLICT,
                                     f"{'/'.join(sorted(subject.nationalities))} vs listed {'/'.join(entry.nationalities)}"))
    return features


def name_bound(name_score: float) -> float:
    """The most a person entry found by name alone can score with this name similarity: its
    birth date, nationality and sex all agreeing. 0 when the names differ."""
    return W_NAME * name_score + BEST_PERSON_EVIDENCE if name_score >= MIN_NAME_SIM else 0.0


def score_entry(entry: PreparedEntry, subject: Subject, biometric: tuple[float, str] | None = None,
                floor: float = 0.0, comparison: NameComparison | None = None) -> tuple[float, list[Feature]]:
    """Score and explanation of one entry for one subject. biometric: (score contribution,
    detail) from the gallery, when the subject's template matched one of the entry's. With a
    floor, a person entry that nothing but the name and its evidence (birth date, nationality,
    sex) can lift, and that cannot reach the floor, is not explained: (an upper bound of its
    score, []) comes back at once, before its evidence is worked out when the name alone rules
    it out (``name_bound``). comparison: the subject's and the person's names compared already."""
    identified = _identifier_features(entry, subject)
    if biometric is not None:
        identified.append(_feature("biometric", biometric[0], biometric[1]))
    features: list[Feature] = []
    if entry.kind == "PERSON" and subject.is_person:
        name_only = floor and not identified
        if comparison is None:
            comparison = best_comparison(subject.forms, entry.forms)
        if name_only:
            bound = name_bound(comparison.score)
            if bound < floor:
                return round_score(max(0.0, min(1.0, W_NAME * comparison.score + BEST_PERSON_EVIDENCE))), []
        evidence = _person_evidence(entry, subject)
        if name_only:
            bound = W_NAME * comparison.score + sum(f["weight"] for f in evidence)
            if bound < floor:
                return round_score(max(0.0, min(1.0, bound))), []
        features += _person_features(entry, comparison, evidence)
    elif entry.kind == "ORGANISATION" and subject.organisation and subject.forms:
        features += _organisation_features(entry, subject)
    features += identified
    total = sum(f["weight"] for f in features)
    return round_score(min(1.0, max(0.0, total))), features


def _identifier_features(entry: PreparedEntry, subject: Subject) -> list[Feature]:
    """What the entry's identifiers say: documents, plates, VIN, IMO and MMSI (with the vessel's
    name), phones, registration numbers."""
    by_scheme: dict[str, list[tuple[str, str | None]]] = {}
    for scheme, _, country, normalized in entry.identifiers:
        if normalized:
            family = "DOCUMENT" if scheme in DOCUMENT_SCHEMES else scheme
            by_scheme.setdefault(family, []).append((normalized, country))
    features: list[Feature] = []
    if not by_scheme:
        return features
    if subject.documents and "DOCUMENT" in by_scheme:
        doc_features = _number_features("document", "document_number", "document_country",
                                        by_scheme["DOCUMENT"], subject.documents)
        features += doc_features
        if doc_features and entry.kind == "DOCUMENT":
            features += _listed_document_features(entry, subject)
    if subject.plates and "VEHICLE_PLATE" in by_scheme:
        features += _number_features("plate", "vehicle_plate", "plate_country", by_scheme["VEHICLE_PLATE"],
                                     subject.plates)
    if subject.vins and "VIN" in by_scheme:
        features += _exact_features("vin", W_VIN, "VIN", [n for n, _ in by_scheme["VIN"]], subject.vins)
    vessel = []
    if subject.imos and "IMO" in by_scheme:
        vessel += _exact_features("imo", W_IMO, "IMO", [n for n, _ in by_scheme["IMO"]], subject.imos)
    if subject.mmsis and "MMSI" in by_scheme:
        vessel += _exact_features("mmsi", W_MMSI, "MMSI", [n for n, _ in by_scheme["MMSI"]], subject.mmsis)
    if vessel and subject.vessel_names and entry.forms:
        score, detail = _vessel_name(entry, subject)
        if score >= 0.8:
            vessel.append(_feature("vessel_name", W_VESSEL_NAME, detail))
    features += vessel
    if subject.phones and "PHONE" in by_scheme:
        features += _exact_features("phone", W_PHONE, "phone", [n for n, _ in by_scheme["PHONE"]], subject.phones)
    if subject.registrations and "REGISTRATION_NUMBER" in by_scheme:
        found = _best_number_match(by_scheme["REGISTRATION_NUMBER"], subject.registrations)
        if found and found[0] == 0:
            features.append(_feature("registration_number", W_REGISTRATION, f"registration {found[3]} listed"))
    return features


def _listed_document_features(entry: PreparedEntry, subject: Subject) -> list[Feature]:
    """Status and holder of a listed document. A flagged one is a hit whoever carries it: the
    holder is reported for the officer, with no weight."""
    if entry.document_status in FLAGGED_STATUSES:
        features = [_feature("document_status", W_DOC_STATUS,
                             f"listed as {entry.document_status}: a hit whoever carries it")]
        if subject.names and entry.names:
            features.append(_feature("document_holder", 0.0,
                                     f"presented by {subject.names[0]!r}; listed holder {entry.names[0]!r}"))
        return features
    if subject.forms and entry.forms:
        comparison = best_comparison(subject.forms, entry.forms)
        if comparison.score >= 0.8:
            return [_feature("document_holder", W_HOLDER_AGREES, f"presented by the listed holder: {comparison.detail()}")]
        return [_feature("document_holder", 0.0, f"presented by {subject.names[0]!r}; listed holder "
                                                  f"{(entry.names or entry.aliases or ('?',))[0]!r}")]
    return []


def _vessel_name(entry: PreparedEntry, subject: Subject) -> tuple[float, str]:
    forms = [f for n in subject.vessel_names for f in org_forms(n)]
    comparison = best_comparison(forms, entry.forms)
    return comparison.score, comparison.detail()


def biometric_contribution(similarity: float, threshold: float, modality: str) -> tuple[float, str]:
    """A template at the modality threshold scores BIOMETRIC_FLOOR, an identical one 1.0."""
    span = max(1e-9, 1.0 - threshold)
    weight = BIOMETRIC_FLOOR + (1.0 - BIOMETRIC_FLOOR) * min(1.0, max(0.0, (similarity - threshold) / span))
    return weight, f"{modality.lower()} template cosine {similarity:.3f} (threshold {threshold:.2f})"
