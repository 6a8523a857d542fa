"""Names as comparable ASCII tokens: normalisation across scripts, blocking keys, similarity.

A name is turned into one or more *forms*: lowercase ASCII tokens joined by single spaces, in
the order written. A form that came from a script written without vowels or with a loose
romanisation (Arabic, Hebrew, Hangul) starts with ``~``: its tokens are compared by consonant
skeleton as well ("mhmd" from محمد against "mohammed"). Several forms exist when one name has
several accepted romanisations: rigour's transliteration and the ICAO 9303 one printed in
machine readable zones (Юрий -> "yury" and "iurii", Müller -> "muller" and "mueller").

Comparison is order-free (``FAMILY, Given`` against ``Given Family``), tolerates missing middle
names and dropped second surnames (extra tokens on one side cost little), typos (edit distance),
spelling variants (rigour's name symbols, phonetic and skeleton keys, a small table of surname
romanisations) and split or joined syllables ("Jin Ping" / "Jinping").

Blocking keys pair two tokens of a name, so a lookup finds names sharing two tokens rather than
every holder of a common given name; each pair is keyed by metaphone and by skeleton. Typos are
handled on the query side: a query token also keys as the listed tokens one edit away from it
(``TokenVocabulary``), which costs lookup time but no index memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import combinations, groupby

from rapidfuzz.distance import OSA
from rigour.names import NameTypeTag, analyze_names, remove_org_types, remove_person_prefixes, tokenize_name
from rigour.text.phonetics import metaphone
from rigour.text.scripts import text_scripts

from borderhub.domain.mrz import name_tokens as icao_latin_tokens
from borderhub.domain.translit import ascii_word

# Token similarity and form alignment are compiled (alignment.pyx), with their weights.
from .alignment import (  # noqa: F401  (weights re-exported: the rules are described here)
    CONFLICT_PENALTY,
    FULL_COMPARISONS,
    MERGE_MIN_SIM,
    MIN_TOKEN_SIM,
    MONONYM_FACTOR,
    SHORT_SIDE_WEIGHT,
    SIM_INITIAL,
    SIM_NEAR_SKELETON,
    SIM_PHONETIC,
    SIM_SHORT_SKELETON,
    SIM_SKELETON,
    SIM_SYMBOL,
    SIM_VARIANT,
    SINGLE_TOKEN_CAP,
    Aligner,
)

__all__ = [
    "LOOSE",
    "NameComparison",
    "TokenVocabulary",
    "blocking_keys",
    "compare_forms",
    "distinct_forms",
    "key_units",
    "name_forms",
    "name_similarity",
    "org_forms",
    "skeleton",
    "token_similarity",
]

LOOSE = "~"  # prefix of a form whose tokens may lack vowels or follow a loose romanisation

# Connecting words that carry no identity: they neither count in coverage nor make keys.
PARTICLES = frozenset(
    "al el ul ad ash at bin ben ibn bint binti bn bnt abu da das de del della der des di do dos du "
    "e la le van von y zu ter den ten st thi".split()  # thi: Vietnamese feminine middle name
)
ORG_STOPWORDS = frozenset("the of and for in at a an de du des la le el et und der die das".split())

# Romanisations of one surname that neither spelling rules nor edit distance join (Wade-Giles,
# Cantonese and pinyin; Korean McCune-Reischauer, Revised Romanization and passport habits).
# Every spelling maps to the first of its group, for blocking keys and similarity.
_VARIANT_GROUPS = [
    "zhang chang cheung",
    "wang wong",
    "chen chan chin",
    "liu lau lao",
    "huang hwang wong",
    "zhao chao chiu",
    "zhou chou chow",
    "xu hsu tsui hui",
    "sun suen",
    "zhu chu chue",
    "guo kuo kwok",
    "he ho",
    "lin lam",
    "luo lo law",
    "gao kao ko",
    "zheng cheng",
    "liang leung",
    "xie hsieh tse",
    "deng teng tang",
    "feng fung",
    "cao tsao tso",
    "yang yeung",
    "ye yeh yip",
    "cai tsai choy",
    "xiao hsiao siu",
    "jiang chiang",
    "zeng tseng tsang",
    "kim gim",
    "lee yi rhee i rhie",
    "park bak pak bag",
    "choi choe",
    "jung jeong chung",
    "kang gang",
    "cho jo",
    "yoon yun",
    "jang",
    "lim im rim",
    "oh o",
    "seo suh",
    "shin sin",
    "kwon gwon",
    "ahn an",
    "yoo yu ryu lyu",
    "jeon jun chun",
    "moon mun",
    "son sohn",
    "bae pae",
    "baek paek paik",
    "heo hur huh",
    "noh roh no",
]
VARIANTS: dict[str, str] = {}
for _group in _VARIANT_GROUPS:
    _spellings = _group.split()
    for _s in _spellings:
        VARIANTS.setdefault(_s, _spellings[0])

# ICAO 9303 Part 3 transliteration of Cyrillic, as machine readable zones print it.
_ICAO_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "",
    "э": "e", "ю": "iu", "я": "ia",
}
_UKRAINIAN_LETTERS = set("єіїґ")  # ICAO writes Г as H for Ukrainian and Belarusian names
_ABJAD_SCRIPTS = {"Arabic", "Hebrew", "Syriac", "Thaana"}
_CJK_SCRIPTS = {"Han", "Hangul", "Hiragana", "Katakana"}
# Two-character family names; any other Chinese or Korean name starts with a one-character one.
_COMPOUND_SURNAMES = {"欧阳", "司马", "诸葛", "上官", "司徒", "夏侯", "皇甫", "东方", "남궁", "황보", "선우", "제갈", "독고"}



# ---------------------------------------------------------------------------- normalisation

def _ascii_lower(text: str) -> str:
    lowered = text.lower()
    if lowered.isascii() and lowered.isalpha():  # plain Latin letters already: no regex needed
        return lowered
    return re.sub(r"[^a-z]", "", lowered)


def _translit_token(token: str) -> str:
    """One token in any script to lowercase a-z."""
    return _ascii_lower(ascii_word(token))


def _icao_cyrillic(token: str, ukrainian: bool) -> str:
    out = []
    for ch in token.lower():
        if ch == "г" and ukrainian:
            out.append("h")
        else:
            out.append(_ICAO_CYRILLIC.get(ch, ch))
    return _ascii_lower(ascii_word("".join(out)))


def _split_article(token: str) -> list[str]:
    # Arabic writes the article joined to the name: الحسن -> "alhsn" is "al" + "hsn".
    if token.startswith("al") and len(token) > 4:
        return ["al", token[2:]]
    return [token]


def _arabic_letters(token: str) -> str:
    """Letters whose Latin rendering is a vowel where transliteration gives none or a
    consonant: ain (عمر Omar, علي Ali) as alef, ta marbuta (فاطمة Fatima) as a silent h, waw
    inside a word (منصور Mansour) as u."""
    token = token.replace("ع", "ا").replace("ة", "ه")
    return token[:1] + token[1:].replace("و", "u")


def _cjk_tokens(tokens: list[str]) -> list[str]:
    """Han and Hangul names: one romanised token per written word; a name written as one word
    is split into the family name (first character, or a known two-character one) and the given
    name, whose syllables are joined as passports print them (習近平 -> xi, jinping)."""
    if len(tokens) == 1 and len(tokens[0]) >= 2 and not tokens[0].isascii():
        word = tokens[0]
        cut = 2 if word[:2] in _COMPOUND_SURNAMES and len(word) > 2 else 1
        parts = [word[:cut], word[cut:]]
    else:
        parts = tokens
    out = []
    for part in parts:
        joined = "".join(_translit_token(ch) for ch in part)
        if joined:
            out.append(joined)
    return out


@lru_cache(maxsize=50_000)
def name_forms(text: str) -> tuple[str, ...]:
    """The comparable forms of a person's name (see module doc); empty when nothing is left."""
    text = remove_person_prefixes(text.strip()) if text else ""
    if not text:
        return ()
    raw = tokenize_name(text)
    if text.isascii():
        forms = [[_ascii_lower(t) for t in raw]]
        loose = False
    else:
        scripts = text_scripts(text)
        loose = bool(scripts & (_ABJAD_SCRIPTS | {"Hangul"}))
        if scripts & _CJK_SCRIPTS:
            forms = [_cjk_tokens(raw)]
        elif scripts & _ABJAD_SCRIPTS:
            forms = [[part for t in raw for part in _split_article(_translit_token(_arabic_letters(t)))]]
        elif "Cyrillic" in scripts:
            ukrainian = bool(_UKRAINIAN_LETTERS & set(text.lower()))
            forms = [[_translit_token(t) for t in raw], [_icao_cyrillic(t, ukrainian) for t in raw]]
        else:
            forms = [[_translit_token(t) for t in raw]]
            if "Latin" in scripts:
                # ICAO folds Ä to AE, Ø to OE...: the MRZ spelling of the same name.
                forms.append([t.lower() for t in icao_latin_tokens(text, icao=True)])
    out: list[str] = []
    for tokens in forms:
        tokens = [t for t in tokens if t]
        if tokens:
            form = (LOOSE if loose else "") + " ".join(tokens)
            if form not in out:
                out.append(form)
    return tuple(out)


