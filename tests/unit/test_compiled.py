"""The modules pip compiles with Cython: compiled when installed, and an edited source is what
runs until it is compiled again."""

import importlib
import importlib.machinery
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from borderhub.compiled import is_compiled, prefer_fresh_sources, stale_modules

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]


def _ext_modules() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return [m["name"] for m in tomllib.load(f)["tool"]["setuptools"]["ext-modules"]]


@pytest.mark.parametrize("name", _ext_modules())
def test_every_ext_module_runs_compiled(name):
    module = importlib.import_module(name)
    assert is_compiled(module), f"{name} runs from {module.__file__}: `make install` compiles it"


def _package(tmp_path: Path, name: str, extension_age: float) -> Path:
    """A package whose module ``mod`` has a source and an unloadable 'extension' extension_age
    seconds older than it (negative: newer)."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(
        "from borderhub.compiled import prefer_fresh_sources\nprefer_fresh_sources(__name__, __path__[0])\n")
    source = package / "mod.py"
    source.write_text("VALUE = 'from source'\n")
    extension = package / f"mod{EXTENSION}"
    extension.write_bytes(b"not an extension module")
    now = os.path.getmtime(source)
    os.utime(extension, (now - extension_age, now - extension_age))
    return package


@pytest.fixture
def on_path(tmp_path):
    sys.path.insert(0, str(tmp_path))
    before = list(sys.meta_path)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.meta_path[:] = before
    for name in [n for n in sys.modules if n.startswith("bh_compiled_")]:
        del sys.modules[name]


def test_an_edited_source_runs_instead_of_its_old_compiled_twin(on_path):
    _package(on_path, "bh_compiled_stale", extension_age=600)
    module = importlib.import_module("bh_compiled_stale.mod")
    assert module.VALUE == "from source"
    assert module.__file__.endswith("mod.py")


def test_a_fresh_compiled_module_is_the_one_loaded(on_path):
    package = _package(on_path, "bh_compiled_fresh", extension_age=-1)
    assert stale_modules(str(package)) == {}
    # The bogus 'extension' is what the import system picks: proof the source was not preferred.
    with pytest.raises(ImportError):
        importlib.import_module("bh_compiled_fresh.mod")


def test_files_unpacked_moments_apart_are_not_stale(tmp_path):
    package = _package(tmp_path, "bh_compiled_wheel", extension_age=1.0)
    assert stale_modules(str(package)) == {}
    assert prefer_fresh_sources("bh_compiled_wheel", str(package)) == []


def test_a_module_without_a_compiled_twin_is_left_alone(tmp_path):
    (tmp_path / "plain.py").write_text("")
    assert stale_modules(str(tmp_path)) == {}


def test_run_sources_loads_every_source_even_when_compiled_fresh(on_path, monkeypatch):
    monkeypatch.setenv("BORDERHUB_RUN_SOURCES", "1")
    _package(on_path, "bh_compiled_forced", extension_age=-1)
    assert importlib.import_module("bh_compiled_forced.mod").VALUE == "from source"


_MATCH_DIGEST = """
import hashlib, json, random
from services.correlate.matching import bench, names
from services.correlate.matching.engine import Matcher
from services.correlate.matching.synthetic import watchlist
from borderhub.compiled import is_compiled
rng = random.Random(5)
people, kept = [], {}
matcher = Matcher()
matcher.load(bench._Timed(watchlist(rng, 5000, people=people, dob_share=0.95, diverse=True), kept))
digest, alerts = hashlib.sha256(), 0
for matches in matcher.match_events("crossing", bench._events(rng, 1500, people, kept)):
    for m in matches:
        alerts += 1
        digest.update(json.dumps([m.entry_id, m.score, m.explanation, m.event_part], default=str).encode())
print(json.dumps({"compiled": is_compiled(names), "alerts": alerts, "digest": digest.hexdigest()}))
"""


def test_compiled_matching_gives_the_alerts_of_its_source():
    def run(**env):
        out = subprocess.run([sys.executable, "-c", _MATCH_DIGEST], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, **env}, timeout=300, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    compiled, source = run(BORDERHUB_RUN_SOURCES="0"), run(BORDERHUB_RUN_SOURCES="1")
    assert compiled["compiled"] and not source["compiled"]
    assert compiled["alerts"] > 20  # crossings by listed people and on listed documents
    assert compiled == {**source, "compiled": True}
