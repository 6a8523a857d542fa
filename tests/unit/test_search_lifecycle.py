"""Which monthly indices count as finished (and get force-merged by the indexer)."""

from __future__ import annotations

import datetime as dt

from services.search_api.es_setup import finished_months

UTC = dt.timezone.utc
NAMES = ["bh-events-2026.10", "bh-events-2026.11", "bh-events-2026.12", "bh-events-2025.12", "bh-events",
         "bh-eventsx-2026.10", "bh-links-2026.10", "bh-events-000001"]


def test_a_month_is_finished_a_day_after_it_ended():
    assert finished_months(NAMES, "bh-events", dt.datetime(2026, 12, 1, 23, 59, tzinfo=UTC)) == [
        "bh-events-2025.12", "bh-events-2026.10"]
    assert finished_months(NAMES, "bh-events", dt.datetime(2026, 12, 2, tzinfo=UTC)) == [
        "bh-events-2025.12", "bh-events-2026.10", "bh-events-2026.11"]


def test_december_ends_in_january():
    assert finished_months(["bh-links-2025.12"], "bh-links", dt.datetime(2026, 1, 1, 12, tzinfo=UTC)) == []
    assert finished_months(["bh-links-2025.12"], "bh-links", dt.datetime(2026, 1, 2, tzinfo=UTC)) == [
        "bh-links-2025.12"]
