"""End-to-end generation at a tiny scale: formats read back, truth, fault-rate floors, determinism,
the database source on SQLite (and PostgreSQL when available), incremental batches."""

from __future__ import annotations

import glob
import hashlib

import pytest
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.config import selected_sources
from lakehouse.simulate.runner import generate

SCALE = "scale=0.0003"


def _digest(paths):
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(open(p, "rb").read())
    return h.hexdigest()


def test_generation_is_deterministic(spark, make_cfg, tmp_path):
    digests = []
    for run in ("a", "b"):
        cfg = make_cfg(SCALE, "only=[id_card,health_insurance]", root=tmp_path / run)
        generate(spark, cfg, log=lambda *_: None)
        digests.append(_digest(glob.glob(f"{cfg.paths.landing}/*/batch-00000/*")))
    assert digests[0] == digests[1]
    other = make_cfg(SCALE, "only=[id_card]", "seed=43", root=tmp_path / "c")
    generate(spark, other, log=lambda *_: None)
    assert _digest(glob.glob(f"{other.paths.landing}/id_card/batch-00000/*")) != \
        _digest(glob.glob(f"{tmp_path}/a/landing/id_card/batch-00000/*"))


def test_incremental_batch_has_inserts_updates_deletes_and_schema_change(spark, make_cfg):
    cfg = make_cfg(SCALE, "only=[enterprise_tax,health_insurance]")
    generate(spark, cfg, log=lambda *_: None)
    cfg1 = make_cfg(SCALE, "only=[enterprise_tax,health_insurance]", "batch=1")
    generate(spark, cfg1, log=lambda *_: None)
    ops = {r[0] for r in spark.read.parquet(f"{cfg.paths.truth}/health_insurance/batch-00001").select("op").collect()}
    assert ops == {"I", "U", "D"}
    header0 = open(io.landing_files(cfg.paths.landing, "enterprise_tax", 0)[0]).readline().strip().split(",")
    header1 = open(io.landing_files(cfg.paths.landing, "enterprise_tax", 1)[0]).readline().strip().split(",")
    assert "so_ngay_nop_cham" in header1 and "so_ngay_nop_cham" not in header0
    hi = spark.read.json(io.landing_files(cfg.paths.landing, "health_insurance", 1))
    assert "email" in hi.select("chu_the.*").columns


@pytest.mark.postgres
def test_database_source_on_postgres(spark, make_cfg):
    cfg = make_cfg(SCALE, "only=[social_insurance]", "database.kind=postgres")
    generate(spark, cfg, log=lambda *_: None)
    spec = selected_sources(cfg)[0]
    db = io.Database.from_config(cfg.database)
    df = io.read_database(spark, spec, db, bounds=(0, 10_000))
    truth = spark.read.parquet(f"{cfg.paths.truth}/social_insurance/batch-00000").count()
    assert df.count() == truth
    cfg1 = make_cfg(SCALE, "only=[social_insurance]", "database.kind=postgres", "batch=1")
    generate(spark, cfg1, log=lambda *_: None)
    after = io.read_database(spark, spec, db)
    assert after.where(F.col(spec.op) == "D").count() > 0
    assert after.count() > truth


