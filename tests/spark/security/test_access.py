"""Role-based reads: masks, denials, row filters, decryption for stewards, views, audit records."""

from __future__ import annotations

import datetime as dt

import pytest

from lakehouse.security import access as A
from lakehouse.security.audit import read_audit
from lakehouse.security.keys import load_keyring
from lakehouse.security.protect import protect_columns

PEOPLE = [
    ("ck-1", "001234567890", "NGUYEN VAN AN", dt.date(1990, 5, 17), "01"),
    ("ck-2", "079123456789", "TRAN THI BICH", dt.date(1985, 11, 2), "79"),
    ("ck-3", "001099887766", "LE VAN CUONG", dt.date(2001, 1, 30), "01"),
]


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """A tiny gold + silver + ops lake under a temporary root, protected with the run's keyring."""
    from lakehouse.config import compose
    from tests.conftest import TINY_SPARK

    root = tmp_path_factory.mktemp("access") / "data"
    cfg = compose([*TINY_SPARK, f"paths.root={root}"])
    ring = load_keyring(cfg)
    clear = spark.createDataFrame(PEOPLE, "citizen_key string, cccd string, name string, birth_date date, "
                                          "province_code string")
    gold = protect_columns(clear, ring, pseudonymise={"cccd": "cccd", "name": "name"}, encrypt=["cccd", "name"])
    gold.write.format("delta").save(f"{root}/gold/dim_citizen")
    clear.select("citizen_key", "cccd").write.format("delta").save(f"{root}/silver/citizen_records")
    spark.createDataFrame([("id_card", "r1", "ck-1")], "source string, record_key string, citizen_key string") \
        .write.format("delta").save(f"{root}/gold/xref_citizen")
    return cfg


def _audits(spark, cfg, action):
    return [r for r in read_audit(spark, cfg) if r["action"] == action]


def test_analyst_sees_tokens_not_ciphertext_and_years_not_dates(spark, lake):
    df = A.read_table(spark, lake, "gold/dim_citizen", role="analyst", principal="someone")
    assert set(df.columns) == {"citizen_key", "birth_date", "province_code", "cccd_token", "name_token"}
    rows = {r.citizen_key: r for r in df.collect()}
    assert rows["ck-1"].birth_date == dt.date(1990, 1, 1)
    assert len(rows["ck-1"].cccd_token) == 64


def test_denied_column_and_table_name_role_table_and_rule_and_are_audited(spark, lake):
    with pytest.raises(A.AccessDenied, match=r"role 'analyst'.*column 'cccd_enc' of table 'gold/dim_citizen'.*"
                                             r"deny_columns '\*_enc'"):
        A.read_table(spark, lake, "gold/dim_citizen", role="analyst", principal="someone", columns=["cccd_enc"])
    with pytest.raises(A.AccessDenied, match=r"role 'data_scientist'.*table 'silver/citizen_records'.*deny_tables"):
        A.read_table(spark, lake, "silver.citizen_records", role="data_scientist", principal="someone")
    with pytest.raises(A.AccessDenied, match="requires a principal declared"):
        A.read_table(spark, lake, "gold/dim_citizen", role="steward", principal="someone")
    denied = _audits(spark, lake, "denied")
    targets = {(r["role"], r["target"], r["outcome"]) for r in denied}
    assert {("analyst", "gold/dim_citizen", "denied"), ("data_scientist", "silver/citizen_records", "denied"),
            ("steward", "gold/dim_citizen", "denied")} <= targets
    col = next(r for r in denied if r["detail"].get("column") == "cccd_enc")
    assert col["principal"] == "someone" and col["detail"]["rule"] == "deny_columns '*_enc'" and col["user"]


def test_provincial_analyst_sees_only_their_province(spark, lake):
    df = A.read_table(spark, lake, "gold/dim_citizen", role="provincial_analyst", principal="hanoi_analyst")
    assert sorted(r.citizen_key for r in df.collect()) == ["ck-1", "ck-3"]
    with pytest.raises(A.AccessDenied, match="principal 'hanoi_analyst' may take roles"):
        A.read_table(spark, lake, "gold/dim_citizen", role="steward", principal="hanoi_analyst")


def test_row_filter_fails_closed_without_the_principal_attribute(spark, make_cfg, lake):
    from lakehouse.config import compose
    from tests.conftest import TINY_SPARK

    cfg = compose([*TINY_SPARK, f"paths.root={lake.paths.root}",
                   "+security.principals.nowhere={roles:[provincial_analyst]}"])
    with pytest.raises(A.AccessDenied, match="needs principal attribute 'province_code'"):
        A.read_table(spark, cfg, "gold/dim_citizen", principal="nowhere")


def test_steward_reads_decrypted_values_and_the_read_is_audited(spark, lake):
    df = A.read_table(spark, lake, "gold/dim_citizen", role="steward", principal="data_steward")
    assert {"cccd", "name"} <= set(df.columns) and not [c for c in df.columns if c.endswith("_enc")]
    assert sorted((r.citizen_key, r.cccd, r.name) for r in df.collect()) == \
        sorted((p[0], p[1], p[2]) for p in PEOPLE)
    reads = [r for r in _audits(spark, lake, "read") if r["role"] == "steward"]
    assert reads and reads[-1]["detail"]["decrypted"] == "cccd_enc,name_enc"
    assert reads[-1]["tables_read"][0]["table"] == "gold/dim_citizen"
    assert reads[-1]["tables_read"][0]["version"] == 0


def test_auditor_reads_the_audit_log_but_no_personal_data(spark, lake):
    A.read_table(spark, lake, "gold/dim_citizen", role="analyst", principal="someone", columns=["citizen_key"])
    log = A.read_table(spark, lake, "ops/audit_log", role="auditor", principal="compliance_auditor")
    assert log.count() >= 1
    with pytest.raises(A.AccessDenied):
        A.read_table(spark, lake, "gold/dim_citizen", role="auditor", principal="compliance_auditor")


def test_role_views_apply_the_same_policy(spark, lake):
    views = A.create_role_views(spark, lake, role="analyst", principal="someone")
    assert "gold_dim_citizen" in views and "silver_citizen_records" not in views and "gold_xref_citizen" not in views
    cols = spark.sql("SELECT * FROM gold_dim_citizen").columns
    assert not [c for c in cols if c.endswith("_enc")]
