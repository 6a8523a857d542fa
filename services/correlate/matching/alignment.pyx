# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Token similarity and the alignment of two name forms, compiled (the rules are described in
``names``, which uses this module): name comparison is most of the time spent per candidate,
and in Python its loops and per-pair cache lookups cost ten times the arithmetic.

What a token *is* (surname-variant group, metaphone, consonant skeleton, the token without a
joined article, rigour name symbols) and what a form *is* (loose or not, content tokens) is
worked out once in Python by the describers ``names`` hands to ``Aligner``; only the
comparison itself lives here. Symbols cost the most to look up (~10 us a token) and are
looked up only when a comparison gets to them.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.math cimport fabs, nearbyint
from libc.stdlib cimport qsort

# Token similarities for evidence other than spelling distance.
cdef double _SIM_VARIANT = 0.95  # same surname in another romanisation (names.VARIANTS)
cdef double _SIM_SYMBOL = 0.92  # rigour maps both spellings to one name (Wikidata-derived symbols)
cdef double _SIM_SKELETON = 0.90  # same consonant skeleton, one side from a loose script
cdef double _SIM_SHORT_SKELETON = 0.80  # one consonant in common, short tokens (علي "aly" / "ali")
cdef double _SIM_NEAR_SKELETON = 0.75  # skeletons one edit apart
cdef double _SIM_PHONETIC = 0.88  # same metaphone
cdef double _SIM_INITIAL = 0.75  # an initial against a name starting with it
cdef double _MIN_TOKEN_SIM = 0.5  # below this two tokens are not aligned at all
# Coverage of the shorter name counts most: a missing middle name or second surname on one side
# costs little, a token of the shorter name left unmatched costs a lot.
cdef double _SHORT_SIDE_WEIGHT = 0.8
# Tokens left over on both sides disagree (Ivan Sergeevich Petrov / Ivan Sergeevich Kozlov):
# unlike a name missing on one side, each such pair is evidence of another person.
cdef double _CONFLICT_PENALTY = 0.12
cdef double _SINGLE_TOKEN_CAP = 0.6  # two multi-token names that agree on one token only
cdef double _MONONYM_FACTOR = 0.9  # single-token names against each other: weaker evidence
cdef double _MERGE_MIN_SIM = 0.8
cdef Py_ssize_t _FULL_COMPARISONS = 2  # form pairs aligned in full per comparison of two sets of forms
cdef Py_ssize_t _TOKEN_CACHE = 400_000  # above the tokens of a 1M-entry list (196k at 1M), or symbols are recomputed
cdef Py_ssize_t _FORM_CACHE = 100_000

SIM_VARIANT = _SIM_VARIANT
SIM_SYMBOL = _SIM_SYMBOL
SIM_SKELETON = _SIM_SKELETON
SIM_SHORT_SKELETON = _SIM_SHORT_SKELETON
SIM_NEAR_SKELETON = _SIM_NEAR_SKELETON
SIM_PHONETIC = _SIM_PHONETIC
SIM_INITIAL = _SIM_INITIAL
MIN_TOKEN_SIM = _MIN_TOKEN_SIM
SHORT_SIDE_WEIGHT = _SHORT_SIDE_WEIGHT
CONFLICT_PENALTY = _CONFLICT_PENALTY
SINGLE_TOKEN_CAP = _SINGLE_TOKEN_CAP
MONONYM_FACTOR = _MONONYM_FACTOR
MERGE_MIN_SIM = _MERGE_MIN_SIM
FULL_COMPARISONS = _FULL_COMPARISONS


cdef class _Token:
    cdef str text, variant, phonetic, skeleton
    cdef frozenset symbols  # None until needed
    cdef Py_ssize_t length
    cdef bint article  # starts like a joined Arabic article: the bare token is tried too
    cdef _Token bare  # the token without that article, or None


cdef class _Form:
    cdef bint loose
    cdef list tokens  # of _Token: the content tokens, in order
    cdef tuple texts  # the same as text
    cdef tuple sorted_texts
    cdef frozenset skeletons  # None until needed


cdef struct Pair:
    double s
    int q0, q1  # query tokens (q1 = -1: one token)
    int e0, e1  # entry tokens (e1 = -1: one token)