@lru_cache(maxsize=100_000)
def org_forms(text: str) -> tuple[str, ...]:
    """Forms of an organisation's name: legal-form words (LLC, Limited, JSC...) removed."""
    core = remove_org_types(text) or text
    out = []
    for form in name_forms(core) or name_forms(text):
        tokens = [t for t in form.lstrip(LOOSE).split() if t not in ORG_STOPWORDS]
        if tokens:
            out.append((LOOSE if form.startswith(LOOSE) else "") + " ".join(tokens))
    return tuple(dict.fromkeys(out))


def without_article(token: str) -> str | None:
    """The token without an Arabic article written joined to a Latin name ("alotaibi" ->
    "otaibi"), or None. Only ever an extra variant ("Alberto" keeps matching "Alberto")."""
    if len(token) >= 6 and token[:2] in ("al", "el"):
        return token[2:]
    return None


def distinct_forms(forms: Iterable[str]) -> tuple[str, ...]:
    """Forms without repeats of the same tokens in another order ("ivan petrov" and
    "petrov ivan" align and key alike): the first of each kept."""
    seen: set[tuple[bool, tuple[str, ...]]] = set()
    out = []
    for form in forms:
        signature = (form.startswith(LOOSE), _sorted_tokens(form))
        if signature not in seen:
            seen.add(signature)
            out.append(form)
    return tuple(out)


