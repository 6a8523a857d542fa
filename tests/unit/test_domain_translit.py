import hashlib

import normality
import pytest
from rigour.text.translit import ascii_text

from borderhub.domain.entities import person_key
from borderhub.domain.translit import ascii_word, ascii_words, key_ascii_words

NAMES = [
    "Jürgen Müller-Lüdenscheidt", "Łukasz Żółćkiewicz", "José María Núñez", "Søren Ærø", "Đặng Thị Hương",
    "Шевченко Тарас Григорович", "Юрий Гагарин", "Βασίλειος Κωνσταντίνου", "Արամ Խաչատրյան",
    "محمد بن سلمان", "習近平", "김 정은", "Ivan  Petrov", "O'Brien, Seán",
]


@pytest.mark.parametrize("name", NAMES)
def test_word_by_word_spells_as_the_whole_name(name):
    assert ascii_words(name) == " ".join(ascii_text(name).split())
    assert key_ascii_words(name) == " ".join((normality.ascii_text(name) or "").split())


def test_words_are_cached_not_names():
    ascii_word.cache_clear()
    ascii_words("Юрий Гагарин")
    ascii_words("Гагарин Юрий")
    info = ascii_word.cache_info()
    assert (info.misses, info.hits) == (2, 2)


def test_person_keys_keep_their_spelling():
    # Keys stored in Elasticsearch and the link graph: normality's spelling, whitespace folded.
    traveller = {"family_names": "Шевченко", "given_names": "Тарас  Григорович", "date_of_birth": "1961-03-09"}
    basis = "SEVCENKO|TARAS GRIGOROVIC|1961-03-09"
    assert person_key(traveller) == "person:" + hashlib.sha1(basis.encode()).hexdigest()[:16]
