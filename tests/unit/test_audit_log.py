"""The audit log's group commit: every record acknowledged before its answer, concurrent
records share bulks (one at a time: on a busy two-core machine fewer, larger bulks beat more
bulks in flight, measured with `borderhub bench --suite search`), and a failed bulk fails closed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from fastapi import HTTPException

from services.search_api.security import AuditLog, Caller

CALLER = Caller("k1", "investigator", "ana")
REQUEST = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), method="GET", url=SimpleNamespace(path="/v1/x"))


class FakeES:
    def __init__(self, delay: float = 0.01, fail: bool = False):
        self.delay, self.fail = delay, fail
        self.in_flight = self.most_in_flight = 0
        self.bulks: list[int] = []

    async def bulk(self, operations, require_alias):
        assert require_alias is True
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.fail:
            raise ConnectionError("down")
        docs = operations[1::2]
        self.bulks.append(len(docs))
        return {"items": [{"create": {"status": 201}} for _ in docs]}


def run(coro):
    return asyncio.run(coro)


def test_every_record_is_acknowledged_and_bulks_are_shared_and_bounded():
    es = FakeES()

    async def main():
        log = AuditLog(es)
        await asyncio.gather(*(log.record(REQUEST, CALLER, "events.search", {"q": str(i)}, results=1,
                                          record_ids=[str(i)]) for i in range(100)))
        await log.close()

    run(main())
    assert sum(es.bulks) == 100
    assert len(es.bulks) < 100  # shared
    assert es.most_in_flight == 1


def test_failed_bulk_fails_closed():
    async def main():
        log = AuditLog(FakeES(fail=True))
        with pytest.raises(HTTPException) as info:
            await log.record(REQUEST, CALLER, "events.search")
        assert info.value.status_code == 503
        # and the log keeps working once Elasticsearch is back
        log.es = FakeES()
        await log.record(REQUEST, CALLER, "events.search")

    run(main())