@lru_cache(maxsize=100_000)
def _content_tokens(form: str) -> tuple[bool, list[str]]:
    loose = form.startswith(LOOSE)
    tokens = (form[1:] if loose else form).split()
    content = [t for t in tokens if t not in PARTICLES]
    return loose, content or tokens


# ---------------------------------------------------------------------------- keys

_DIGRAPHS = (("tsch", "j"), ("sch", "s"), ("ph", "f"), ("kh", "k"), ("gh", "g"), ("sh", "s"), ("zh", "j"),
             ("ch", "j"), ("th", "t"), ("dh", "d"), ("ck", "k"), ("x", "ks"))
_SKELETON_MAP = str.maketrans({"q": "g", "k": "g", "c": "g", "t": "d", "p": "b", "r": "l", "z": "s", "v": "b",
                               "w": "b", "h": "g", "a": None, "e": None, "i": None, "o": None, "u": None,
                               "y": None})


@lru_cache(maxsize=400_000)
def skeleton(token: str) -> str:
    """Consonant skeleton: vowels and y dropped; voiced/voiceless, r/l, v/w and g/h (Ukrainian
    Г is H, Russian G) merged; German and English digraphs folded; doubles collapsed. Equal for محمد ("mhmd") and "mohammed", 김정은 and "kim jong un"."""
    t = VARIANTS.get(token, token)
    for digraph, single in _DIGRAPHS:
        t = t.replace(digraph, single)
    t = t.translate(_SKELETON_MAP)
    return "".join(letter for letter, _ in groupby(t))  # doubles collapsed; a third of a regex's time


@lru_cache(maxsize=400_000)
def phonetic(token: str) -> str:
    token = VARIANTS.get(token, token)
    return metaphone(token) or token


def _units(tokens: list[str]) -> list[tuple[str, int, int]]:
    """Tokens plus joined neighbours when one is syllable-short ("jin ping" -> "jinping"),
    each as (text, first index, last index)."""
    units = [(t, i, i) for i, t in enumerate(tokens)]
    for i in range(len(tokens) - 1):
        if min(len(tokens[i]), len(tokens[i + 1])) <= 4:
            units.append((tokens[i] + tokens[i + 1], i, i + 1))
    return units


