"""Name normalisation across scripts, token handling and similarity (services/correlate/matching/names.py)."""

import random

import pytest
from rapidfuzz.distance import OSA

from services.correlate.matching.names import (
    SIM_PHONETIC,
    TokenVocabulary,
    _symbols,
    best_comparison,
    best_comparisons,
    blocking_keys,
    compare_forms,
    key_units,
    load_name_tables,
    name_forms,
    name_similarity,
    org_forms,
    skeleton,
    token_similarity,
)

SAME_PERSON = [
    # (query as a passport or booking writes it, entry as a list writes it)
    ("GAGARIN, IURII", "Юрий Гагарин"),  # Cyrillic vs ICAO 9303 transliteration
    ("Yuri Gagarin", "Юрий Гагарин"),
    ("Mohammed bin Salman", "محمد بن سلمان"),  # Arabic, no written vowels
    ("Khalid Al-Hassan", "خالد الحسن"),  # joined article
    ("ALOTAIBI, LAYLA", "Leila Al Otaibi"),
    ("XI JINPING", "習近平"),  # Han, syllables joined as passports print them
    ("Xi Jin Ping", "习近平"),
    ("KIM JONG UN", "김정은"),  # Hangul vs a passport romanisation
    ("Park Ji Sung", "박지성"),
    ("Georgios Papadopoulos", "Γεώργιος Παπαδόπουλος"),
    ("MUELLER, HANS JUERGEN", "Hans-Jürgen Müller"),  # ICAO folding of umlauts
    ("Sukru Saracoglu", "Şükrü Saracoğlu"),
    ("Zhang Wei", "Chang Wei"),  # Wade-Giles
]


@pytest.mark.parametrize("query,entry", SAME_PERSON)
def test_same_person_across_scripts_and_transliterations(query, entry):
    score, detail = name_similarity([query], [entry])
    assert score >= 0.85, detail


def test_forms_carry_both_romanisations():
    assert name_forms("Юрий Гагарин") == ("yury gagarin", "iurii gagarin")
    assert name_forms("Hans Müller") == ("hans muller", "hans mueller")
    assert name_forms("محمد")[0].startswith("~")  # loose: compared by consonant skeleton too
    assert name_forms("習近平") == ("xi jinping",)
    assert name_forms("   ") == ()


def test_order_swap_is_the_same_name():
    assert name_similarity(["PETROV, IVAN"], ["Ivan Petrov"])[0] == 1.0


def test_missing_middle_name_and_dropped_second_surname_cost_little():
    assert name_similarity(["Ivan Petrov"], ["Ivan Sergeyevich Petrov"])[0] >= 0.9
    assert name_similarity(["Jose Garcia"], ["José García Márquez"])[0] >= 0.9
    assert name_similarity(["GARCIA, JOSE"], ["José María García Márquez"])[0] >= 0.85


@pytest.mark.parametrize("typo", ["Jonh Smith", "John Smiht", "Jhon Smith", "John Smitth"])
def test_typos(typo):
    score, _ = name_similarity([typo], ["John Smith"])
    assert 0.85 <= score < 1.0


def test_other_people_score_low():
    assert name_similarity(["Ivan Petrov"], ["Sergei Petrov"])[0] <= 0.6  # shared surname only
    assert name_similarity(["Fatima Ahmed"], ["Aisha Ahmed"])[0] <= 0.6
    assert name_similarity(["John Smith"], ["Maria Lopez"])[0] == 0.0
    # Two tokens agree, the family names conflict: another person.
    assert name_similarity(["Ivan Sergeevich Petrov"], ["Ivan Sergeevich Kozlov"])[0] < 0.6


def test_comparison_explains_the_alignment():
    result = compare_forms("petrov ivan", "ivan sergeyevich petrov")
    assert {(q, e) for q, e, _ in result.pairs} == {("petrov", "petrov"), ("ivan", "ivan")}
    assert result.extra_entry == ("sergeyevich",)
    assert "unmatched sergeyevich" in result.detail()


def test_skeleton_joins_vowelless_and_latin_spellings():
    assert skeleton("mhmd") == skeleton("mohammed") == skeleton("muhammad")
    assert skeleton("jeongeun") == skeleton("jongun")
    assert skeleton("halyna") == skeleton("galina")