cdef int _descending(const void* x, const void* y) noexcept nogil:
    # The order of Python tuples (s, query tokens, entry tokens), reversed.
    cdef const Pair* a = <const Pair*> x
    cdef const Pair* b = <const Pair*> y
    if a.s != b.s:
        return -1 if a.s > b.s else 1
    if a.q0 != b.q0:
        return -1 if a.q0 > b.q0 else 1
    if a.q1 != b.q1:
        return -1 if a.q1 > b.q1 else 1
    if a.e0 != b.e0:
        return -1 if a.e0 > b.e0 else 1
    if a.e1 != b.e1:
        return -1 if a.e1 > b.e1 else 1
    return 0


cdef Py_ssize_t _osa(str a, str b) except -1:
    """Optimal string alignment distance (edits, adjacent transpositions; no substring edited
    twice), as rapidfuzz's OSA."""
    cdef Py_ssize_t la = len(a), lb = len(b), i, j, best, cost
    cdef Py_ssize_t stack[3 * 64]
    cdef Py_UCS4 chars_stack[128]
    cdef Py_ssize_t* rows = stack
    cdef Py_UCS4* chars = chars_stack
    cdef Py_UCS4* ca
    cdef Py_UCS4* cb
    cdef Py_ssize_t* before
    cdef Py_ssize_t* previous
    cdef Py_ssize_t* current
    cdef Py_ssize_t* spare
    cdef int kind_a = PyUnicode_KIND(a), kind_b = PyUnicode_KIND(b)
    cdef void* data_a = PyUnicode_DATA(a)
    cdef void* data_b = PyUnicode_DATA(b)
    if la == 0 or lb == 0:
        return la + lb
    if lb + 1 > 64 or la + lb > 128:
        rows = <Py_ssize_t*> PyMem_Malloc(3 * (lb + 1) * sizeof(Py_ssize_t))
        chars = <Py_UCS4*> PyMem_Malloc((la + lb) * sizeof(Py_UCS4))
        if rows == NULL or chars == NULL:
            PyMem_Free(rows)
            PyMem_Free(chars)
            raise MemoryError()
    # Characters read once into plain arrays: the cells below read each several times.
    ca, cb = chars, chars + la
    for i in range(la):
        ca[i] = PyUnicode_READ(kind_a, data_a, i)
    for j in range(lb):
        cb[j] = PyUnicode_READ(kind_b, data_b, j)
    before, previous, current = rows, rows + lb + 1, rows + 2 * (lb + 1)
    for j in range(lb + 1):
        previous[j] = j
    for i in range(1, la + 1):
        current[0] = i
        for j in range(1, lb + 1):
            cost = 0 if ca[i - 1] == cb[j - 1] else 1
            best = previous[j - 1] + cost
            if previous[j] + 1 < best:
                best = previous[j] + 1
            if current[j - 1] + 1 < best:
                best = current[j - 1] + 1
            if i > 1 and j > 1 and ca[i - 1] == cb[j - 2] and ca[i - 2] == cb[j - 1] and before[j - 2] + 1 < best:
                best = before[j - 2] + 1
            current[j] = best
        spare = before
        before, previous, current = previous, current, spare
    best = previous[lb]
    if rows != stack:
        PyMem_Free(rows)
        PyMem_Free(chars)
    return best


cpdef double round_score(double x):
    """round(x, 4) for a score in [0, 1], without Python's decimal conversion: x * 10^4 is off
    the exact product by less than 1e-11, so away from a tie its nearest integer is the one
    Python rounds to, and dividing it by 10^4 gives the same nearest double."""
    cdef double scaled = x * 10000.0
    cdef double whole = nearbyint(scaled)
    if fabs(fabs(scaled - whole) - 0.5) < 1e-6 or not (0.0 <= x <= 1.0):
        return round(x, 4)  # near a tie (or outside [0, 1]): Python decides
    return whole / 10000.0


cdef tuple _span(object first, int second):
    if second < 0:
        return (first,)
    return (first, second)


