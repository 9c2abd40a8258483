"""Cluster hardening in config, the RPC secret from the environment only, no secret in saved config."""

from __future__ import annotations

import os

import pytest
from omegaconf import OmegaConf

from lakehouse import session
from lakehouse.config import compose


@pytest.fixture
def cluster_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://10.0.0.1:7077")


def test_cluster_env_turns_on_authentication_and_encryption(cluster_env):
    conf = compose(["env=cluster"]).spark.conf
    assert conf["spark.authenticate"] is True
    assert conf["spark.network.crypto.enabled"] is True and conf["spark.network.crypto.saslFallback"] is False
    assert conf["spark.network.crypto.cipher"] == "AES/CTR/NoPadding"  # GCM hangs in Spark 4.1.1
    assert conf["spark.io.encryption.enabled"] is True
    assert "spark.authenticate.secret" not in conf
    assert "spark.authenticate" not in compose([]).spark.conf  # local runs unchanged


def test_rpc_secret_comes_from_the_environment_only(cluster_env, monkeypatch):
    cfg = compose(["env=cluster"])
    conf = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in cfg.spark.conf.items()}
    monkeypatch.delenv("SPARK_AUTHENTICATE_SECRET", raising=False)
    with pytest.raises(RuntimeError, match=r"\$SPARK_AUTHENTICATE_SECRET is empty"):
        session._auth_secret(cfg.spark, conf, cfg.spark_master)
    monkeypatch.setenv("SPARK_AUTHENTICATE_SECRET", "s3cr3t-from-vault")
    assert session._auth_secret(cfg.spark, conf, cfg.spark_master) == "s3cr3t-from-vault"
    assert session._auth_secret(cfg.spark, conf, "local[2]") is None  # local mode makes its own
    with pytest.raises(ValueError, match="must not be written in config"):
        session._auth_secret(cfg.spark, {**conf, "spark.authenticate.secret": "x"}, cfg.spark_master)


def test_secrets_never_reach_the_composed_config(cluster_env, monkeypatch):
    key = "q" * 43 + "="
    monkeypatch.setenv("LAKEHOUSE_KEYRING", key)
    monkeypatch.setenv("SPARK_AUTHENTICATE_SECRET", "s3cr3t-from-vault")
    text = OmegaConf.to_yaml(compose(["env=cluster"]), resolve=True)
    assert key not in text and "s3cr3t-from-vault" not in text
    assert "LAKEHOUSE_KEYRING" in text  # only the variable's name


def test_redaction_patterns_compile_and_cover_key_shapes():
    import re

    pattern = re.compile(session.SQL_REDACTION_REGEX)
    key = os.urandom(32)
    import base64

    for text in (f"aes_encrypt(x, {key.hex()})", f"'{key.hex()}'", f"0x{key.hex().upper()}",
                 f"'{base64.b64encode(key).decode()}'", "static_invoke(ExpressionImplUtils.aesEncrypt(cast(a), k))"):
        assert pattern.search(text), text
    assert re.search(session.REDACTION_REGEX, "spark.authenticate.secret")
