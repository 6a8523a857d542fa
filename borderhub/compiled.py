"""Modules compiled by Cython from their own Python source.

The hot modules of matching are plain Python that ``pip install`` also compiles (pyproject's
``ext-modules``; same code, a quarter less CPU per crossing in-process). An extension module
shadows the ``.py`` beside it, so after an edit and before the rebuild (``make install``) the old
compiled code would run: ``prefer_fresh_sources`` makes the package load the edited source
instead, and says so. ``BORDERHUB_RUN_SOURCES=1`` runs every source (profilers and debuggers see
Python frames; the benches' before and after).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys

log = logging.getLogger("borderhub.compiled")

RUN_SOURCES_ENV = "BORDERHUB_RUN_SOURCES"
# A wheel's files are unpacked within moments of each other; an edit comes later than that.
STALE_AFTER_SECONDS = 2.0


def compiled_modules(directory: str) -> dict[str, tuple[str, str]]:
    """Module name -> (source path, extension path) for each source with a compiled twin."""
    found = {}
    names = set(os.listdir(directory))
    for name in names:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if name.endswith(suffix) and (stem := name[:-len(suffix)]) + ".py" in names:
                found[stem] = (os.path.join(directory, stem + ".py"), os.path.join(directory, name))
    return found


def stale_modules(directory: str) -> dict[str, str]:
    """Module name -> source path for each compiled module older than its source."""
    return {stem: source for stem, (source, extension) in compiled_modules(directory).items()
            if os.path.getmtime(source) > os.path.getmtime(extension) + STALE_AFTER_SECONDS}


class _SourceFinder:
    """Finds the listed modules as their ``.py`` source, ahead of the path's extension loader."""

    def __init__(self, sources: dict[str, str]):
        self.sources = sources

    def find_spec(self, fullname, path=None, target=None):
        source = self.sources.get(fullname)
        return importlib.util.spec_from_file_location(fullname, source) if source else None


def prefer_fresh_sources(package: str, directory: str) -> list[str]:
    """Called by a package's ``__init__`` before it imports its modules; returns the modules
    that will load from source: the stale ones, or all with ``BORDERHUB_RUN_SOURCES=1``."""
    if os.environ.get(RUN_SOURCES_ENV, "") not in ("", "0"):
        from_source = {stem: source for stem, (source, _) in compiled_modules(directory).items()}
    else:
        from_source = stale_modules(directory)
        if from_source:
            log.warning("%s: %s edited since compiled; running the source (slower) until `make install` "
                        "rebuilds it", package, ", ".join(sorted(from_source)))
    if from_source:
        sys.meta_path.insert(0, _SourceFinder({f"{package}.{stem}": source for stem, source in from_source.items()}))
    return sorted(from_source)


def is_compiled(module) -> bool:
    return any(module.__file__.endswith(suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES)
