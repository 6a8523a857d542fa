"""Schemathesis against the running search API's OpenAPI spec, with an admin key: whatever the
spec allows (and what it does not), no answer is a 5xx.

Bounded: a few examples per operation, so the whole run stays under three minutes. The
dashboard stream is left out (it never ends by design). Watchlist writes the fuzzer manages to
get accepted land on the real compacted topic; they are tombstoned afterwards.
"""

from __future__ import annotations

import json
import tempfile

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error

from borderhub.kafka import make_producer
from borderhub.topics import WATCHLIST
from services.search_api.app import create_app
from tests.integration.kafka_tail import KafkaTail
from tests.integration.test_search_api import start_api

EXPORT_ROWS = 200  # exports are capped at 50,000 rows; a fuzzer needs no more than this
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="borderhub-hypothesis-"))  # nothing written into the checkout


@pytest.fixture(scope="module")
def fuzzed_api(settings, tmp_path_factory):
    service = start_api(settings, tmp_path_factory)
    tail = KafkaTail(settings.kafka_bootstrap, WATCHLIST)
    yield service
    service.stop()
    # Tombstone every watchlist entry the fuzzer got published.
    latest = {r.key: r.value for r in tail.read(timeout=5)}
    tail.close()
    producer = make_producer(settings, "search-schemathesis-cleanup")
    for key, value in latest.items():
        if value is not None:
            producer.send(WATCHLIST, key=key, value=None)
    producer.flush()
    producer.close()


@pytest.fixture(scope="module")
def admin_key(keys):
    return keys.create("admin", name="schemathesis")[1]


# The spec is built from the app at collection time (schemathesis' lazy fixture loader does not
# work with this pytest); the first test proves the running process serves the same spec.
SPEC = create_app().openapi()
schema = schemathesis.openapi.from_dict(SPEC).exclude(path="/v1/dashboard/stream")


def test_the_running_api_serves_this_spec(fuzzed_api):
    assert httpx.get(f"{fuzzed_api.url}/openapi.json").json() == json.loads(json.dumps(SPEC))


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, fuzzed_api, admin_key):
    if case.path.startswith("/v1/events/export"):
        query = dict(case.query or {})
        limit = query.get("limit")
        if limit is None or (isinstance(limit, int) and limit > EXPORT_ROWS):
            query["limit"] = EXPORT_ROWS
        case.query = query
    case.call_and_validate(base_url=fuzzed_api.url, headers={"X-API-Key": admin_key}, checks=[not_a_server_error],
                           timeout=60)
