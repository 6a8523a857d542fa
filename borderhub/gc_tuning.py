"""Cyclic garbage collector settings for long-running processes.

Both the search API (thousands of short-lived containers per answer) and the correlation
workers (millions of long-lived watchlist objects, a few hundred short-lived ones per event)
spent a large share of their CPU in collections: each young collection fired every 700
allocations, and each full one walked everything the process had ever built.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def freeze_start_up_objects() -> None:
    """Move what exists now out of the collector's passes and make young collections rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
