"""The name analysis investigator search relies on: ASCII folding, folding keyword normalizers and
edge n-grams, under the standard Elasticsearch names. The local node gets them from our
borderhub-analysis plugin, the official image from analysis-common; both must pass."""

from __future__ import annotations

import uuid

import httpx
import pytest

INDEX_BODY = {
    "settings": {"number_of_replicas": 0, "analysis": {
        "filter": {"name_prefix": {"type": "edge_ngram", "min_gram": 2, "max_gram": 10}},
        "normalizer": {"name_key": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
        "analyzer": {
            "name": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
            "name_prefix": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding", "name_prefix"]},
        },
    }},
    "mappings": {"properties": {
        "key": {"type": "keyword", "normalizer": "name_key"},
        "name": {"type": "text", "analyzer": "name",
                 "fields": {"prefix": {"type": "text", "analyzer": "name_prefix", "search_analyzer": "name"}}},
    }},
}


def tokens(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["token"] for t in response.json()["tokens"]]


@pytest.fixture
def es(stack):
    with httpx.Client(base_url=stack[1], timeout=30) as client:
        yield client


@pytest.fixture
def names_index(es):
    index = f"test-names-{uuid.uuid4().hex[:12]}"
    r = es.put(f"/{index}", json=INDEX_BODY)
    assert r.status_code == 200, r.text
    yield index
    es.delete(f"/{index}")


def test_asciifolding_is_available_globally(es):
    r = es.post("/_analyze", json={"tokenizer": "standard", "filter": ["lowercase", "asciifolding"],
                                   "text": "José Müller Øre"})
    assert tokens(r) == ["jose", "muller", "ore"]


def test_folding_normalizer_analyzer_and_edge_ngram_in_an_index(es, names_index):
    assert tokens(es.post(f"/{names_index}/_analyze", json={"normalizer": "name_key", "text": "ÇAĞLAR"})) == ["caglar"]
    assert tokens(es.post(f"/{names_index}/_analyze", json={"analyzer": "name_prefix", "text": "Müller"})) == [
        "mu", "mul", "mull", "mulle", "muller"]

    r = es.put(f"/{names_index}/_doc/1", params={"refresh": "true"}, json={"key": "ÇAĞLAR", "name": "José Müller"})
    assert r.status_code == 201, r.text

    def hits(query: dict) -> int:
        r = es.post(f"/{names_index}/_search", json={"query": query})
        assert r.status_code == 200, r.text
        return r.json()["hits"]["total"]["value"]

    assert hits({"term": {"key": "caglar"}}) == 1
    assert hits({"term": {"key": "Çağlar"}}) == 1  # term queries on keywords go through the normalizer too
    assert hits({"match": {"name": "jose"}}) == 1
    assert hits({"match": {"name": "MULLER"}}) == 1
    assert hits({"match": {"name.prefix": "Mül"}}) == 1
    assert hits({"match": {"name.prefix": "Mur"}}) == 0
    r = es.post(f"/{names_index}/_search", json={"docvalue_fields": ["key"]})
    assert r.json()["hits"]["hits"][0]["fields"]["key"] == ["caglar"]
