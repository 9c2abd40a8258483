"""Erasure reaches Delta tables nested below a layer's top level: silver keeps its per-source staging
tables (``silver/_staging/<source>/{standardised,checked}``) when a batch fails or with
``silver.keep_staging=true``, and they hold clear identifiers like any other silver table."""

from __future__ import annotations

from pathlib import Path

from lakehouse.security import erase as E

A = {"cccd": "079123456789", "name": "Trần Thị Bích", "idc": "IDC77001"}
B = {"cccd": "001200300400", "name": "Lê Văn Cường", "idc": "IDC00002"}
NESTED = ("silver/_staging/id_card/standardised", "silver/_staging/id_card/checked")


def _where(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_erasure_reaches_nested_staging_tables(spark, make_cfg, keyring):
    cfg = make_cfg()
    root = Path(cfg.paths.root)
    codec = spark.conf.get("spark.sql.parquet.compression.codec")
    spark.conf.set("spark.sql.parquet.compression.codec", "uncompressed")   # so a byte search can see values
    try:
        rows = [("id_card", p["idc"], p["cccd"], p["name"]) for p in (A, B)]
        for name in NESTED:
            (spark.createDataFrame(rows, "source string, record_key string, cccd string, full_name string")
             .coalesce(1).write.format("delta").save(str(root / name)))
    finally:
        spark.conf.set("spark.sql.parquet.compression.codec", codec)
    for name in NESTED:
        assert _where(root / name, A["cccd"].encode()), f"test setup: A's identifier should be in {name}"

    report = E.erase(spark, cfg, [("cccd", A["cccd"])], keyring=keyring)

    for name in NESTED:
        assert report.deleted.get(name) == 1, report.summary()
        left = spark.read.format("delta").load(str(root / name)).collect()
        assert [(r.record_key, r.cccd) for r in left] == [(B["idc"], B["cccd"])]
        # after the erasure's VACUUM and log purge, no file of the table keeps A (data or statistics)
        assert _where(root / name, A["cccd"].encode()) == [], f"A's identifier is still on disk in {name}"
        assert _where(root / name, A["name"].encode()) == []
        assert _where(root / name, B["cccd"].encode()), f"B was lost from {name}"
    assert set(NESTED) <= set(report.vacuumed)
