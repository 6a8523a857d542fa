"""ICAO 9303 machine readable zones: check digits, parsing, agreement with the stated fields, and
generation of valid zones for the simulator.

Own code rather than the `mrz` package: the rules fit in one page, and that package is GPL-3.0.
Formats: TD1 (3x30, ID cards), TD2 (2x36), TD3 (2x44, passports), and the visas MRV-B (2x36)
and MRV-A (2x44), which have no optional-data or composite check digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from rigour.text.scripts import text_scripts

from .countries import canonical_country, icao_code, to_icao
from .identifiers import normalize_document_number
from .problems import Problem, join_path
from .translit import ascii_words

FILLER = "<"
_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")} | {FILLER: 0}
_LINE_RE = re.compile(r"[A-Z0-9<]+")
# An expiry YYMMDD is read in the century that puts it at most this many years ahead: documents
# are valid for 10 years at most, and an expired one from last century is still a 19xx date.
EXPIRY_HORIZON_YEARS = 50


def check_digit(field: str) -> str:
    """ICAO 9303 check digit: character values weighted 7, 3, 1 repeating, sum modulo 10."""
    return str(sum(_VALUES[c] * (7, 3, 1)[i % 3] for i, c in enumerate(field)) % 10)


@dataclass(frozen=True, slots=True)
class MrzData:
    format: str  # TD1, TD2, TD3, MRVA, MRVB
    document_code: str  # "P", "PM", "I", "ID", "V", ... without fillers
    issuing_state: str  # ICAO code as printed, without fillers ("D", "UTO", "XXA")
    family_names: str  # name components separated by single spaces
    given_names: str
    document_number: str
    nationality: str  # ICAO code as printed, without fillers
    birth_date_raw: str  # YYMMDD as printed; fillers mark unknown parts
    birth_date: date | None  # None when unknown or unreadable
    sex: str  # "M", "F" or "X" (the MRZ prints '<' for unspecified)
    expiry_date_raw: str
    expiry_date: date | None
    optional_data: str  # without fillers
    optional_data_2: str  # TD1 line 2 only
    names_truncated: bool  # the name field is full, so names may be cut short


_FORMATS = {(3, 30): "TD1", (2, 36): "TD2", (2, 44): "TD3"}


def check_mrz(
    lines: Iterable[str] | str, path: str = "", today: date | None = None
) -> tuple[MrzData | None, list[Problem]]:
    """Parse an MRZ and verify its check digits, dates, sex and country codes.

    Returns the parsed zone (None when the layout is unreadable) and every problem found.
    Problem paths point at the line (path.N) holding the faulty field.
    """
    today = today or date.today()
    lines = lines.splitlines() if isinstance(lines, str) else list(lines)
    lines = [line.strip() for line in lines]
    shape = (len(lines), len(lines[0]) if lines else 0)
    kind = _FORMATS.get(shape)
    if kind is None or any(len(line) != shape[1] for line in lines):
        sizes = "x".join(str(len(line)) for line in lines) or "none"
        return None, [
            Problem(path, "mrz_format", f"lines of {sizes} characters match no ICAO 9303 format (3x30, 2x36, 2x44)")
        ]
    for i, line in enumerate(lines):
        if not _LINE_RE.fullmatch(line):
            return None, [Problem(join_path(path, i), "mrz_format", "an MRZ line holds only A-Z, 0-9 and '<'")]
    if kind != "TD1" and lines[0].startswith("V"):
        kind = "MRVA" if kind == "TD3" else "MRVB"

    problems: list[Problem] = []

    def verify(label: str, value: str, digit: str, line: int, filler_ok: bool = False) -> None:
        if filler_ok and digit == FILLER and set(value) <= {FILLER}:
            return  # an empty optional-data field may carry a filler as its check digit
        if digit != check_digit(value):
            problems.append(
                Problem(
                    join_path(path, line),
                    "mrz_check_digit",
                    f"check digit of {label} {value!r} is {check_digit(value)}, not {digit!r}",
                )
            )

    if kind == "TD1":
        l1, l2, l3 = lines
        code, state, names = l1[0:2], l1[2:5], l3
        number, number_cd, opt1 = l1[5:14], l1[14], l1[15:30]
        if number_cd == FILLER:  # numbers over 9 characters continue in the optional data, then their check digit
            overflow, _, opt1 = opt1.partition(FILLER)
            number, number_cd = number + overflow[:-1], overflow[-1:] or FILLER
        birth, sex, expiry, nationality, opt2 = l2[0:6], l2[7], l2[8:14], l2[15:18], l2[18:29]
        verify("document number", number, number_cd, 0)
        verify("birth date", birth, l2[6], 1)
        verify("expiry date", expiry, l2[14], 1)
        verify("line 1 and 2 data", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29], 1)
    else:
        l1, l2 = lines
        width = len(l1)
        code, state, names = l1[0:2], l1[2:5], l1[5:]
        number, number_cd = l2[0:9], l2[9]
        nationality, birth, sex, expiry = l2[10:13], l2[13:19], l2[20], l2[21:27]
        opt_end = {"TD3": 42, "TD2": 35}.get(kind, width)
        opt1, opt2 = l2[28:opt_end], ""
        if kind in ("TD2", "MRVB") and number_cd == FILLER:
            overflow, _, opt1 = opt1.partition(FILLER)
            number, number_cd = number + overflow[:-1], overflow[-1:] or FILLER
        verify("document number", number, number_cd, 1)
        verify("birth date", birth, l2[19], 1)
        verify("expiry date", expiry, l2[27], 1)
        if kind == "TD3":
            verify("optional data", l2[28:42], l2[42], 1, filler_ok=True)
            verify("line 2 data", l2[0:10] + l2[13:20] + l2[21:43], l2[43], 1)
        elif kind == "TD2":
            verify("line 2 data", l2[0:10] + l2[13:20] + l2[21:35], l2[35], 1)

    # In every format the issuing state is on line 0 and dates, sex and nationality on line 1.
    birth_date = _read_date(birth, today, future=False)
    expiry_date = _read_date(expiry, today, future=True)
    for key, raw, value in (("birth", birth, birth_date), ("expiry", expiry, expiry_date)):
        if value is None and not _is_unknown_date(raw):
            problems.append(Problem(join_path(path, 1), "mrz_format", f"{key} date {raw!r} is not a date YYMMDD"))
    if sex not in "MFX<":
        problems.append(Problem(join_path(path, 1), "mrz_format", f"sex {sex!r} is not M, F or <"))
    for label, raw, line in (("issuing state", state, 0), ("nationality", nationality, 1)):
        if icao_code(raw) is None:
            problems.append(
                Problem(join_path(path, line), "country_unknown", f"{label} {raw!r} is not an ICAO 9303 code")
            )

    primary, _, secondary = names.partition(FILLER * 2)
    data = MrzData(
        format=kind,
        document_code=code.replace(FILLER, ""),
        issuing_state=state.replace(FILLER, ""),
        family_names=_spaced(primary),
        given_names=_spaced(secondary),
        document_number=number.replace(FILLER, ""),
        nationality=nationality.replace(FILLER, ""),
        birth_date_raw=birth,
        birth_date=birth_date,
        sex="X" if sex == FILLER else sex,
        expiry_date_raw=expiry,
        expiry_date=expiry_date,
        optional_data=opt1.strip(FILLER),
        optional_data_2=opt2.strip(FILLER),
        # A full field, or one ending in a single filler where the cut fell, may be truncated.
        names_truncated=not names.endswith(FILLER * 2),
    )
    return data, problems


def _spaced(field: str) -> str:
    return " ".join(part for part in field.split(FILLER) if part)


def _is_unknown_date(raw: str) -> bool:
    """ICAO 9303 fills unknown parts of a date (typically day and month of birth) with '<'."""
    return re.fullmatch(r"[0-9<]{6}", raw) is not None and FILLER in raw


def _read_date(raw: str, today: date, *, future: bool) -> date | None:
    if not raw.isdigit():
        return None
    yy, mm, dd = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
    candidates = []
    for century in (2000, 1900):
        try:
            candidates.append(date(century + yy, mm, dd))
        except ValueError:
            pass  # e.g. 29 February exists in 2000 but not in 1900
    if future:
        fitting = [d for d in candidates if d.year <= today.year + EXPIRY_HORIZON_YEARS]
    else:  # a birth date lies in the past: take the latest century that keeps it there
        fitting = [d for d in candidates if d <= today]
    return fitting[0] if fitting else None


# ICAO 9303 Part 3 writes these Latin letters as two; other accented letters simply lose the accent.
_ICAO_LATIN = str.maketrans(
    {"Ä": "AE", "Å": "AA", "Æ": "AE", "Ĳ": "IJ", "Ö": "OE", "Ø": "OE", "Ü": "UE", "Þ": "TH", "Œ": "OE"}
)


def name_tokens(text: str | None, *, icao: bool = True) -> list[str]:
    """A name as the A-Z components an MRZ would print. icao=False folds Ä to A etc., which
    ICAO also allows and some states use."""
    text = (text or "").upper()  # upper() already turns ß into SS
    if icao:
        text = text.translate(_ICAO_LATIN)
    text = re.sub(r"['’`]", "", ascii_words(text).upper())  # apostrophes are dropped, not separators
    return re.findall(r"[A-Z]+", text)


def _name_agrees(mrz_name: str, printed: str | None, truncated: bool) -> bool:
    mrz = mrz_name.split()
    for icao in (True, False):
        doc = name_tokens(printed, icao=icao)
        if "".join(mrz) == "".join(doc):
            return True
        # A full name field may hold names cut short, down to initials: each MRZ component must
        # then begin its printed counterpart.
        if truncated and len(mrz) <= len(doc) and all(d.startswith(m) for m, d in zip(mrz, doc, strict=False)):
            return True
    return False


def compare_mrz_with_document(
    parsed: MrzData,
    document: Mapping | None,
    traveller: Mapping | None = None,
    *,
    document_path: str = "document",
    traveller_path: str = "traveller",
) -> list[Problem]:
    """Fields of the document and traveller (Avro datum form) that disagree with the MRZ."""
    problems: list[Problem] = []

    def mismatch(path: str, what: str, mrz_value: object, value: object) -> None:
        problems.append(Problem(path, "mrz_mismatch", f"{what}: MRZ has {mrz_value!r}, field has {value!r}"))

    document = document or {}
    number = document.get("number")
    if number is not None and normalize_document_number(number) != parsed.document_number:
        mismatch(join_path(document_path, "number"), "document number", parsed.document_number, number)
    issuer, mrz_issuer = canonical_country(document.get("issuing_country")), canonical_country(parsed.issuing_state)
    if issuer and mrz_issuer and issuer != mrz_issuer:
        mismatch(
            join_path(document_path, "issuing_country"),
            "issuing state",
            parsed.issuing_state,
            document.get("issuing_country"),
        )
    _compare_date(
        document.get("expiry_date"),
        parsed.expiry_date_raw,
        join_path(document_path, "expiry_date"),
        "expiry date",
        mismatch,
    )

    if traveller is None:
        return problems
    _compare_date(
        traveller.get("date_of_birth"),
        parsed.birth_date_raw,
        join_path(traveller_path, "date_of_birth"),
        "birth date",
        mismatch,
    )
    sex = traveller.get("sex")
    if sex in ("M", "F", "X") and sex != parsed.sex:
        mismatch(join_path(traveller_path, "sex"), "sex", parsed.sex, sex)
    nationality, mrz_nationality = (
        canonical_country(traveller.get("nationality")),
        canonical_country(parsed.nationality),
    )
    if nationality and mrz_nationality and nationality != mrz_nationality:
        mismatch(
            join_path(traveller_path, "nationality"), "nationality", parsed.nationality, traveller.get("nationality")
        )

    latin = traveller.get("names_latin")
    if latin:
        family, sep, given = latin.partition(",")
        if sep:
            agree = _name_agrees(parsed.family_names, family, parsed.names_truncated) and _name_agrees(
                parsed.given_names, given, parsed.names_truncated
            )
        else:
            agree = _name_agrees(f"{parsed.family_names} {parsed.given_names}", latin, parsed.names_truncated)
        if not agree:
            mismatch(
                join_path(traveller_path, "names_latin"), "name", f"{parsed.family_names}, {parsed.given_names}", latin
            )
        return problems
    for key, mrz_name in (("family_names", parsed.family_names), ("given_names", parsed.given_names)):
        printed = traveller.get(key) or ""
        # Without names_latin, a name printed in another script has no single ICAO spelling to
        # compare with (ICAO lets each state transliterate), so it is not compared.
        if text_scripts(printed) <= {"Latin"} and not _name_agrees(mrz_name, printed, parsed.names_truncated):
            mismatch(join_path(traveller_path, key), key.replace("_", " "), mrz_name, printed)
    return problems


def _compare_date(value: date | None, raw: str, path: str, what: str, mismatch) -> None:
    # Compared as printed (YYMMDD), so a 1920 birth date agrees whatever century the MRZ reading picked.
    if value is not None and raw.isdigit() and value.strftime("%y%m%d") != raw:
        mismatch(path, what, raw, value.isoformat())


# --- generation -------------------------------------------------------------------------------


def _pad(text: str, width: int, what: str) -> str:
    if len(text) > width:
        raise ValueError(f"{what} {text!r} is longer than {width} characters")
    return text + FILLER * (width - len(text))


def _name_field(family: str, given: str, width: int) -> str:
    # Plain cut when too long; ICAO's finer truncation rules are not needed for generated data.
    field = FILLER.join(name_tokens(family)) + FILLER * 2 + FILLER.join(name_tokens(given))
    return _pad(field[:width] if len(field) > width else field, width, "names")


def _sex(sex: str | None) -> str:
    return sex if sex in ("M", "F") else FILLER


def _code(text: str, width: int, what: str) -> str:
    code = re.sub(r"[^A-Z0-9]", "", text.upper())
    return _pad(code, width, what)


def _date_field(value: date) -> str:
    return value.strftime("%y%m%d")


def make_td3(
    *,
    document_number: str,
    issuing_state: str,
    nationality: str,
    family_names: str,
    given_names: str,
    birth_date: date,
    sex: str | None,
    expiry_date: date,
    optional_data: str = "",
    document_code: str = "P",
) -> list[str]:
    """Two 44-character lines of a passport MRZ. Countries as alpha-2, alpha-3 or ICAO codes."""
    number = _code(document_number, 9, "TD3 document number")
    opt = _code(optional_data, 14, "optional data")
    birth, expiry = _date_field(birth_date), _date_field(expiry_date)
    line1 = (
        _code(document_code, 2, "document code")
        + _pad(to_icao(issuing_state), 3, "state")
        + _name_field(family_names, given_names, 39)
    )
    body = (
        number
        + check_digit(number)
        + _pad(to_icao(nationality), 3, "nationality")
        + birth
        + check_digit(birth)
        + _sex(sex)
        + expiry
        + check_digit(expiry)
        + opt
        + check_digit(opt)
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return [line1, body + check_digit(composite)]


def make_td1(
    *,
    document_number: str,
    issuing_state: str,
    nationality: str,
    family_names: str,
    given_names: str,
    birth_date: date,
    sex: str | None,
    expiry_date: date,
    optional_data: str = "",
    optional_data_2: str = "",
    document_code: str = "I",
) -> list[str]:
    """Three 30-character lines of an ID-card MRZ; numbers over 9 characters use the overflow rule."""
    number = re.sub(r"[^A-Z0-9]", "", document_number.upper())
    optional_data = re.sub(r"[^A-Z0-9]", "", optional_data.upper())
    if len(number) <= 9:
        number_part = _pad(number, 9, "number") + check_digit(_pad(number, 9, "number")) + optional_data
    else:
        number_part = number[:9] + FILLER + number[9:] + check_digit(number) + FILLER + optional_data
    birth, expiry = _date_field(birth_date), _date_field(expiry_date)
    line1 = (
        _code(document_code, 2, "document code")
        + _pad(to_icao(issuing_state), 3, "state")
        + _pad(number_part, 25, "number and optional data")
    )
    line2 = (
        birth
        + check_digit(birth)
        + _sex(sex)
        + expiry
        + check_digit(expiry)
        + _pad(to_icao(nationality), 3, "nationality")
        + _code(optional_data_2, 11, "optional data 2")
    )
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    return [line1, line2 + check_digit(composite), _name_field(family_names, given_names, 30)]