def test_skeleton_collapses_doubles_including_those_made_by_merging():
    assert skeleton("mussa") == skeleton("musa") == "ms"
    assert skeleton("hassan") == "gsn"
    assert skeleton("katya") == "gd"  # k and t merge to g and d
    assert skeleton("ckdt") == "gd"  # ck folds to k, then k/g and d/t runs collapse


def test_blocking_keys_find_order_swaps_and_other_scripts():
    entry = blocking_keys(name_forms("Юрий Алексеевич Гагарин"))
    assert entry & blocking_keys(name_forms("GAGARIN, IURII"))
    assert entry & blocking_keys(name_forms("Yuri Gagarin"))
    assert blocking_keys(name_forms("محمد بن سلمان")) & blocking_keys(name_forms("Mohammed Salman"))
    assert not blocking_keys(name_forms("Ivan Petrov")) & blocking_keys(name_forms("Maria Lopez"))


def test_query_typo_found_through_the_vocabulary():
    listed = name_forms("Guenter Klein")
    vocabulary = TokenVocabulary()
    vocabulary.add_entry(key_units(listed))
    query = name_forms("Guenter Kein")  # typo in the second letter of the surname
    assert not blocking_keys(query) & blocking_keys(listed)
    assert blocking_keys(query, vocabulary) & blocking_keys(listed)
    assert vocabulary.neighbours("kein") == ("kein", "klein")
    assert vocabulary.neighbours("klein") == ("klein",)  # a listed token is taken as spelled


def test_organisation_forms_drop_legal_forms():
    assert org_forms("Acme Trading Limited") == org_forms("ACME TRADING LTD")
    score, _ = name_similarity(["Acme Trading LLC"], ["Acme Trading Limited"], organisation=True)
    assert score == 1.0


def test_compiled_spelling_distance_is_rapidfuzz_osa():
    """The compiled token similarity counts edits as rapidfuzz's OSA does: below the phonetic,
    symbol and variant levels (and without a joined article), a similarity is exactly
    1 - distance / length (within the edit budget) or 0, and never below it."""
    rng = random.Random(7)
    letters = "aeioubdgklmnrstyz"
    checked = 0
    for _ in range(20_000):
        a = "".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
        b = list(a)
        for _ in range(rng.randint(0, 3)):  # a few edits and transpositions
            i = rng.randrange(len(b))
            op = rng.randrange(4)
            if op == 0:
                b[i] = rng.choice(letters)
            elif op == 1 and len(b) > 2:
                del b[i]
            elif op == 2:
                b.insert(i, rng.choice(letters))
            elif i + 1 < len(b):
                b[i], b[i + 1] = b[i + 1], b[i]
        b = "".join(b)
        if a[:2] in ("al", "el") or b[:2] in ("al", "el"):
            continue  # a joined article is also tried off
        longest = max(len(a), len(b))
        budget = 1 if longest <= 5 else 2 if longest <= 9 else 3
        distance = OSA.distance(a, b)
        spelled = 1.0 - distance / longest if distance <= budget else 0.0
        found = token_similarity(a, b)
        assert found >= spelled, (a, b)
        if found < SIM_PHONETIC and a != b:
            assert found == spelled, (a, b)
            checked += 1
    assert checked > 5_000


def test_name_tables_loaded_up_front_give_spellings_of_one_name_a_shared_symbol():
    load_name_tables()
    assert _symbols("yury") & _symbols("iurii")
    assert not _symbols("yury") & _symbols("mikhail")


def test_best_comparisons_is_best_comparison_for_each_entry():
    query = [f for n in ("GAGARIN, IURII", "Юрий Гагарин") for f in name_forms(n)]
    entries = [name_forms(n) for n in ("Yuri Gagarin", "Ivan Petrov", "Юрий Алексеевич Гагарин", "Gagarina")] + [()]
    many = best_comparisons(query, entries)
    one_by_one = [best_comparison(query, forms) for forms in entries]
    assert [(c.score, c.query, c.entry) for c in many] == [(c.score, c.query, c.entry) for c in one_by_one]
    assert many[0].score > 0.9 and many[1].score < 0.5 and many[-1].score == 0.0