MAX_KEY_TOKENS = 6
MIN_EXPAND_LENGTH = 4  # shorter tokens have too many one-edit neighbours to be worth it
MAX_NEIGHBOURS = 10
COMMON_SHARE = 0.001  # a token named by more than this share of entries is common...
COMMON_MIN_ENTRIES = 100  # ...and by more than this many


def key_units(forms: Iterable[str]) -> list[str]:
    """Every token and joined pair the keys of these forms are made of (the entry side of
    ``TokenVocabulary``)."""
    out: list[str] = []
    for form in forms:
        _, tokens = _content_tokens(form)
        out.extend(u for u, _, _ in _units(tokens[:MAX_KEY_TOKENS]))
    return out


class TokenVocabulary:
    """The name tokens of the listed entries, searchable by one edit (a deletion dictionary, as
    in SymSpell): a query token with a typo is expanded to the listed tokens one edit away, so
    the pair keys of "Guenter Kein" include those of "Guenter Klein". Entries are keyed on their
    own tokens only; the tolerance costs query time, not index memory."""

    def __init__(self) -> None:
        self._tokens: set[str] = set()
        self._by_deletion: dict[str, list[str]] = {}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._counts: dict[str, int] = {}  # entries naming each token (removals not counted back)
        self.entries = 0
        self.version = 0  # changes whenever a token is added: query keys cached before are stale

    def __len__(self) -> int:
        return len(self._tokens)

    def add_entry(self, units: Iterable[str]) -> None:
        """The key units of one entry's names."""
        self.entries += 1
        counts = self._counts
        for unit in set(units):
            counts[unit] = counts.get(unit, 0) + 1
            self.add(unit)

    def is_common(self, token: str) -> bool:
        """Named by many entries (Nguyen, Mohammed, Ivan): a pair of two such tokens is a weak key."""
        return self._counts.get(token, 0) > max(COMMON_MIN_ENTRIES, COMMON_SHARE * self.entries)

    def add(self, token: str) -> None:
        if token in self._tokens or len(token) < MIN_EXPAND_LENGTH - 1:
            return
        self._tokens.add(token)
        for variant in _deletions(token):
            self._by_deletion.setdefault(variant, []).append(token)
        self._cache.clear()  # a new token may be someone's neighbour
        self.version += 1

    def neighbours(self, token: str) -> tuple[str, ...]:
        """The token itself, then, when it is not a listed token, the listed tokens one edit
        (insertion, deletion, substitution, transposition) away."""
        found = self._cache.get(token)
        if found is not None:
            return found
        near: set[str] = set()
        # A listed token is taken as spelled: its neighbours would mostly be other names.
        if len(token) >= MIN_EXPAND_LENGTH and token not in self._tokens:
            for variant in _deletions(token):
                for listed in self._by_deletion.get(variant, ()):
                    if listed != token and OSA.distance(token, listed, score_cutoff=1) <= 1:
                        near.add(listed)
        # Deterministic choice when there are many: those sharing the longest start first.
        ranked = sorted(near, key=lambda t: (-_common_prefix(token, t), t))
        found = (token, *ranked[:MAX_NEIGHBOURS])
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[token] = found
        return found


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _deletions(token: str) -> set[str]:
    return {token, *(token[:i] + token[i + 1:] for i in range(len(token)))}


