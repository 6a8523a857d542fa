from datetime import date

import pytest

from borderhub.domain.mrz import check_digit, check_mrz, compare_mrz_with_document, make_td1, make_td3, name_tokens

# ICAO 9303 specimens (Utopia, "UTO", is ICAO's fictitious state).
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
MRVA = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"]
SPECIMEN_DAY = date(2010, 1, 1)


def codes(problems):
    return [p.code for p in problems]


@pytest.mark.parametrize(
    "field, digit",
    [("L898902C3", "6"), ("740812", "2"), ("120415", "9"), ("ZE184226B<<<<<", "1"), ("D23145890", "7"), ("<<<", "0")],
)
def test_check_digit(field, digit):
    assert check_digit(field) == digit


def test_td3_specimen():
    parsed, problems = check_mrz(TD3, "mrz", today=SPECIMEN_DAY)
    # Only the fictitious state is wrong: every check digit holds.
    assert [(p.path, p.code) for p in problems] == [("mrz.0", "country_unknown"), ("mrz.1", "country_unknown")]
    assert parsed.format == "TD3" and parsed.document_code == "P"
    assert (parsed.family_names, parsed.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert parsed.document_number == "L898902C3"
    assert (parsed.issuing_state, parsed.nationality, parsed.sex) == ("UTO", "UTO", "F")
    assert parsed.birth_date == date(1974, 8, 12)
    assert parsed.expiry_date == date(2012, 4, 15)
    assert parsed.optional_data == "ZE184226B"
    assert not parsed.names_truncated


def test_td1_specimen():
    parsed, problems = check_mrz(TD1, today=SPECIMEN_DAY)
    assert codes(problems) == ["country_unknown", "country_unknown"]
    assert parsed.format == "TD1" and parsed.document_code == "I"
    assert parsed.document_number == "D23145890"
    assert (parsed.family_names, parsed.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (parsed.birth_date, parsed.expiry_date, parsed.sex) == (date(1974, 8, 12), date(2012, 4, 15), "F")


def test_td2_and_visa_specimens():
    parsed, problems = check_mrz(TD2, today=SPECIMEN_DAY)
    assert parsed.format == "TD2" and parsed.document_number == "D23145890"
    assert codes(problems) == ["country_unknown", "country_unknown"]
    parsed, problems = check_mrz(MRVA, today=SPECIMEN_DAY)
    # A visa has no composite check digit; its nationality XXX (unspecified) is an ICAO code.
    assert parsed.format == "MRVA" and parsed.nationality == "XXX"
    assert parsed.document_number == "L8988901C" and parsed.expiry_date == date(1996, 12, 10)
    assert codes(problems) == ["country_unknown"]


def _corrupt(ch: str) -> str:
    """A different character whose check value differs by a step not divisible by 10."""
    if ch.isdigit():
        return str((int(ch) + 1) % 10)
    if ch == "<":
        return "1"
    return "Y" if ch == "Z" else chr(ord(ch) + 1)


def _corruptions(lines, line_index, positions):
    for pos in positions:
        bad = list(lines)
        line = bad[line_index]
        bad[line_index] = line[:pos] + _corrupt(line[pos]) + line[pos + 1 :]
        yield pos, bad


TD3_CHECKED = [p for p in range(44) if not (10 <= p < 13 or p == 20)]  # all but nationality and sex


@pytest.mark.parametrize("pos, lines", list(_corruptions(TD3, 1, TD3_CHECKED)))
def test_td3_single_character_corruption_fails(pos, lines):
    _, problems = check_mrz(lines, today=SPECIMEN_DAY)
    assert "mrz_check_digit" in codes(problems), pos


TD1_CHECKED = [(0, p) for p in range(5, 30)] + [(1, p) for p in range(30) if not (15 <= p < 18 or p == 7)]


@pytest.mark.parametrize("line, pos", TD1_CHECKED)
def test_td1_single_character_corruption_fails(line, pos):
    [(_, lines)] = list(_corruptions(TD1, line, [pos]))
    _, problems = check_mrz(lines, today=SPECIMEN_DAY)
    assert "mrz_check_digit" in codes(problems), (line, pos)


def test_corrupted_check_digit_points_at_its_line():
    lines = [TD1[0][:14] + "8" + TD1[0][15:], TD1[1], TD1[2]]
    _, problems = check_mrz(lines, "document.mrz_lines", today=SPECIMEN_DAY)
    paths = {p.path for p in problems if p.code == "mrz_check_digit"}
    assert "document.mrz_lines.0" in paths


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["P<UTOERIKSSON"],
        [TD3[0], TD3[1][:-1]],
        [TD3[0].lower(), TD3[1]],
        TD3 + ["<" * 44],
        [TD3[0], TD3[1][:43] + " "],  # 43 characters after stripping
    ],
)
def test_unreadable_layouts(lines):
    parsed, problems = check_mrz(lines, "m")
    assert parsed is None and codes(problems) == ["mrz_format"]


def _td3(**overrides):
    args = dict(
        document_number="C01X00T47",
        issuing_state="DE",
        nationality="DE",
        family_names="Müller",
        given_names="Anna Lena",
        birth_date=date(1990, 2, 28),
        sex="F",
        expiry_date=date(2031, 7, 14),
    )
    return make_td3(**(args | overrides))


