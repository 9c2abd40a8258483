"""Pseudonyms and encryption: exact HMAC, AES-GCM round trip and rotation, keys absent from plans and logs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json

import pytest
from pyspark.sql import functions as F

from lakehouse.security import protect as P
from lakehouse.security.keys import (
    keyring_from_document,
    new_keyring_document,
    rotate_document,
)

SAMPLES = [("001234567890", "Nguyễn Văn An"), ("079.123 456-789", "  trần   thị\tbích "), ("", "Lê Văn Cường"),
           (None, None), ("0912345678", "ĐẶNG THỊ HOÀ")]


@pytest.fixture
def people(spark):
    return spark.createDataFrame(SAMPLES, "cccd string, full_name string")


def test_hmac_matches_python_hmac_exactly(people, keyring):
    out = P.protect_columns(people, keyring, pseudonymise={"cccd": "cccd", "full_name": "name"}, drop_clear=False)
    assert out.columns == ["cccd", "full_name", "cccd_token", "full_name_token"]
    for row in out.collect():
        for clear, kind, tok in ((row.cccd, "cccd", row.cccd_token), (row.full_name, "name", row.full_name_token)):
            norm = keyring.normalise(clear, kind)
            expected = None if norm is None else hmac.new(keyring.hmac_key(kind), norm.encode(), hashlib.sha256).hexdigest()
            assert tok == expected
            assert tok == keyring.token(clear, kind)


def test_pseudonyms_are_domain_separated_per_kind(spark, keyring):
    df = spark.createDataFrame([("0123456789",)], "v string")
    row = P.protect_columns(df.select(F.col("v").alias("a"), F.col("v").alias("b"), F.col("v").alias("c")),
                            keyring, pseudonymise={"a": "bhxh", "b": "phone", "c": "tax_code"}).first()
    assert len({row.a_token, row.b_token, row.c_token}) == 3
    assert row.a_token == keyring.token("0123456789", "bhxh")


def test_aes_gcm_round_trip_with_header_and_python_interop(people, keyring):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    enc = P.protect_columns(people, keyring, encrypt=["cccd", "full_name"])
    assert enc.columns == ["cccd_enc", "full_name_enc"] and dict(enc.dtypes)["cccd_enc"] == "binary"
    rows = enc.collect()
    for (cccd, name), row in zip(SAMPLES, rows):
        if cccd is None:
            assert row.cccd_enc is None
            continue
        c = bytes(row.cccd_enc)
        assert c[:3] == b"\x01\x00\x01"  # format 1, key version 1
        assert AESGCM(keyring.aes_key(1)).decrypt(c[3:15], c[15:], c[:3] + b"cccd") == cccd.encode()
    back = P.decrypt_columns(enc, keyring, ["cccd_enc", "full_name_enc"]).collect()
    assert [(r.cccd, r.full_name) for r in back] == SAMPLES
    # a random IV per value: equal plaintexts give different ciphertexts
    twice = P.protect_columns(people.limit(1).union(people.limit(1)), keyring, encrypt=["cccd"]).collect()
    assert twice[0].cccd_enc != twice[1].cccd_enc


def test_ciphertext_is_bound_to_its_field_label(people, keyring):
    enc = P.protect_columns(people.where("cccd = '001234567890'"), keyring, encrypt=["cccd"])
    moved = enc.select(F.col("cccd_enc").alias("full_name_enc"))
    assert P.decrypt_columns(moved, keyring, ["full_name_enc"], strict=False).first().full_name is None
    with pytest.raises(Exception, match="(?i)aes|crypt|tag"):
        P.decrypt_columns(moved, keyring, ["full_name_enc"]).collect()


def test_rotation_old_ciphertext_still_decrypts_and_reencrypts(spark, people):
    doc1 = new_keyring_document()
    ring1 = keyring_from_document(doc1, "v1")
    doc2 = rotate_document(json.dumps(doc1))
    ring2 = keyring_from_document(doc2, "v2")
    assert (ring2.active, ring2.pseudonym) == (2, 1)
    old = P.protect_columns(people, ring1, pseudonymise={"cccd": "cccd"}, encrypt=["full_name"])
    # decrypt with the rotated keyring (v1 still present)
    back = P.decrypt_columns(old, ring2, ["full_name_enc"]).collect()
    assert [r.full_name for r in back] == [s[1] for s in SAMPLES]
    # re-encrypt under v2
    re = P.reencrypt_columns(old, ring2, ["full_name_enc"])
    versions = {r.v for r in re.select(P.key_version("full_name_enc").alias("v")).collect()}
    assert versions == {2, None}
    assert [r.full_name for r in P.decrypt_columns(re, ring2, ["full_name_enc"]).collect()] == [s[1] for s in SAMPLES]
    # encryption-only rotation keeps pseudonyms
    new = P.protect_columns(people, ring2, pseudonymise={"cccd": "cccd"}, drop_clear=False)
    assert [r.cccd_token for r in new.collect()] == [r.cccd_token for r in old.collect()]
    assert new.first().cccd_token is not None
    # moving the pseudonym version changes every token (-> re-pseudonymisation from silver)
    ring3 = keyring_from_document(rotate_document(json.dumps(doc2), pseudonyms=True), "v3")
    moved = P.protect_columns(people, ring3, pseudonymise={"cccd": "cccd"}, drop_clear=False).collect()
    assert all(a.cccd_token != b.cccd_token for a, b in zip(moved, new.collect()) if a.cccd_token)
    # a keyring without the version of a ciphertext refuses it
    retired = dict(doc2)
    retired["keys"] = {"2": doc2["keys"]["2"]}
    retired["pseudonym"] = 2
    ring_v2_only = keyring_from_document(retired, "v2 only")
    with pytest.raises(Exception, match="not in the keyring"):
        P.decrypt_columns(old, ring_v2_only, ["full_name_enc"]).collect()


def _key_forms(keyring) -> list[str]:
    """Every working key (and the master keys behind them) as hex (both cases) and base64."""
    raw = [keyring.aes_key(v) for v in keyring.versions]
    for kind in keyring.kinds:
        k = keyring.hmac_key(kind)
        raw += [k, *P._pads(k)]
    raw += [keyring._masters[v] for v in keyring.versions]
    forms = []
    for b in raw:
        forms += [b.hex(), b.hex().upper(), base64.b64encode(b).decode(), base64.b64encode(b).decode().rstrip("="),
                  base64.urlsafe_b64encode(b).decode()]
    return forms


@contextlib.contextmanager
def captured_spark_logs(spark, level: str = "INFO"):
    """Everything Spark logs (log4j2) while the block runs, at `level`."""
    jvm = spark.sparkContext._jvm
    core = jvm.org.apache.logging.log4j.core
    ctx = core.LoggerContext.getContext(False)
    config = ctx.getConfiguration()
    writer = jvm.java.io.StringWriter()
    layout = core.layout.PatternLayout.createDefaultLayout(config)
    appender = core.appender.WriterAppender.createAppender(layout, None, writer, "security-test-capture", False, True)
    appender.start()
    config.addAppender(appender)
    config.getRootLogger().addAppender(appender, None, None)
    ctx.updateLoggers()
    spark.sparkContext.setLogLevel(level)
    out = {"text": ""}
    try:
        yield out
    finally:
        spark.sparkContext.setLogLevel("ERROR")
        config.getRootLogger().removeAppender("security-test-capture")
        ctx.updateLoggers()
        appender.stop()
        out["text"] = writer.toString()


def test_keys_never_appear_in_plans_or_logs(spark, people, keyring, tmp_path, capsys):
    spark.conf.set("spark.sql.redaction.string.regex", "(?!)")  # prove it without the redaction safety net
    try:
        with captured_spark_logs(spark) as logs:
            out = P.protect_columns(people, keyring, pseudonymise={"cccd": "cccd"}, encrypt=["full_name"])
            out.write.format("delta").save(str(tmp_path / "protected"))
            back = P.decrypt_columns(spark.read.format("delta").load(str(tmp_path / "protected")),
                                     keyring, ["full_name_enc"])
            back.collect()
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                for df in (out, back):
                    for mode in ("simple", "extended", "codegen", "cost", "formatted"):
                        df.explain(mode)
            plans = buf.getvalue() + "".join(df._jdf.queryExecution().toString() for df in (out, back))
            plans += "".join(df._jdf.queryExecution().executedPlan().toString() for df in (out, back))
    finally:
        spark.conf.set("spark.sql.redaction.string.regex", spark.sparkContext.getConf().get(
            "spark.sql.redaction.string.regex"))
    assert "LocalRelation [" in plans and "__lk_enc_key" in plans  # keys referenced as columns ...
    assert len(logs["text"]) > 1000  # INFO logging really was captured
    text = plans + logs["text"] + capsys.readouterr().out
    leaked = [f[:6] for f in _key_forms(keyring) if f in text]
    assert leaked == []  # ... never as values
    history = spark.sql(f"DESCRIBE HISTORY delta.`{tmp_path / 'protected'}`").collect()
    assert not [f for f in _key_forms(keyring) if any(f in str(h.asDict()) for h in history)]


def test_redaction_hides_a_literal_key_in_plans(spark):
    key = bytes(range(32))
    df = spark.range(1).select(F.aes_encrypt(F.lit("x"), F.lit(key)).alias("e"),
                               F.sha2(F.concat(F.lit(key.hex()), F.lit("x")), 256).alias("h"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        df.explain("extended")
    assert key.hex() not in buf.getvalue().lower()
    assert "redacted" in buf.getvalue()


def test_gold_style_outputs_match_the_gold_contract(spark, keyring):
    from lakehouse.gold.schema import DIM_CITIZEN

    df = spark.createDataFrame([("ck-1", "001234567890", "0912345678", "NGUYEN VAN AN", "Nguyễn Văn An")],
                               "citizen_key string, cccd string, phone string, name_folded string, full_name string")
    out = P.protect_columns(df, keyring, pseudonymise={"cccd": "cccd", "phone": "phone",
                                                       "name_folded": ("name", "name_token")},
                            encrypt={"cccd": "cccd", "full_name": ("name", "name_enc")})
    contract = dict(f.strip().split(" ", 1) for f in DIM_CITIZEN.split(","))
    assert {c: contract[c].lower() for c in out.columns} == dict(out.dtypes)
    row = P.decrypt_columns(out, keyring, ["cccd_enc", "name_enc"]).first()
    assert (row.cccd, row.name) == ("001234567890", "Nguyễn Văn An")
    assert row.name_token == keyring.token("NGUYEN VAN AN", "name")
    with pytest.raises(ValueError, match="duplicated"):
        P.protect_columns(df, keyring, pseudonymise={"cccd": ("cccd", "x"), "phone": ("phone", "x")})
