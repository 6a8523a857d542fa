"""Java and Maven: find them, and materialise the artifacts the poms under ``deploy/`` name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from borderhub.settings import SOURCE_ROOT, Settings

DEPLOY_DIR = SOURCE_ROOT / "deploy"
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class StackError(RuntimeError):
    """A problem the user can fix; the message says how."""


def runtime_dir() -> Path:
    """Where resolved jars live: inside the virtualenv, so ``make install`` owns them."""
    return Path(sys.prefix) / "share" / "borderhub"


def java_binary(settings: Settings) -> str:
    if settings.java_home:
        candidate = settings.java_home / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise StackError(f"BORDERHUB_JAVA_HOME={settings.java_home} has no bin/java")
    found = shutil.which("java")
    if not found:
        raise StackError("Java 17 or newer is needed for Kafka and Elasticsearch: install a JDK "
                         "(Debian: apt-get install openjdk-17-jdk-headless) or set BORDERHUB_JAVA_HOME.")
    return found


def java_home(settings: Settings) -> str:
    return str(Path(os.path.realpath(java_binary(settings))).parent.parent)


def pom_version(pom: Path) -> str:
    return ET.parse(pom).getroot().findtext("m:version", namespaces=POM_NS)


def resolve(pom: Path, dest: Path, progress=print) -> Path:
    """Copy the dependencies of ``pom`` into ``dest`` once; a marker makes later calls free."""
    marker = dest / ".resolved"
    if marker.exists() and marker.read_text() == pom.read_text():
        return dest
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven is needed once to fetch Kafka and Elasticsearch: "
                         "apt-get install maven (or put mvn on PATH).")
    progress(f"resolving {pom.relative_to(SOURCE_ROOT)} with Maven (once) ...")
    if dest.exists():
        shutil.rmtree(dest)
    staging = dest.with_name(dest.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"Maven could not resolve {pom}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    staging.rename(dest)
    marker.write_text(pom.read_text())
    return dest


def kafka_classpath(settings: Settings, progress=print) -> tuple[str, str]:
    pom = DEPLOY_DIR / "kafka" / "pom.xml"
    version = pom_version(pom)
    libs = resolve(pom, runtime_dir() / f"kafka-{version}", progress)
    return f"{libs}/*", version


def elasticsearch_home(settings: Settings, progress=print) -> tuple[Path, str]:
    pom = DEPLOY_DIR / "elasticsearch" / "pom.xml"
    version = pom_version(pom)
    dist = resolve(pom, runtime_dir() / f"elasticsearch-{version}-dist", progress)
    home = runtime_dir() / f"elasticsearch-{version}"
    if not (home / "bin" / "elasticsearch").exists():
        progress(f"unpacking Elasticsearch {version} ...")
        archive = next(dist.glob("*.zip"))
        staging = home.with_name(home.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = zf.extract(info, staging)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(target, mode)
        (top,) = [p for p in staging.iterdir() if p.is_dir()]
        shutil.rmtree(home, ignore_errors=True)
        top.rename(home)
        shutil.rmtree(staging, ignore_errors=True)
    from borderhub.stack import es_plugins  # local import: es_plugins imports this module
    es_plugins.install_analysis_plugin(home, progress)
    return home, version
