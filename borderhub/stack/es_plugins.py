"""Our own Elasticsearch plugin, built from source with Maven and dropped into the node's home.

The Maven Central integ-test-zip lacks the analysis-common module (asciifolding, edge_ngram, the
keyword tokenizer, ...), and that module is not published for 8.x. ``deploy/elasticsearch/
analysis-plugin`` registers those components under their standard names, so the same index
templates work here and on the official image.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from borderhub.stack import jvm

PLUGIN = "borderhub-analysis"
SOURCE = jvm.DEPLOY_DIR / "elasticsearch" / "analysis-plugin"
MARKER = ".source-sha256"  # inside the plugin dir; Elasticsearch only loads its *.jar files


def _lib_version(es_home: Path, artifact: str) -> str:
    """Version of ``lib/<artifact>-<version>.jar``: the plugin must be built for exactly these."""
    for jar in (es_home / "lib").glob(f"{artifact}-*.jar"):
        m = re.fullmatch(re.escape(artifact) + r"-(\d[\w.]*)\.jar", jar.name)
        if m:
            return m.group(1)
    raise jvm.StackError(f"{es_home}/lib has no {artifact}-<version>.jar; is {es_home} an Elasticsearch home?")


def _fingerprint(*versions: str) -> str:
    h = hashlib.sha256("\0".join(versions).encode())
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file() and "target" not in p.relative_to(SOURCE).parts):
        h.update(str(path.relative_to(SOURCE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def install_analysis_plugin(es_home: Path, progress=print) -> None:
    """Build and install ``<es_home>/plugins/borderhub-analysis`` unless it is already up to date.

    A running node only picks up a (re)installed plugin when it restarts.
    """
    es_version = _lib_version(es_home, "elasticsearch")
    lucene_version = _lib_version(es_home, "lucene-core")
    dest = es_home / "plugins" / PLUGIN
    stamp = _fingerprint(es_version, lucene_version)
    if (dest / MARKER).is_file() and (dest / MARKER).read_text() == stamp:
        return
    mvn = shutil.which("mvn")
    if not mvn:
        raise jvm.StackError("Maven is needed once to build the borderhub-analysis Elasticsearch plugin: "
                             "apt-get install maven (or put mvn on PATH).")
    progress(f"building the {PLUGIN} Elasticsearch plugin with Maven (once) ...")
    # Built outside the source tree: it may be read-only, and is shared with other checkouts' tools.
    build = jvm.runtime_dir() / "build" / PLUGIN
    shutil.rmtree(build, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "-f", str(SOURCE / "pom.xml"), "package", f"-DbuildDirectory={build}",
           f"-Delasticsearch.version={es_version}", f"-Dlucene.version={lucene_version}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    built = build / PLUGIN
    if result.returncode != 0 or not (built / "plugin-descriptor.properties").is_file():
        raise jvm.StackError(f"Maven could not build {SOURCE / 'pom.xml'}:\n"
                             f"{result.stdout[-3000:]}{result.stderr[-2000:]}")
    # Staged next to the home, not in plugins/, which the node would try to load half-copied.
    staging = es_home / f".{PLUGIN}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(built, staging)
    (staging / MARKER).write_text(stamp)
    # The node runs as an unprivileged user: make the plugin readable whatever our umask is.
    os.chmod(staging, 0o755)
    for f in staging.iterdir():
        os.chmod(f, 0o644)
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(exist_ok=True)
    staging.rename(dest)