def test_bad_sex_and_dates_are_format_problems():
    line2 = _td3()[1]
    bad_sex = line2[:20] + "Q" + line2[21:]
    _, problems = check_mrz([_td3()[0], bad_sex])
    assert "mrz_format" in codes(problems)
    birth = "901302"  # month 13, with a matching check digit
    line2 = line2[:13] + birth + check_digit(birth) + line2[20:]
    parsed, problems = check_mrz([_td3()[0], line2])
    assert parsed.birth_date is None and "mrz_format" in codes(problems)


def test_unknown_birth_day_and_month_are_allowed():
    birth = "74<<<<"
    line2 = _td3()[1]
    line2 = line2[:13] + birth + check_digit(birth) + line2[20:43]
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])  # composite over the changed fields
    parsed, problems = check_mrz([_td3()[0], line2])
    assert problems == [] and parsed.birth_date is None and parsed.birth_date_raw == birth


@pytest.mark.parametrize(
    "raw, today, expected",
    [
        ("250101", date(2024, 6, 1), date(1925, 1, 1)),  # 2025 would be in the future
        ("240101", date(2024, 6, 1), date(2024, 1, 1)),
        ("000229", date(2024, 6, 1), date(2000, 2, 29)),
    ],
)
def test_birth_century(raw, today, expected):
    line2 = _td3()[1]
    line2 = line2[:13] + raw + check_digit(raw) + line2[20:43]
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    parsed, _ = check_mrz([_td3()[0], line2], today=today)
    assert parsed.birth_date == expected


@pytest.mark.parametrize(
    "expiry, expected",
    [(date(2034, 5, 1), date(2034, 5, 1)), (date(1999, 5, 1), date(1999, 5, 1)), (date(2071, 1, 1), date(2071, 1, 1))],
)
def test_expiry_century_leans_to_the_future(expiry, expected):
    parsed, _ = check_mrz(_td3(expiry_date=expiry), today=date(2024, 6, 1))
    assert parsed.expiry_date == expected


ROUND_TRIPS = [
    dict(
        maker=make_td3,
        document_number="L898902C3",
        issuing_state="UY",
        nationality="UY",
        family_names="Rodríguez Pérez",
        given_names="María José",
        birth_date=date(1985, 11, 3),
        sex="F",
        expiry_date=date(2030, 1, 31),
        optional_data="12345678",
    ),
    dict(
        maker=make_td3,
        document_number="C01X00T47",
        issuing_state="D",
        nationality="DEU",
        family_names="Müller-Lüdenscheidt",
        given_names="Hans Jürgen",
        birth_date=date(1980, 2, 29),
        sex="M",
        expiry_date=date(2029, 5, 1),
    ),
    dict(
        maker=make_td3,
        document_number="X12",
        issuing_state="DE",
        nationality="XXA",
        family_names="O'Neil",
        given_names="",
        birth_date=date(2001, 1, 1),
        sex="X",
        expiry_date=date(2026, 1, 1),
        document_code="PT",
    ),
    dict(
        maker=make_td1,
        document_number="D23145890",
        issuing_state="NL",
        nationality="NL",
        family_names="van der Berg",
        given_names="Sanne",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2032, 4, 15),
    ),
    dict(
        maker=make_td1,
        document_number="ABC1234567890",
        issuing_state="PT",
        nationality="PRT",
        family_names="d'Almeida",
        given_names="João",
        birth_date=date(1999, 12, 31),
        sex="M",
        expiry_date=date(2029, 1, 1),
        optional_data_2="XY12",
    ),
]


@pytest.mark.parametrize("args", ROUND_TRIPS)
def test_generated_zones_are_valid_and_read_back(args):
    args = dict(args)
    maker = args.pop("maker")
    lines = maker(**args)
    width = 44 if maker is make_td3 else 30
    assert all(len(line) == width for line in lines)
    parsed, problems = check_mrz(lines, today=date(2025, 6, 1))
    assert problems == []
    assert parsed.document_number == args["document_number"]
    assert (parsed.birth_date, parsed.expiry_date) == (args["birth_date"], args["expiry_date"])
    assert parsed.sex == (args["sex"] if args["sex"] in "MF" else "X")
    assert parsed.family_names.replace(" ", "") == "".join(name_tokens(args["family_names"]))
    document = {
        "number": args["document_number"],
        "issuing_country": args["issuing_state"],
        "expiry_date": args["expiry_date"],
    }
    traveller = {
        "family_names": args["family_names"],
        "given_names": args["given_names"],
        "date_of_birth": args["birth_date"],
        "sex": args["sex"],
        "nationality": args["nationality"],
    }
    assert compare_mrz_with_document(parsed, document, traveller) == []


@pytest.mark.parametrize("pos", range(5, 30))
def test_generated_td1_with_long_number_detects_corruption(pos):
    args = dict(ROUND_TRIPS[4])
    args.pop("maker")
    lines = make_td1(**args)
    [(_, bad)] = list(_corruptions(lines, 0, [pos]))
    _, problems = check_mrz(bad, today=date(2025, 6, 1))
    assert "mrz_check_digit" in codes(problems)


