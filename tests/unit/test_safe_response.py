"""SafeJSONResponse renders answers without walking them when they hold no vector, and strips
every vector when they do: the fast path must never let one through."""

from __future__ import annotations

import datetime as dt
import json
import random

import orjson

from services.search_api.security import SafeJSONResponse, strip_vectors


def render(content) -> bytes:
    return SafeJSONResponse(content).body


def test_answers_without_vectors_are_rendered_as_they_are():
    content = {"results": [{"id": "a", "names": ["Ana"], "vector_name": "kept", "at": dt.date(2026, 1, 2)}],
               "total": 1}
    assert render(content) == orjson.dumps(content, default=str)


def test_vectors_are_stripped_wherever_they_are():
    content = {"results": [{"template": {"face_vector": [1, 2], "modality": "FACE"}, "id": "a"},
                           {"biometric_templates": [{"vector": [0.5]}]}, [[{"iris_vector": []}]]]}
    assert json.loads(render(content)) == {"results": [{"template": {"modality": "FACE"}, "id": "a"},
                                                       {"biometric_templates": [{}]}, [[{}]]]}


def test_a_value_that_looks_like_a_vector_key_is_kept():
    content = {"note": 'said "vector": [1]', "detail": 'x_vector":'}
    assert json.loads(render(content)) == content


def test_same_output_as_stripping_every_answer():
    rng = random.Random(5)
    keys = ["id", "vector", "face_vector", "vectors", "vector_id", "name", "template", "x"]

    def value(depth: int):
        if depth > 3 or rng.random() < 0.3:
            return rng.choice([1, 2.5, "s", None, True, "vector\":"])
        if rng.random() < 0.5:
            return [value(depth + 1) for _ in range(rng.randrange(3))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(500):
        content = value(0)
        assert render(content) == orjson.dumps(strip_vectors(content), default=str)
