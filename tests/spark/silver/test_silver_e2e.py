"""Silver end to end on hand-written landing data: bronze -> silver with real Spark and Delta."""

from __future__ import annotations

import os
import unicodedata

import pytest
from omegaconf import OmegaConf
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.bronze import run_bronze
from lakehouse.config import ConfigError, selected_sources
from lakehouse.silver import model as M
from lakehouse.silver.runner import SilverError, run_silver
from tests.support import landing as L

ONLY = "only=[id_card]"
LENIENT = "silver.max_drop_rate=0.5"


def quiet(*_):
    pass


def spec_of(cfg, name):
    return next(s for s in selected_sources(cfg) if s.name == name)


def batch0(spec):
    an = dict(full_name="NGUYỄN VĂN AN", cccd="001085012345", birth_date="15/03/1985", sex="Nam",
              address="12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, TP. Hà Nội")
    return [
        L.row(spec, "K1", **an),
        L.row(spec, "K2", full_name=unicodedata.normalize("NFD", "Trần Thị Hoà"), cccd="79190001234",
            birth_date="00/00/1990", sex="Nữ"),
        L.row(spec, "K1", **an),                                                   # exact duplicate
        L.row(spec, "K4", full_name="", cccd="001085099999", birth_date="01/02/1985", sex="Nam"),
        L.row(spec, "K5", full_name="Lê Văn Bình", cccd="001085011111", birth_date="31/02/1985", sex="Nam"),
        L.row(spec, "K6", full_name="Phạm Thị Cúc", birth_date="02/02/1980", sex="Nữ",
            **{spec.updated_at: "2025-11-01 08:00:00"}),
        L.row(spec, "K6", full_name="Phạm Thị Cúc", birth_date="02/02/1981", sex="Nữ",
            **{spec.updated_at: "2025-11-02 08:00:00"}),                         # later: wins
        L.row(spec, "K7", full_name="Hoàng Văn Dũng", cccd="012345678", birth_date="1970", sex="Nam"),
    ]


def current(spark, cfg, table="citizen_records"):
    return {r["record_key"]: r for r in io.read_delta(spark, f"{cfg.paths.silver}/{table}")
            .where("is_current").collect()}


def snapshot(spark, cfg):
    df = io.read_delta(spark, f"{cfg.paths.silver}/citizen_records").drop("_run_id")
    return sorted(tuple(str(v) for v in r) for r in df.collect())