cdef class Aligner:
    """Compares tokens and forms. describe_token(token) -> (variant, metaphone, skeleton, token
    without a joined article or None); symbols(token) -> frozenset of rigour name symbols;
    describe_form(form) -> (loose, content tokens). What they return is kept (bounded caches)."""

    cdef object _describe_token, _describe_symbols, _describe_form
    cdef dict _tokens, _forms

    def __init__(self, describe_token, symbols, describe_form):
        self._describe_token = describe_token
        self._describe_symbols = symbols
        self._describe_form = describe_form
        self._tokens = {}
        self._forms = {}

    cdef _Token _token(self, str text):
        cdef _Token token = self._tokens.get(text)
        if token is not None:
            return token
        variant, phonetic, skeleton, bare = self._describe_token(text)
        token = _Token()
        token.text, token.variant, token.phonetic, token.skeleton = text, variant, phonetic, skeleton
        token.length = len(text)
        token.article = text[:2] in ("al", "el")
        token.bare = self._token(bare) if bare else None
        if len(self._tokens) >= _TOKEN_CACHE:
            self._tokens.clear()
        self._tokens[text] = token
        return token

    cdef _Form _form(self, str text):
        cdef _Form form = self._forms.get(text)
        if form is not None:
            return form
        loose, tokens = self._describe_form(text)
        form = _Form()
        form.loose = loose
        form.texts = tuple(tokens)
        form.tokens = [self._token(t) for t in tokens]
        form.sorted_texts = tuple(sorted(tokens))
        if len(self._forms) >= _FORM_CACHE:
            self._forms.clear()
        self._forms[text] = form
        return form

    cdef frozenset _symbols(self, _Token token):
        if token.symbols is None:
            token.symbols = self._describe_symbols(token.text)
        return token.symbols

    cdef frozenset _skeletons(self, _Form form):
        if form.skeletons is None:
            form.skeletons = frozenset([(<_Token> t).skeleton for t in form.tokens])
        return form.skeletons

    def similarity(self, str a, str b, bint loose=False):
        """Similarity in [0, 1] of two ASCII tokens; loose also compares consonant skeletons.
        A joined Arabic article ("alotaibi") is tried off as well."""
        return self._similar(self._token(a), self._token(b), loose)

    cdef double _similar(self, _Token a, _Token b, bint loose) except -1.0:
        cdef double best = self._plain(a, b, loose), other
        if best < 1.0 and (a.article or b.article):
            if a.bare is not None:
                other = self._plain(a.bare, b, loose)
                if other > best:
                    best = other
            if b.bare is not None:
                other = self._plain(a, b.bare, loose)
                if other > best:
                    best = other
        return best

    cdef double _plain(self, _Token a, _Token b, bint loose) except -1.0:
        cdef Py_ssize_t la = a.length, lb = b.length, longest, budget, distance, sa, sb
        cdef double best = 0.0
        if a.text == b.text:
            return 1.0
        if la == 1 or lb == 1:
            return _SIM_INITIAL if a.text[0] == b.text[0] else 0.0
        if a.variant == b.variant:
            return _SIM_VARIANT
        longest = la if la > lb else lb
        budget = 1 if longest <= 5 else 2 if longest <= 9 else 3
        if (la - lb if la > lb else lb - la) <= budget:
            distance = _osa(a.text, b.text)
            if distance <= budget:
                best = 1.0 - <double> distance / <double> longest
        if best < _SIM_SYMBOL and self._symbols(a) and not a.symbols.isdisjoint(self._symbols(b)):
            best = _SIM_SYMBOL
        if best < _SIM_PHONETIC and la >= 3 and lb >= 3 and a.phonetic == b.phonetic:
            best = _SIM_PHONETIC
        if loose and best < _SIM_SKELETON:
            sa, sb = len(a.skeleton), len(b.skeleton)
            if a.skeleton == b.skeleton and (sa >= 2 or (sa and longest <= 6)):
                best = _SIM_SKELETON if sa >= 2 else _SIM_SHORT_SKELETON
            elif (sa if sa < sb else sb) >= 3 and (sa - sb if sa > sb else sb - sa) <= 1 \
                    and _osa(a.skeleton, b.skeleton) <= 1:
                if _SIM_NEAR_SKELETON > best:
                    best = _SIM_NEAR_SKELETON
        return best

    def compare(self, str query, str entry):
        """Score of the alignment of two forms."""
        return self._compare(self._form(query), self._form(entry), None)

    def alignment(self, str query, str entry):
        """(score, query tokens, entry tokens, chosen): chosen are (query token indices, entry
        token indices, similarity), in the order they were aligned."""
        cdef _Form q = self._form(query), e = self._form(entry)
        chosen = []
        score = self._compare(q, e, chosen)
        if q.texts and e.texts and q.sorted_texts == e.sorted_texts:
            return score, q.texts, q.texts, tuple(chosen)
        return score, q.texts, e.texts, tuple(chosen)

    def best(self, query_forms, entry_forms):
        """(score, query form, entry form) of the best alignment over all pairs of forms, or
        (0.0, None, None); when there are many pairs, only those sharing the most consonant
        skeletons are aligned in full."""
        cdef list queries = list(dict.fromkeys(query_forms))
        return self._best(queries, [self._form(text) for text in queries], entry_forms)

    def best_each(self, query_forms, entries_forms):
        """``best(query_forms, entry_forms)`` for each entry_forms of entries_forms, in order: the
        query's forms are prepared once (a traveller against the listed namesakes found for them)."""
        cdef list queries = list(dict.fromkeys(query_forms))
        cdef list forms_q = [self._form(text) for text in queries]
        return [self._best(queries, forms_q, entry_forms) for entry_forms in entries_forms]

    cdef tuple _best(self, list queries, list forms_q, entry_forms):
        cdef list entries = list(dict.fromkeys(entry_forms))
        cdef list forms_e = [self._form(text) for text in entries]
        cdef Py_ssize_t n = len(queries) * len(entries), k, first = -1, second = -1, shared, most
        cdef list order
        cdef double score, best = 0.0
        cdef object best_q = None, best_e = None
        cdef _Form q, e
        if n > _FULL_COMPARISONS:
            # The pairs sharing the most skeletons, the earlier first among equals (a stable sort).
            overlap = [len(self._skeletons(forms_q[k // len(entries)]) & self._skeletons(forms_e[k % len(entries)]))
                       for k in range(n)]
            most = -1
            for k in range(n):
                shared = overlap[k]
                if shared > most:
                    most, first = shared, k
            most = -1
            for k in range(n):
                shared = overlap[k]
                if k != first and shared > most:
                    most, second = shared, k
            order = [first, second]
        else:
            order = list(range(n))
        for k in order:
            q = forms_q[k // len(entries)]
            e = forms_e[k % len(entries)]
            score = self._compare(q, e, None)
            if score > best:
                best, best_q, best_e = score, queries[k // len(entries)], entries[k % len(entries)]
                if best >= 1.0:
                    break
        return best, best_q, best_e

    cdef Py_ssize_t _merges(self, list side, char* used_side, list other, char* used_other, bint side_is_query,
                            bint loose, Pair* out, Py_ssize_t n) except -1:
        """Adds to out[n:] two unpaired neighbours on one side, one of them syllable-short,
        against one unpaired token on the other; returns the new count."""
        cdef Py_ssize_t i, j
        cdef _Token a, b, joined
        cdef double s
        for i in range(len(side) - 1):
            if used_side[i] or used_side[i + 1]:
                continue
            a, b = side[i], side[i + 1]
            if a.length > 4 and b.length > 4:
                continue
            joined = None
            for j in range(len(other)):
                if used_other[j] or abs(a.length + b.length - (<_Token> other[j]).length) > 2:
                    continue
                if joined is None:
                    joined = self._token(a.text + b.text)
                s = self._similar(joined, other[j], loose)
                if s >= _MERGE_MIN_SIM:
                    out[n] = Pair(s, i, i + 1, j, -1) if side_is_query else Pair(s, j, -1, i, i + 1)
                    n += 1
        return n

    cdef double _compare(self, _Form q, _Form e, list chosen_out) except -1.0:
        """Equal tokens pair first; the rest pair greedily by similarity; tokens still unpaired
        on both sides may pair as two neighbours joined ("jin ping" / "jinping")."""
        cdef Py_ssize_t nq = len(q.tokens), ne = len(e.tokens)
        cdef Py_ssize_t i, j, k, n = 0, nchosen = 0, nused_q = 0, nused_e = 0
        cdef double s, q_cover = 0.0, e_cover = 0.0, cov_q, cov_e, score, high, low
        cdef bint loose = q.loose or e.loose
        cdef _Token a
        cdef Pair* candidates
        cdef Pair* chosen
        cdef char* used_q
        cdef char* used_e
        if nq == 0 or ne == 0:
            return 0.0
        if q.sorted_texts == e.sorted_texts:  # same tokens, any order
            if chosen_out is not None:
                chosen_out.extend([((i,), (i,), 1.0) for i in range(nq)])
            return 1.0
        candidates = <Pair*> PyMem_Malloc((3 * nq * ne + nq + ne) * sizeof(Pair))
        chosen = <Pair*> PyMem_Malloc((nq + ne) * sizeof(Pair))
        used_q = <char*> PyMem_Malloc(nq + ne)
        if candidates == NULL or chosen == NULL or used_q == NULL:
            PyMem_Free(candidates)
            PyMem_Free(chosen)
            PyMem_Free(used_q)
            raise MemoryError()
        used_e = used_q + nq
        try:
            for i in range(nq + ne):
                used_q[i] = 0
            for i in range(nq):
                a = q.tokens[i]
                for j in range(ne):
                    if not used_e[j] and a.text == (<_Token> e.tokens[j]).text:
                        used_q[i] = used_e[j] = 1
                        chosen[nchosen] = Pair(1.0, i, -1, j, -1)
                        nchosen += 1
                        nused_q += 1
                        nused_e += 1
                        break
            if nused_q < nq and nused_e < ne:
                for i in range(nq):
                    if used_q[i]:
                        continue
                    a = q.tokens[i]
                    for j in range(ne):
                        if not used_e[j]:
                            s = self._similar(a, e.tokens[j], loose)
                            if s >= _MIN_TOKEN_SIM:
                                candidates[n] = Pair(s, i, -1, j, -1)
                                n += 1
                n = self._merges(q.tokens, used_q, e.tokens, used_e, True, loose, candidates, n)
                n = self._merges(e.tokens, used_e, q.tokens, used_q, False, loose, candidates, n)
                qsort(candidates, n, sizeof(Pair), _descending)
                for k in range(n):
                    if used_q[candidates[k].q0] or (candidates[k].q1 >= 0 and used_q[candidates[k].q1]) \
                            or used_e[candidates[k].e0] or (candidates[k].e1 >= 0 and used_e[candidates[k].e1]):
                        continue
                    used_q[candidates[k].q0] = 1
                    used_e[candidates[k].e0] = 1
                    nused_q += 1
                    nused_e += 1
                    if candidates[k].q1 >= 0:
                        used_q[candidates[k].q1] = 1
                        nused_q += 1
                    if candidates[k].e1 >= 0:
                        used_e[candidates[k].e1] = 1
                        nused_e += 1
                    chosen[nchosen] = candidates[k]
                    nchosen += 1
            # Sums in the order of alignment, as Python's sum() adds them.
            for k in range(nchosen):
                q_cover += chosen[k].s * (2 if chosen[k].q1 >= 0 else 1)
            for k in range(nchosen):
                e_cover += chosen[k].s * (2 if chosen[k].e1 >= 0 else 1)
            cov_q, cov_e = q_cover / nq, e_cover / ne
            if nq == 1 and ne == 1:
                score = cov_q * _MONONYM_FACTOR
            else:
                high, low = (cov_q, cov_e) if cov_q > cov_e else (cov_e, cov_q)
                score = _SHORT_SIDE_WEIGHT * high + (1 - _SHORT_SIDE_WEIGHT) * low
                score -= _CONFLICT_PENALTY * min(nq - nused_q, ne - nused_e)
                if nused_q < 2 and nused_e < 2 and score > _SINGLE_TOKEN_CAP:
                    score = _SINGLE_TOKEN_CAP
            if chosen_out is not None:
                chosen_out.extend([(_span(chosen[k].q0, chosen[k].q1), _span(chosen[k].e0, chosen[k].e1), chosen[k].s)
                                   for k in range(nchosen)])
            return round_score(score if score > 0.0 else 0.0)
        finally:
            PyMem_Free(candidates)
            PyMem_Free(chosen)
            PyMem_Free(used_q)
