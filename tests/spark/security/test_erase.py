"""Right to erasure: one person leaves every layer, old file versions and log history included."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from lakehouse.security import erase as E
from lakehouse.security.audit import read_audit
from lakehouse.security.keys import load_keyring
from lakehouse.security.protect import protect_columns

A = {"cccd": "079123456789", "name": "Trần Thị Bích", "key": "ck-a7f3c9e1", "idc": "IDC77001", "si": "SI-55501",
     "bhxh": "3344556677", "quarantined": "IDC77003"}
B = {"cccd": "001200300400", "name": "Lê Văn Cường", "key": "ck-b20d4e88", "idc": "IDC00002", "si": "SI-55502"}


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _where(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in _files(root) if needle in p.read_bytes()]


def _save(df, path, mode="append"):
    df.write.format("delta").mode(mode).save(str(path))


@pytest.fixture
def lake(spark, make_cfg, tmp_path):
    cfg = make_cfg()
    root = Path(cfg.paths.root)
    ring = load_keyring(cfg)
    codec = spark.conf.get("spark.sql.parquet.compression.codec")
    spark.conf.set("spark.sql.parquet.compression.codec", "uncompressed")  # so a byte search can see values
    try:
        idc = "so_phieu string, so_can_cuoc string, so_cmnd_cu string, ho_ten string, _source_file string"
        _save(spark.createDataFrame([(A["idc"], "079 123 456 789", None, A["name"], "f0"),
                                     (B["idc"], B["cccd"], None, B["name"], "f0")], idc), root / "bronze/id_card")
        _save(spark.createDataFrame([(A["idc"], "79123456789", None, A["name"], "f1")], idc), root / "bronze/id_card")
        _save(spark.createDataFrame([(A["si"], A["bhxh"], None, A["name"]), (B["si"], "1122334455", B["cccd"], B["name"])],
                                    "id string, ma_so_bhxh string, so_cccd string, ho_ten string"),
              root / "bronze/social_insurance")
        _save(spark.createDataFrame([("id_card", 3, f"{A['quarantined']};079.123.456.789;{A['name']};31/02/1990", "bad_date"),
                                     ("id_card", 4, f"IDC00004;{B['cccd']};{B['name']};x", "bad_date")],
                                    "source string, _source_position long, raw_record string, reason string"),
              root / "bronze/_quarantine")
        silver = spark.createDataFrame([("id_card", A["idc"], A["cccd"], A["name"]), ("social_insurance", A["si"], None, A["name"]),
                                        ("id_card", B["idc"], B["cccd"], B["name"]), ("social_insurance", B["si"], B["cccd"], B["name"])],
                                       "source string, record_key string, cccd string, full_name string")
        _save(silver, root / "silver/citizen_records")
        _save(spark.createDataFrame([("id_card", A["idc"], A["key"], "cccd", 1.0),
                                     ("social_insurance", A["si"], A["key"], "probabilistic", 0.97),
                                     ("id_card", B["idc"], B["key"], "cccd", 1.0),
                                     ("social_insurance", B["si"], B["key"], "cccd", 1.0)],
                                    "source string, record_key string, citizen_key string, match_method string, "
                                    "match_probability double"), root / "gold/xref_citizen")
        people = spark.createDataFrame([(A["key"], A["cccd"], A["name"], "79"), (B["key"], B["cccd"], B["name"], "01")],
                                       "citizen_key string, cccd string, name string, province_code string")
        _save(protect_columns(people, ring, pseudonymise={"cccd": "cccd", "name": "name"}, encrypt=["cccd", "name"]),
              root / "gold/dim_citizen")
        _save(spark.createDataFrame([("E1", "Công ty Bích", A["key"]), ("E2", "Công ty Cường", B["key"])],
                                    "enterprise_key string, enterprise_name string, owner_citizen_key string"),
              root / "gold/dim_enterprise")
        _save(spark.createDataFrame([("01", 1), ("79", 1)], "province_code string, people long"),
              root / "gold/agg_province")
    finally:
        spark.conf.set("spark.sql.parquet.compression.codec", codec)
    return cfg, root, ring


def _needles(person: dict, ring) -> dict[str, bytes]:
    out = {k: v.encode() for k, v in person.items()}
    out["cccd_token"] = ring.token(person["cccd"], "cccd").encode()
    return out



def test_erasure_removes_every_trace_including_old_versions(spark, lake):
    cfg, root, ring = lake
    a, b = _needles(A, ring), _needles(B, ring)
    for what, needle in a.items():
        assert _where(root, needle), f"test setup: {what} of A should be on disk before erasure"
    assert any("_delta_log" in f for f in _where(root, b"079 123 456 789"))  # statistics in the log

    dry = E.run_erasure(spark, cfg, io.StringIO("079123456789\n"), dry_run=True)
    assert dry.deleted["silver/citizen_records"] == 2 and dry.nullified["gold/dim_enterprise"] == 1
    assert _where(root, A["cccd"].encode())

    request = io.StringIO("# erasure request 2026-01\ncccd: 079.123.456.789\n\n")
    report = E.run_erasure(spark, cfg, request, log=print)

    assert report.identifiers == 1 and report.citizen_keys == 1 and report.source_records == 2
    assert report.deleted["bronze/id_card"] == 2 and report.deleted["bronze/social_insurance"] == 1
    assert report.deleted["bronze/_quarantine"] == 1 and report.deleted["silver/citizen_records"] == 2
    assert report.deleted["gold/xref_citizen"] == 2 and report.deleted["gold/dim_citizen"] == 1
    assert report.nullified["gold/dim_enterprise"] == 1
    assert "gold/agg_province" not in report.deleted  # nothing personal to match there
    for what, needle in a.items():
        assert _where(root, needle) == [], f"{what} of A is still on disk"
    for what, needle in b.items():
        assert _where(root, needle), f"{what} of B was lost"
    assert "079123456789" not in report.summary() and A["key"] not in report.summary()

    def rows(t):
        return spark.read.format("delta").load(str(root / t)).collect()

    assert [r.so_phieu for r in rows("bronze/id_card")] == [B["idc"]]
    assert sorted((r.enterprise_key, r.owner_citizen_key) for r in rows("gold/dim_enterprise")) == \
        [("E1", None), ("E2", B["key"])]
    with pytest.raises(Exception):  # history before the erasure is gone
        spark.read.format("delta").option("versionAsOf", 0).load(str(root / "bronze/id_card")).collect()
    audit = sorted((r for r in read_audit(spark, cfg) if r["action"] == "erase"), key=lambda r: r["at"])
    assert [r["detail"]["dry_run"] for r in audit] == ["true", "false"]
    audit = audit[1:]
    assert audit[0]["outcome"] == "success" and audit[0]["counts"]["rows"] == 10 and audit[0]["detail"]["request_id"] == report.request_id
    written = {w["table"] for w in audit[0]["tables_written"]}
    assert {"bronze/id_card", "silver/citizen_records", "gold/dim_citizen"} <= written


