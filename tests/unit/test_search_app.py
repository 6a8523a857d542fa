"""The search API process's collector settings (see app._tune_gc)."""

from __future__ import annotations

import gc

from services.search_api import app


def test_start_up_objects_are_frozen_and_young_collections_are_rarer():
    threshold = gc.get_threshold()
    try:
        app._tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (app.GC_YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