def test_silver_standardises_quarantines_merges_history_and_reconciles(spark, make_cfg):
    cfg = make_cfg(ONLY, LENIENT)
    spec = spec_of(cfg, "id_card")
    L.write_file(cfg.paths.landing, spec, 0, batch0(spec))
    run_bronze(spark, cfg, log=quiet)
    result = run_silver(spark, cfg, log=quiet)
    b = result.batches[0]
    assert (b.bronze_rows, b.accepted, b.quarantined) == (8, 5, 3)
    assert not os.path.exists(f"{cfg.paths.silver}/_staging/id_card")   # applied: staging removed

    cur = current(spark, cfg)
    assert set(cur) == {"K1", "K2", "K5", "K6", "K7"}
    k1, k2, k5, k6, k7 = (cur[k] for k in ("K1", "K2", "K5", "K6", "K7"))
    assert (k1["full_name"], k1["name_folded"], k1["sex"], k1["cccd"]) == \
        ("Nguyễn Văn An", "NGUYEN VAN AN", "M", "001085012345")
    assert str(k1["birth_date"]) == "1985-03-15" and k1["birth_date_precision"] == "day"
    assert k1["province_code"] is not None and k1["address_text"].startswith("12 Lý Thường Kiệt, Phường Hàng Bài")
    assert k2["full_name"] == "Trần Thị Hòa" and k2["cccd"] == "079190001234" and k2["sex"] == "F"
    assert k2["birth_date_precision"] == "year"
    assert k5["birth_date"] is None and "dung.birth_date_invalid" in k5["dq_flags"]
    assert str(k6["birth_date"]) == "1981-02-02"
    assert k7["cccd"] is None and k7["cmnd"] == "012345678" and "du.no_identifier" not in k7["dq_flags"]
    assert all(r["is_current"] and not r["is_deleted"] and r["valid_to"] is None for r in cur.values())

    q = {(r["record_key"], r["rule_id"]) for r in io.read_delta(spark, f"{cfg.paths.silver}/_quarantine").collect()}
    assert q == {("K1", "sach.exact_duplicate"), ("K4", "du.name_missing"), ("K6", "sach.key_conflict")}
    qrow = io.read_delta(spark, f"{cfg.paths.silver}/_quarantine").where("record_key = 'K4'").first()
    assert qrow["reason"] == "the person's name is empty" and qrow["_source_file"].endswith(".csv")

    metrics = {r["rule_id"]: r["violations"] for r in io.read_delta(spark, f"{cfg.paths.ops}/silver_rule_metrics")
               .where(f"run_id = '{result.run_id}'").collect()}
    assert metrics["dung.birth_date_invalid"] == 1 and metrics["sach.exact_duplicate"] == 1
    assert metrics["du.name_missing"] == 1 and metrics["dung.cccd_invalid"] == 0

    facts = {r["record_key"]: r for r in io.read_delta(spark, f"{cfg.paths.silver}/fact_id_cards").collect()}
    assert set(facts) == set(cur)

    # Every bronze row is in silver (same raw record) or in quarantine (same file and position).
    bronze = io.read_delta(spark, f"{cfg.paths.bronze}/id_card")
    silver = io.read_delta(spark, f"{cfg.paths.silver}/citizen_records").select("record_key", "_record_hash")
    quar = io.read_delta(spark, f"{cfg.paths.silver}/_quarantine").select("_source_file", "_source_position")
    lost = (bronze.select(F.col("so_phieu").alias("record_key"), "_record_hash", "_source_file", "_source_position")
            .join(silver, ["record_key", "_record_hash"], "left_anti")
            .join(quar, ["_source_file", "_source_position"], "left_anti"))
    assert lost.count() == 0
    recon = io.read_delta(spark, f"{cfg.paths.ops}/silver_reconciliation").collect()
    assert all(r["reconciled"] for r in recon)

    # Batch 1: K1 moves (new version), K2 deleted (soft), K5 re-sent unchanged.
    moved = L.row(spec, "K1", full_name="Nguyễn Văn An", cccd="001085012345", birth_date="15/03/1985", sex="Nam",
                address="5 Nguyễn Huệ, Phường Bến Nghé, Quận 1, TP.HCM",
                **{spec.op: "U", spec.updated_at: "2026-01-05 09:00:00"})
    gone = L.row(spec, "K2", **{spec.op: "D", spec.updated_at: "2026-01-06 09:00:00"})
    same = batch0(spec)[4]
    L.write_file(cfg.paths.landing, spec, 1, [moved, gone, same])
    run_bronze(spark, cfg, log=quiet)
    r1 = run_silver(spark, cfg, log=quiet).batches[0]
    assert (r1.bronze_rows, r1.accepted, r1.quarantined, r1.inserted, r1.closed, r1.unchanged) == (3, 3, 0, 2, 2, 1)
    hist = io.read_delta(spark, f"{cfg.paths.silver}/citizen_records")
    k1v = hist.where("record_key = 'K1'").orderBy("valid_from").collect()
    assert len(k1v) == 2 and not k1v[0]["is_current"] and k1v[1]["is_current"]
    assert k1v[0]["valid_to"] == k1v[1]["valid_from"]
    assert k1v[1]["province_code"] != k1v[0]["province_code"]
    k2v = hist.where("record_key = 'K2'").orderBy("valid_from").collect()
    assert len(k2v) == 2 and k2v[1]["is_deleted"] and k2v[1]["delete_reason"] == "deleted_in_source"
    assert hist.where("record_key = 'K5'").count() == 1

    # Re-running changes nothing, even when every batch is applied again.
    before = snapshot(spark, cfg)
    assert run_silver(spark, cfg, log=quiet).batches == []
    again = run_silver(spark, make_cfg(ONLY, LENIENT, "silver.reprocess=true"), log=quiet)
    assert [b.inserted for b in again.batches] == [0, 0]
    assert snapshot(spark, cfg) == before


def test_fail_rule_stops_with_file_row_and_rule(spark, make_cfg):
    cfg = make_cfg(ONLY, LENIENT)
    spec = spec_of(cfg, "id_card")
    L.write_file(cfg.paths.landing, spec, 0, batch0(spec))
    run_bronze(spark, cfg, log=quiet)
    OmegaConf.update(cfg, "sources.id_card.silver.rule_actions", {"dung.birth_date_invalid": "fail"}, force_add=True)
    with pytest.raises(SilverError) as err:
        run_silver(spark, cfg, log=quiet)
    msg = str(err.value)
    assert "dung.birth_date_invalid" in msg and ".csv row 6" in msg and "K5" in msg
    assert not io.delta_exists(spark, f"{cfg.paths.silver}/citizen_records")
    assert io.delta_exists(spark, f"{cfg.paths.silver}/_staging/id_card/checked")   # kept for inspection


def test_drop_rate_threshold_stops_the_job(spark, make_cfg):
    cfg = make_cfg(ONLY, "silver.max_drop_rate=0.1")
    spec = spec_of(cfg, "id_card")
    L.write_file(cfg.paths.landing, spec, 0, batch0(spec))
    run_bronze(spark, cfg, log=quiet)
    with pytest.raises(SilverError, match="max_drop_rate"):
        run_silver(spark, cfg, log=quiet)


def test_unknown_rule_column_is_a_config_error(spark, make_cfg):
    cfg = make_cfg(ONLY)
    spec = spec_of(cfg, "id_card")
    df = spark.createDataFrame([("K1", "I")], "record_key string, op string").withColumn("_table", F.lit("citizen"))
    rule = M.Rule("x.typo", "du", "any", "warn", "cccd_reasn IS NULL", "typo")
    with pytest.raises(ConfigError, match="silver.rules 'x.typo'"):
        M.with_rules(df, [rule], M.silver_spec(spec), M.known_rule_columns([M.silver_spec(spec)]))
    # A known column this source lacks reads as NULL.
    ok = M.Rule("song.x", "song", "any", "warn", "life_status = 'alive'", "r")
    out = M.with_rules(df, [ok], M.silver_spec(spec), M.known_rule_columns(
        [M.silver_spec(s) for s in selected_sources(make_cfg())]))
    assert out.first()["dq_flags"] == []
