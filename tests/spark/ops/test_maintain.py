"""Table maintenance on small Delta tables: discovery, OPTIMIZE / Z-order, VACUUM, statistics."""

from __future__ import annotations

from delta.tables import DeltaTable

from lakehouse.ops import storage
from lakehouse.ops.maintain import (
    run_maintenance,
    summary_table,
)


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


def test_maintenance_compacts_zorders_vacuums_and_computes_statistics(spark, make_cfg, tmp_path):
    cfg = make_cfg("ops.maintain.retention_hours=0")
    idc, staging, recs, log = _build_tables(spark, cfg)
    found = [t.qualified_name for t in storage.find_delta_tables(spark, "silver", cfg.paths.silver)]
    assert found == ["silver/_staging/id_card", "silver/citizen_records"]

    lines = []
    reports = {r.table: r for r in run_maintenance(spark, cfg, log=lines.append)}
    assert set(reports) == {"bronze/id_card", "silver/_staging/id_card", "silver/citizen_records", "ops/run_log"}
    assert all(r.status == "ok" for r in reports.values()), summary_table(list(reports.values()))

    b = reports["bronze/id_card"]
    assert (b.files_before, b.files_after, b.optimized, b.zorder) == (4, 1, "zorder", ("so_phieu",))
    assert "statistics columns += so_phieu" in b.message
    assert b.stored_files_before == 4 and b.stored_files_after == 1 and b.vacuumed_files == 4
    props = spark.sql(f"DESCRIBE DETAIL delta.`{idc}`").first()["properties"]
    assert props["delta.dataSkippingStatsColumns"] == "_source_file,_source_batch,so_phieu"
    hist = DeltaTable.forPath(spark, idc).history().select("operation", "operationParameters").collect()
    assert any(h["operation"] == "OPTIMIZE" and "so_phieu" in h["operationParameters"]["zOrderBy"] for h in hist)
    assert spark.read.format("delta").load(idc).count() == 10

    s = reports["silver/_staging/id_card"]
    assert (s.files_before, s.files_after, s.optimized, s.zorder) == (3, 1, "compaction", ())
    c = reports["silver/citizen_records"]
    assert c.zorder == ("record_key",) and c.files_after == 1      # one partition, Z-ordered inside it

    r = reports["ops/run_log"]
    assert r.optimized == "compaction" and "delta stats" in r.stats
    # compaction rewrote the files with statistics already, so nothing was left to recompute
    assert r.stats.endswith("delta stats complete (1 files)")
    table = summary_table(list(reports.values()))
    assert "bronze/id_card" in table and "4->1" in table and "4 table(s), 0 failed" in table
    assert lines[0].startswith("maintain: 4 Delta table(s)")

    # Again, with nothing written in between: Z-order is not incremental, so it is not redone.
    again = make_cfg("ops.maintain.tables=[bronze/id_card]", "ops.maintain.vacuum=false", "ops.maintain.stats=false",
                     root=tmp_path / "data")
    [rep] = run_maintenance(spark, again, log=lambda *_: None)
    assert (rep.optimized, rep.files_before, rep.files_after) == ("up to date", 1, 1)
    assert [h["operation"] for h in DeltaTable.forPath(spark, idc).history().collect()].count("OPTIMIZE") == 1


def test_statistics_are_recomputed_for_files_without_them(spark, make_cfg):
    cfg = make_cfg("ops.maintain.optimize=false", "ops.maintain.vacuum=false")
    path = f"{cfg.paths.gold}/fct_x"
    spark.conf.set("spark.databricks.delta.stats.collect", "false")
    try:
        _append(spark, path, [("a", 1)], "k STRING, v INT")
    finally:
        spark.conf.set("spark.databricks.delta.stats.collect", "true")
    _append(spark, path, [("b", 2)], "k STRING, v INT")
    [rep] = run_maintenance(spark, cfg, log=lambda *_: None)
    assert rep.optimized == "-" and rep.vacuumed_files == 0
    assert "delta stats recomputed (1/2 files lacked them)" in rep.stats
    ops = [h["operation"] for h in DeltaTable.forPath(spark, path).history().collect()]
    assert ops[0] == "COMPUTE STATS"
    from lakehouse.ops.maintain import files_without_stats
    assert files_without_stats(spark, path) == (0, 2)


def test_default_retention_keeps_old_files_and_a_failure_is_reported(spark, make_cfg, tmp_path):
    cfg = make_cfg()
    path = f"{cfg.paths.gold}/dq_scorecard"
    for i in range(3):
        _append(spark, path, [(f"r{i}", "id_card", "dung", 90.0)], "run_id STRING, source STRING, criterion STRING, score DOUBLE")
    broken = tmp_path / "data" / "gold" / "broken" / "_delta_log"
    broken.mkdir(parents=True)
    (broken / "00000000000000000000.json").write_text("not json\n")
    reports = {r.table: r for r in run_maintenance(spark, cfg, log=lambda *_: None)}
    ok = reports["gold/dq_scorecard"]
    assert (ok.status, ok.files_before, ok.files_after, ok.vacuumed_files) == ("ok", 3, 1, 0)
    assert ok.stored_files_after == 4          # removed files stay until the 168 h retention has passed
    assert reports["gold/broken"].status == "failed" and reports["gold/broken"].message
