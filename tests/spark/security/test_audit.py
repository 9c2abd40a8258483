"""The audit log: job records (success and failure), no identifiers, append-only."""

from __future__ import annotations

import pytest

from lakehouse.security import audit as AU


def test_audited_run_records_success_and_failure(spark, make_cfg):
    cfg = make_cfg()
    root = cfg.paths.root
    spark.createDataFrame([(1,)], "x int").write.format("delta").save(f"{root}/silver/t")
    with AU.audited_run(spark, cfg, job="silver", principal="etl") as run:
        run.read("silver/t")
        spark.createDataFrame([(2,)], "x int").write.format("delta").mode("append").save(f"{root}/silver/t")
        run.wrote("silver/t", rows=1)
        run.count("rows_in", 1)
    with pytest.raises(ValueError):
        with AU.audited_run(spark, cfg, job="gold") as run:
            run.read("silver/t", version=0)
            raise ValueError("bad CCCD '079123456789' for 079123456789 with key=abc")
    rows = sorted(AU.read_audit(spark, cfg), key=lambda r: r["at"])
    ok, bad = rows
    assert (ok["action"], ok["job"], ok["outcome"], ok["principal"]) == ("job_run", "silver", "success", "etl")
    assert ok["tables_read"][0].asDict() == {"table": "silver/t", "version": 0}
    assert ok["tables_written"][0].asDict() == {"table": "silver/t", "version": 1, "rows": 1}
    assert ok["counts"] == {"rows_in": 1} and ok["duration_s"] > 0 and ok["user"] and ok["run_id"].startswith("silver-")
    assert (bad["job"], bad["outcome"]) == ("gold", "failure")
    assert bad["error"].startswith("ValueError") and "079123456789" not in bad["error"] and "abc" not in bad["error"]


def test_audit_log_is_append_only(spark, make_cfg):
    cfg = make_cfg()
    AU.write_audit(spark, cfg, action="read", outcome="success", target="gold/x")
    path = AU.audit_path(cfg)
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}
    assert props["delta.appendOnly"] == "true"
    for statement in (f"UPDATE delta.`{path}` SET outcome = 'x'", f"DELETE FROM delta.`{path}`"):
        with pytest.raises(Exception, match="(?i)append"):
            spark.sql(statement)
    assert len(AU.read_audit(spark, cfg)) == 1