@lru_cache(maxsize=100_000)
def _codes(units: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    variants = list(units)
    variants += [bare for bare in map(without_article, variants) if bare]
    return frozenset(phonetic(v) for v in variants), frozenset(skeleton(v) or v for v in variants)


def _pair_keys(a: tuple[frozenset[str], frozenset[str]], b: tuple[frozenset[str], frozenset[str]],
               keys: set[str]) -> None:
    for pa in a[0]:
        for pb in b[0]:
            keys.add("p:" + (pa + "|" + pb if pa <= pb else pb + "|" + pa))
    for sa in a[1]:
        for sb in b[1]:
            keys.add("s:" + (sa + "|" + sb if sa <= sb else sb + "|" + sa))


def _form_keys(form: str, keys: set[str], vocabulary: TokenVocabulary | None) -> None:
    _, tokens = _content_tokens(form)
    tokens = tokens[:MAX_KEY_TOKENS]
    if len(tokens) == 1:
        found = vocabulary.neighbours(tokens[0]) if vocabulary is not None else (tokens[0],)
        phonetics, skeletons = _codes(found)
        keys.update("m:" + c for c in phonetics | skeletons)
        return
    units = _units(tokens)
    exact = [_codes((u,)) for u, _, _ in units]
    # One typo at a time: a pair keys as (token, neighbours of the other) both ways.
    near = [_codes(vocabulary.neighbours(u)) if vocabulary is not None else None for u, _, _ in units]
    pairs = [(x, y) for (x, (_, ai, aj)), (y, (_, bi, bj)) in combinations(enumerate(units), 2)
             if aj < bi or bj < ai]  # not overlapping units ("jinping" with "jin")
    if vocabulary is not None and len(tokens) >= 3:
        pairs = _selective_pairs(units, pairs, vocabulary)
    for x, y in pairs:
        _pair_keys(exact[x], exact[y], keys)
        if vocabulary is not None:
            # A listed token is its own only neighbour: its near codes are its exact ones (the
            # same cached object), and those keys were just added.
            if near[y] is not exact[y]:
                _pair_keys(exact[x], near[y], keys)
            if near[x] is not exact[x]:
                _pair_keys(near[x], exact[y], keys)


def _selective_pairs(units: list[tuple[str, int, int]], pairs: list[tuple[int, int]],
                     vocabulary: TokenVocabulary) -> list[tuple[int, int]]:
    """A query of three or more tokens skips pairs of two common tokens ("nguyen minh",
    "ivan sergeevich") when another pair holds a rarer one: the entry it is after shares two
    tokens with it, and its rare token too unless that one is missing from the list."""
    common = [vocabulary.is_common(u) for u, _, _ in units]
    kept = [(x, y) for x, y in pairs if not (common[x] and common[y])]
    if kept:
        return kept
    # Every token is common: keep the pairs of the least common one.
    rarest = min(range(len(units)), key=lambda i: vocabulary._counts.get(units[i][0], 0))
    return [(x, y) for x, y in pairs if rarest in (x, y)]


def blocking_keys(forms: Iterable[str], vocabulary: TokenVocabulary | None = None) -> set[str]:
    """Name blocking keys of forms (of one or several names). Each key pairs two tokens of a
    name, by metaphone ("p:") and by consonant skeleton ("s:", which joins transliterations:
    Yury / Iurii, محمد / Mohammed); a single-token name has "m:" keys. A query passes the
    index's vocabulary so its unlisted tokens also key as the listed tokens one edit away."""
    keys: set[str] = set()
    for form in forms:
        _form_keys(form, keys, vocabulary)
    return keys


# ---------------------------------------------------------------------------- similarity

def _symbols(token: str) -> frozenset[str]:
    """rigour's name symbols (Wikidata name items) of one token: shared symbols mean the two
    spellings are one name (Yury / Iurii, Mikhail / Michael, Hussein / Husayn). The aligner
    keeps them."""
    found: set[str] = set()
    for name in analyze_names(NameTypeTag.PER, [token]):
        for span in name.spans:
            if span.symbol.category.value in ("NAME", "NICK"):
                found.add(span.symbol.id)
    return frozenset(found) if found else _NO_SYMBOLS


_NO_SYMBOLS: frozenset[str] = frozenset()  # one object for the many tokens without symbols


def load_name_tables() -> None:
    """rigour builds its name-symbol tagger on first use: about 8 s of CPU and 400 MB on the
    development machine. A long-running matcher loads it at start, not while the first
    traveller whose names need symbols waits at the booth."""
    _symbols("yury")


def _describe_token(token: str) -> tuple[str, str, str, str | None]:
    """What token comparison needs of one token (the aligner keeps it, and asks for its rigour
    name symbols apart): its surname-variant group, metaphone, skeleton, and the token without a
    joined article."""
    return VARIANTS.get(token, token), phonetic(token), skeleton(token), without_article(token)


@lru_cache(maxsize=100_000)
def _sorted_tokens(form: str) -> tuple[str, ...]:
    return tuple(sorted(_content_tokens(form)[1]))


_ALIGNER = Aligner(_describe_token, _symbols, _content_tokens)


def token_similarity(a: str, b: str, loose: bool = False) -> float:
    """Similarity in [0, 1] of two ASCII tokens; loose also compares consonant skeletons.
    A joined Arabic article ("alotaibi") is tried off as well.

    Equal tokens 1.0; an initial against a name starting with it SIM_INITIAL; the same surname
    group (VARIANTS) SIM_VARIANT; else the best of the spelling distance (1 - OSA distance /
    length, within 1, 2 or 3 edits for up to 5, 9 or more letters), shared rigour symbols
    (SIM_SYMBOL), the same metaphone (SIM_PHONETIC), and for loose forms the same consonant
    skeleton (SIM_SKELETON, SIM_SHORT_SKELETON) or skeletons one edit apart (SIM_NEAR_SKELETON)."""
    return _ALIGNER.similarity(a, b, loose)


class NameComparison:
    """The score of two aligned forms; what was aligned is worked out only when asked for (an
    explanation is needed for the few comparisons that make an alert, not for the many that
    do not)."""

    __slots__ = ("score", "query", "entry", "_alignment")

    def __init__(self, score: float, query: str, entry: str):
        self.score = score
        self.query, self.entry = query, entry
        self._alignment: tuple | None = None

    def _aligned(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple]:
        if self._alignment is None:
            if not self.query or not self.entry:
                self._alignment = ((), (), ())
            else:
                self._alignment = _ALIGNER.alignment(self.query, self.entry)[1:]
        return self._alignment

    @property
    def pairs(self) -> tuple[tuple[str, str, float], ...]:
        """Aligned query and entry text, and their similarity."""
        qt, et, chosen = self._aligned()
        return tuple((" ".join(qt[i] for i in qi), " ".join(et[j] for j in ej), s) for qi, ej, s in chosen)

    @property
    def extra_query(self) -> tuple[str, ...]:
        qt, _, chosen = self._aligned()
        used = {i for qi, _, _ in chosen for i in qi}
        return tuple(t for i, t in enumerate(qt) if i not in used)

    @property
    def extra_entry(self) -> tuple[str, ...]:
        _, et, chosen = self._aligned()
        used = {j for _, ej, _ in chosen for j in ej}
        return tuple(t for j, t in enumerate(et) if j not in used)

    def detail(self) -> str:
        aligned = ", ".join(f"{q}={e}" if s == 1.0 else f"{q}~{e} {s:.2f}" for q, e, s in self.pairs)
        text = f"'{self.query.lstrip(LOOSE)}' vs '{self.entry.lstrip(LOOSE)}': {aligned or 'nothing aligned'}"
        extras = [*self.extra_query, *self.extra_entry]
        if extras:
            text += f"; unmatched {' '.join(extras)}"
        return text


NO_MATCH = NameComparison(0.0, "", "")


def compare_forms(query: str, entry: str) -> NameComparison:
    """Align the tokens of two forms (order-free, joined syllables allowed) and score them.

    Equal tokens pair first; the rest pair greedily by similarity; tokens still unpaired on
    both sides may pair as two neighbours joined ("jin ping" / "jinping"). The score weighs the
    coverage of both names (the shorter one's by SHORT_SIDE_WEIGHT), less CONFLICT_PENALTY per
    pair of tokens left over on both sides, at most SINGLE_TOKEN_CAP when one token agrees,
    times MONONYM_FACTOR for two single-token names."""
    return NameComparison(_ALIGNER.compare(query, entry), query, entry)


def best_comparison(query_forms: Iterable[str], entry_forms: Iterable[str]) -> NameComparison:
    """Best alignment over all query and entry forms; when there are many pairs, only the
    FULL_COMPARISONS sharing the most consonant skeletons are aligned in full."""
    return _comparison(*_ALIGNER.best(query_forms, entry_forms))


def best_comparisons(query_forms: Iterable[str], entries_forms: Iterable[Iterable[str]]) -> list[NameComparison]:
    """``best_comparison`` of the query forms with each entry's forms, the query prepared once."""
    return [_comparison(*best) for best in _ALIGNER.best_each(query_forms, entries_forms)]


def _comparison(score: float, query: str | None, entry: str | None) -> NameComparison:
    """The aligner's (score, query form, entry form), or NO_MATCH when no forms aligned."""
    return NO_MATCH if query is None else NameComparison(score, query, entry)


def name_similarity(query_names: Iterable[str], entry_names: Iterable[str], *,
                    organisation: bool = False) -> tuple[float, str]:
    """Similarity in [0, 1] of the best-matching pair of names, and what was aligned."""
    forms = org_forms if organisation else name_forms
    query_forms = [f for n in query_names if n for f in forms(n)]
    entry_forms = [f for n in entry_names if n for f in forms(n)]
    result = best_comparison(query_forms, entry_forms)
    return result.score, result.detail() if result.pairs else "no name in common"
