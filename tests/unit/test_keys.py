"""API keys: hashed at rest, verified in constant time, roles and port limits, revocation."""

import json
import stat

import pytest

from borderhub.keys import KeyError_, KeyStore


@pytest.fixture()
def store(tmp_path):
    return KeyStore(tmp_path / "api_keys.json")


def test_created_key_verifies_and_only_its_hash_is_stored(store):
    record, token = store.create("investigator", name="ana")
    assert store.verify(token) == record
    raw = store.path.read_text()
    assert token not in raw and token.split("_", 2)[2] not in raw
    assert json.loads(raw)[0]["key_hash"] == record.key_hash
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


@pytest.mark.parametrize("token", [None, "", "bh_", "not-a-key", "bh_deadbeef_guess"])
def test_garbage_does_not_verify(store, token):
    store.create("producer")
    assert store.verify(token) is None


def test_tampered_secret_does_not_verify(store):
    _, token = store.create("admin")
    assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_unknown_role_and_port_limits(store):
    with pytest.raises(KeyError_, match="unknown role"):
        store.create("superuser")
    with pytest.raises(KeyError_, match="producer keys only"):
        store.create("officer", ports=["USMIA"])
    with pytest.raises(KeyError_):
        store.create("producer", ports=["NOT A PORT"])
    record, _ = store.create("producer", ports=["usmia", "USLGB"])
    assert record.ports == ("USMIA", "USLGB")
    assert record.may_publish_for("USMIA") and not record.may_publish_for("USSAN")


def test_revocation_is_seen_by_another_store_instance(store):
    record, token = store.create("producer")
    other = KeyStore(store.path)
    assert other.verify(token) is not None
    store.revoke(record.key_id)
    assert other.verify(token) is None
    with pytest.raises(KeyError_):
        store.revoke("00000000")
