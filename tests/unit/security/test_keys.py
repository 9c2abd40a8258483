"""Key material: key file 0600 on first use, refusal of loose files, cluster refusal, derivation, rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pickle
import stat

import pytest

from lakehouse.security import keys as K


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_local_run_creates_a_0600_key_file_once(make_cfg, tmp_path):
    cfg = make_cfg()
    ring = K.load_keyring(cfg)
    path = tmp_path / ".keys" / "lakehouse.keyring"
    assert path.exists() and _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert not str(path).startswith(str(cfg.paths.root))  # next to the data, not inside it
    again = K.load_keyring(cfg)
    assert again.hmac_key("cccd") == ring.hmac_key("cccd")  # created once, then reused
    assert ring.versions == (1,) and ring.active == ring.pseudonym == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_with_loose_permissions_is_refused(make_cfg, tmp_path, mode):
    cfg = make_cfg()
    K.load_keyring(cfg)
    path = tmp_path / ".keys" / "lakehouse.keyring"
    os.chmod(path, mode)
    with pytest.raises(K.KeyMaterialError, match=r"has mode 0\d\d\d.*chmod 600"):
        K.load_keyring(cfg)


def test_cluster_refuses_to_run_without_external_keys(monkeypatch, tmp_path):
    from lakehouse.config import compose

    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://10.0.0.1:7077")
    cfg = compose(["env=cluster"])
    with pytest.raises(K.KeyMaterialError, match="env=cluster refuses to run without keys"):
        K.load_keyring(cfg)
    assert not (tmp_path / ".keys").exists()  # never created on a cluster
    key = os.urandom(32)
    monkeypatch.setenv("LAKEHOUSE_KEYRING", base64.b64encode(key).decode())
    ring = K.load_keyring(cfg)
    assert ring.source == "env LAKEHOUSE_KEYRING"
    assert ring.hmac_key("cccd") == K.hkdf_sha256(key, b"lakehouse-vn", b"lakehouse/pseudonym/cccd")


def test_cluster_accepts_a_mounted_key_file(monkeypatch, tmp_path):
    from lakehouse.config import compose

    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://10.0.0.1:7077")
    secret = tmp_path / "secret" / "keyring.json"
    K.create_key_file(secret)
    monkeypatch.setenv("LAKEHOUSE_KEY_FILE", str(secret))
    assert K.load_keyring(compose(["env=cluster"])).source == f"file {secret}"
    os.chmod(secret, 0o644)
    with pytest.raises(K.KeyMaterialError, match="refusing"):
        K.load_keyring(compose(["env=cluster"]))


def test_bad_environment_key_is_rejected_without_echoing_it(monkeypatch, make_cfg):
    monkeypatch.setenv("LAKEHOUSE_KEYRING", "c2hvcnQ=")  # 5 bytes
    with pytest.raises(K.KeyMaterialError) as err:
        K.load_keyring(make_cfg())
    assert "c2hvcnQ" not in str(err.value)


def test_hkdf_matches_rfc5869_test_case_1():
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
           "34007208d5b887185865")
    assert K.hkdf_sha256(ikm, salt, info, 42).hex() == okm


def test_derived_keys_are_separate_per_purpose_and_kind(keyring):
    keys = {keyring.aes_key(), *(keyring.hmac_key(k) for k in keyring.kinds)}
    assert len(keys) == 1 + len(keyring.kinds)
    assert all(len(k) == 32 for k in keys)


def test_python_token_is_hmac_sha256_of_the_normalised_value(keyring):
    expected = hmac.new(keyring.hmac_key("cccd"), b"001234567890", hashlib.sha256).hexdigest()
    assert keyring.token(" 001.234.567-890 ", "cccd") == expected
    assert keyring.token("  nguyễn   văn\tan ", "name") == hmac.new(
        keyring.hmac_key("name"), "NGUYỄN VĂN AN".encode(), hashlib.sha256).hexdigest()
    assert keyring.token("", "cccd") is None and keyring.token(None, "cccd") is None


def test_keyring_never_shows_or_pickles_its_keys(keyring):
    text = repr(keyring) + str(keyring)
    for v in keyring.versions:
        assert keyring.aes_key(v).hex() not in text
    assert "versions=[1]" in text
    with pytest.raises(TypeError):
        pickle.dumps(keyring)


def test_rotation_keeps_old_versions_and_moves_pseudonyms_only_when_asked(tmp_path):
    path = tmp_path / "k" / "ring.json"
    K.create_key_file(path)
    out = K.rotate_key_file(path)
    assert out == {"active": 2, "pseudonym": 1, "added": 2} and _mode(path) == 0o600
    out = K.rotate_key_file(path, pseudonyms=True)
    assert out == {"active": 3, "pseudonym": 3, "added": 3}
    ring = K.keyring_from_document(K.read_key_file(path), "t")
    assert ring.versions == (1, 2, 3)
    with pytest.raises(K.KeyMaterialError, match="still in use"):
        K.retire_key(path, 3)
    K.retire_key(path, 1)
    assert sorted(json.loads(path.read_text())["keys"]) == ["2", "3"]


def test_rotation_of_a_keyring_kept_in_a_secret_store():
    doc = K.new_keyring_document()
    new = K.rotate_document(json.dumps(doc))
    assert new["active"] == 2 and new["pseudonym"] == 1 and set(new["keys"]) == {"1", "2"}
