"""Names in any script to ASCII, a word at a time through a cache of words.

The transliterators cache whole strings, and a string they have not seen is expensive: rigour's
costs about 200 µs for a Latin name with diacritics or a Cyrillic one, normality's 10 µs (100 µs
for Han). Travellers' full names rarely repeat; the words in them do. Transliteration does not
cross whitespace, so word by word gives the same text.
"""

from __future__ import annotations

from functools import lru_cache

import normality
from rigour.text.translit import ascii_text as _rigour_ascii

WORD_CACHE_SIZE = 200_000  # distinct name words kept (about 30 MB at most)


@lru_cache(maxsize=WORD_CACHE_SIZE)
def ascii_word(word: str) -> str:
    """One word in rigour's spellings (Шевченко -> Shevchenko), as name matching compares them."""
    return _rigour_ascii(word)


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _normality_word(word: str) -> str:
    return normality.ascii_text(word) or ""


def ascii_words(text: str) -> str:
    """``text`` in rigour's spellings, its words separated by single spaces."""
    return " ".join(ascii_word(word) for word in text.split())


def key_ascii_words(text: str) -> str:
    """``text`` in normality's spellings, words separated by single spaces: the spelling of the
    stored entity keys (``entities.person_key``), which must not change with rigour's."""
    return " ".join(_normality_word(word) for word in text.split())
