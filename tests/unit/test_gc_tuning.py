"""The collector settings of the long-running processes (borderhub.gc_tuning)."""

from __future__ import annotations

import gc

from borderhub.gc_tuning import YOUNG_THRESHOLD, freeze_start_up_objects


def test_start_up_objects_are_frozen_and_young_collections_are_rarer():
    threshold = gc.get_threshold()
    try:
        freeze_start_up_objects()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
