"""The CLI's own contracts: key creation prints the key last; missing tools get clear errors."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from borderhub.cli import app
from borderhub.keys import KeyStore
from borderhub.settings import Settings, get_settings
from borderhub.stack import jvm


@pytest.fixture()
def keys_file(tmp_path, monkeypatch):
    path = tmp_path / "api_keys.json"
    monkeypatch.setenv("BORDERHUB_API_KEYS_FILE", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_keys_create_prints_the_key_as_last_line(keys_file):
    result = CliRunner().invoke(app, ["keys", "create", "--role", "producer", "--port", "USMIA", "--name", "apis"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    record = KeyStore(keys_file).verify(token)
    assert record is not None and record.role == "producer" and record.ports == ("USMIA",)


def test_keys_create_rejects_unknown_role(keys_file):
    result = CliRunner().invoke(app, ["keys", "create", "--role", "root"])
    assert result.exit_code == 1
    assert "unknown role" in result.output


def test_missing_java_is_explained(tmp_path):
    with pytest.raises(jvm.StackError, match="has no bin/java"):
        jvm.java_binary(Settings(java_home=tmp_path))


def test_missing_maven_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(jvm.StackError, match="Maven is needed"):
        jvm.resolve(jvm.DEPLOY_DIR / "kafka" / "pom.xml", tmp_path / "kafka-libs")


def test_poms_pin_the_versions_the_stack_reports():
    assert jvm.pom_version(jvm.DEPLOY_DIR / "kafka" / "pom.xml").startswith("4.")
    assert jvm.pom_version(jvm.DEPLOY_DIR / "elasticsearch" / "pom.xml").startswith("8.")
    assert Path(jvm.DEPLOY_DIR / "elasticsearch" / "analysis-plugin" / "pom.xml").exists()
