"""Run log: JSON lines per stage (stderr + file), progress with ETA, summary, ops/run_log table."""

from __future__ import annotations

import io as _io

import pytest

from lakehouse.ops.runlog import RUN_LOG_TABLE, RunLog


def test_from_config_and_run_log_table(spark, make_cfg, tmp_path):
    from lakehouse import io

    cfg = make_cfg()
    rl = RunLog.from_config(cfg, job="bronze", stream=_io.StringIO())
    assert rl.table_path == f"{cfg.paths.ops}/{RUN_LOG_TABLE}" and rl.env == "local"
    assert rl.log_file.startswith(str(cfg.paths.ops))
    rl.record("ingest", source="id_card", rows=3, seconds=1.5)
    with pytest.raises(KeyError):
        with rl.stage("ingest", source="broken"):
            raise KeyError("missing column")
    assert rl.write_table(spark) == 2
    rl2 = RunLog.from_config(cfg, job="silver", stream=_io.StringIO())
    rl2.record("merge", rows=7, seconds=0.7)
    rl2.write_table(spark)
    rows = io.read_delta(spark, rl.table_path).orderBy("job", "started_at").collect()
    assert [(r["job"], r["stage"], r["source"], r["rows"], r["status"]) for r in rows] == [
        ("bronze", "ingest", "id_card", 3, "ok"), ("bronze", "ingest", "broken", None, "failed"),
        ("silver", "merge", None, 7, "ok")]
    assert rows[0]["rows_per_s"] == 2.0 and rows[1]["message"].startswith("KeyError")
    assert rows[0]["ended_at"] >= rows[0]["started_at"] and {r["run_id"] for r in rows} == {rl.run_id, rl2.run_id}
