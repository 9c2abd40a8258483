"""Right to erasure: one person leaves every layer, old file versions and log history included."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from lakehouse.security import erase as E
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


def test_identifiers_come_from_stdin_or_a_file_never_argv(tmp_path):
    assert E.read_identifiers(io.StringIO("cccd:079 123 456 789\n# x\ncmnd:123456789\n")) == \
        [("cccd", "079123456789"), ("cmnd", "123456789")]
    f = tmp_path / "request.txt"
    f.write_text("079123456789\n")
    assert E.read_identifiers(f) == [("cccd", "079123456789")]
    with pytest.raises(E.ErasureError, match=r"line 2: not a valid cccd") as err:
        E.read_identifiers(io.StringIO("079123456789\n07912345\n"))
    assert "07912345" not in str(err.value)
    with pytest.raises(E.ErasureError, match="kind 'phone' is not accepted"):
        E.read_identifiers(io.StringIO("phone:0912345678\n"))
    assert E.main(["079123456789"]) == 2  # refused before anything runs