def test_make_td3_rejects_what_does_not_fit():
    with pytest.raises(ValueError):
        _td3(document_number="ABCDEFGHIJ")
    with pytest.raises(ValueError):
        _td3(nationality="ZZ")


# --- agreement with the document and the traveller ---------------------------------------------

DOC = {"number": "C01X00T47", "issuing_country": "DE", "expiry_date": date(2031, 7, 14)}
TRAVELLER = {
    "family_names": "Müller",
    "given_names": "Anna Lena",
    "date_of_birth": date(1990, 2, 28),
    "sex": "F",
    "nationality": "DE",
    "names_latin": None,
}


def _compare(doc=None, traveller=None, lines=None):
    parsed, problems = check_mrz(lines or _td3())
    assert problems == []
    return [
        (p.path, p.code) for p in compare_mrz_with_document(parsed, DOC | (doc or {}), TRAVELLER | (traveller or {}))
    ]


def test_agreeing_fields_pass():
    assert _compare() == []
    # ICAO allows Ü as UE or U; the printed name may also come without the diacritic.
    assert _compare(lines=_td3(family_names="Muller")) == []
    assert _compare(traveller={"family_names": "MUELLER"}) == []
    assert _compare(doc={"number": "c01x00t47", "issuing_country": "DEU"}) == []


@pytest.mark.parametrize(
    "doc, traveller, path",
    [
        ({"number": "C01X00T48"}, {}, "document.number"),
        ({"issuing_country": "AT"}, {}, "document.issuing_country"),
        ({"expiry_date": date(2031, 7, 15)}, {}, "document.expiry_date"),
        ({}, {"date_of_birth": date(1990, 2, 27)}, "traveller.date_of_birth"),
        ({}, {"sex": "M"}, "traveller.sex"),
        ({}, {"nationality": "AT"}, "traveller.nationality"),
        ({}, {"family_names": "Miller"}, "traveller.family_names"),
        ({}, {"given_names": "Anna"}, "traveller.given_names"),
        ({}, {"names_latin": "MUELLER, Hanna"}, "traveller.names_latin"),
    ],
)
def test_each_disagreement_is_reported_at_its_field(doc, traveller, path):
    assert _compare(doc, traveller) == [(path, "mrz_mismatch")]


def test_unknown_sex_and_absent_fields_are_not_compared():
    assert (
        _compare(doc={"expiry_date": None}, traveller={"sex": "UNKNOWN", "date_of_birth": None, "nationality": None})
        == []
    )


def test_names_in_other_scripts_use_names_latin():
    lines = _td3(family_names="Ivanova", given_names="Iuliia", issuing_state="RU", nationality="RU")
    doc = {"issuing_country": "RU"}
    cyrillic = {"family_names": "Иванова", "given_names": "Юлия", "nationality": "RU"}
    # No names_latin: no reliable transliteration to compare with, so no false alarm.
    assert _compare(doc, cyrillic, lines) == []
    assert _compare(doc, cyrillic | {"names_latin": "IVANOVA, Iuliia"}, lines) == []
    assert _compare(doc, cyrillic | {"names_latin": "PETROVA, Iuliia"}, lines) == [
        ("traveller.names_latin", "mrz_mismatch")
    ]


def test_truncated_names_match_their_full_form():
    family, given = "Wolfeschlegelsteinhausenbergerdorff", "Hubert Blaine Charles"
    lines = _td3(family_names=family, given_names=given)
    parsed, _ = check_mrz(lines)
    assert parsed.names_truncated
    assert _compare(traveller={"family_names": family, "given_names": given}, lines=lines) == []
    assert _compare(traveller={"family_names": family, "given_names": "Robert"}, lines=lines) == [
        ("traveller.given_names", "mrz_mismatch")
    ]


def test_seized_document_is_compared_without_a_traveller():
    parsed, _ = check_mrz(_td3())
    problems = compare_mrz_with_document(parsed, DOC | {"number": "X"}, None, document_path="documents.2")
    assert [(p.path, p.code) for p in problems] == [("documents.2.number", "mrz_mismatch")]


def test_long_td1_name_cut_at_a_separator_still_agrees():
    """A cut that lands on a filler leaves one '<' at the end: still a truncated name."""
    lines = make_td1(document_number="AB1234567", issuing_state="BRA", nationality="BRA",
                     family_names="CARVALHO DOS SANTOS", given_names="VINICIUS GONCALO",
                     birth_date=date(1990, 1, 2), sex="M", expiry_date=date(2030, 1, 1))
    parsed, problems = check_mrz(lines)
    assert problems == [] and lines[2].endswith("VINICIUS<")
    traveller = {"given_names": "Vinícius Gonçalo", "family_names": "Carvalho dos Santos",
                 "date_of_birth": date(1990, 1, 2), "sex": "M", "nationality": "BR"}
    document = {"number": "AB1234567", "issuing_country": "BR", "expiry_date": date(2030, 1, 1)}
    assert compare_mrz_with_document(parsed, document, traveller) == []
