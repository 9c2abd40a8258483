"""Table maintenance on small Delta tables: discovery, OPTIMIZE / Z-order, VACUUM, statistics."""

from __future__ import annotations

from lakehouse.ops.maintain import (
    MaintainSettings,
    ZOrderRule,
    zorder_columns,
)

RULES = (ZOrderRule("bronze/_quarantine", ("source", "_source_file")), ZOrderRule("bronze/*", ("{key}",)),
         ZOrderRule("silver/_staging/*", ()), ZOrderRule("silver/*", ("record_key",)), ZOrderRule("*", ()))


def test_zorder_columns_follow_the_first_matching_rule():
    cols = ["so_phieu", "ho_ten", "_source_file"]
    assert zorder_columns("bronze/id_card", cols, RULES, key_column="so_phieu") == ("so_phieu",)
    assert zorder_columns("bronze/id_card", cols, RULES, key_column=None) == ()
    assert zorder_columns("bronze/_quarantine", ["source", "_source_file"], RULES) == ("source", "_source_file")
    assert zorder_columns("silver/_staging/id_card", ["record_key"], RULES) == ()
    assert zorder_columns("silver/citizen_records", ["source", "record_key"], RULES,
                          partition_columns=("record_key",)) == ()
    assert zorder_columns("gold/dq_scorecard", ["source"], RULES) == ()


def test_settings_from_config(make_cfg):
    s = MaintainSettings.from_config(make_cfg("ops.maintain.retention_hours=12", "ops.maintain.tables=[gold/*]",
                                              "ops.maintain.exclude=[gold/tmp_*]"))
    assert s.retention_hours == 12.0 and s.layers == ("bronze", "silver", "gold", "ops")
    assert s.selects("gold/dim_citizen") and not s.selects("bronze/id_card") and not s.selects("gold/tmp_x")
    assert s.zorder[0] == ZOrderRule("bronze/_quarantine", ("source", "_source_file"))


def _append(spark, path, rows, schema, **props):
    spark.createDataFrame(rows, schema).coalesce(1).write.format("delta").mode("append").save(path)


def _build_tables(spark, cfg):
    bronze, silver, ops = cfg.paths.bronze, cfg.paths.silver, cfg.paths.ops
    schema = "so_phieu STRING, ho_ten STRING, _source_file STRING, _source_batch INT"
    idc = f"{bronze}/id_card"
    _append(spark, idc, [("K9", "A", "f0", 0)], schema)
    spark.sql(f"ALTER TABLE delta.`{idc}` SET TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '_source_file,_source_batch')")
    for i in range(3):
        _append(spark, idc, [(f"K{j}", f"name {j}", f"f{i}", 0) for j in range(i * 3, i * 3 + 3)], schema)
    staging = f"{silver}/_staging/id_card"
    for i in range(3):
        _append(spark, staging, [(f"R{i}", i)], "record_key STRING, n INT")
    recs = f"{silver}/citizen_records"
    for i in range(2):
        (spark.createDataFrame([("id_card", f"R{i}{j}") for j in range(3)], "source STRING, record_key STRING")
         .coalesce(1).write.format("delta").mode("append").partitionBy("source").save(recs))
    log = f"{ops}/run_log"
    spark.conf.set("spark.databricks.delta.stats.collect", "false")      # files without statistics
    try:
        for i in range(2):
            _append(spark, log, [(f"run{i}", "bronze", 1.5)], "run_id STRING, job STRING, seconds DOUBLE")
    finally:
        spark.conf.set("spark.databricks.delta.stats.collect", "true")
    return idc, staging, recs, log


