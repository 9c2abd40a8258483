"""One run id per job run: the audit record, the run log and the rows bronze and silver write carry
the id that run_job made (tiny hand-written landing data, real Spark + Delta)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import jobs._common as C
from jobs import bronze as bronze_job
from jobs import gold as gold_job
from jobs import silver as silver_job
from lakehouse import io
from lakehouse.config import selected_sources
from lakehouse.ops.runlog import RunLog
from lakehouse.runctx import RunContext, new_run_id
from lakehouse.security import audit as AU
from tests.support import landing as L

RUN_ID = re.compile(r"^(?P<job>[a-z_]+)-\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$")


# --- the id itself (no Spark) ------------------------------------------------------------------------

def test_run_id_format_is_sortable_and_unique():
    t = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)
    rid = new_run_id("silver", t)
    assert RUN_ID.match(rid) and rid.startswith("silver-20260102T030405.678901Z-")
    later = [new_run_id("silver", t + dt.timedelta(microseconds=i)) for i in (1, 1000, 10**6, 10**9)]
    assert sorted([*later, rid]) == [rid, *later]
    assert len({new_run_id("gold") for _ in range(500)}) == 500
    assert not re.search(r"\d{9,}", rid)                    # the audit scrubber would mask 9+ digits
    assert new_run_id("a b/c").startswith("a_b_c-")          # safe in file names
    ctx = RunContext.start("bronze", t)
    assert ctx.run_id.startswith("bronze-20260102T030405.678901Z-") and ctx.started_at == t
    with pytest.raises(AttributeError):
        ctx.run_id = "x"                                      # frozen
    assert AU.new_run_id is new_run_id and RUN_ID.match(RunLog("maintain", log_dir=None).run_id)


# --- one id across the audit log, the run log and the rows -------------------------------------------

def _ids(spark, path, col="run_id", where=None):
    df = io.read_delta(spark, path)
    if where:
        df = df.where(where)
    return {r[0] for r in df.select(col).distinct().collect()}


def test_audit_run_log_and_rows_share_the_job_run_id(spark, make_cfg, monkeypatch, capsys):
    cfg = make_cfg("only=[id_card]", "silver.max_drop_rate=0.5", "ops.logs.progress=false")
    spec = next(s for s in selected_sources(cfg) if s.name == "id_card")
    L.write_file(cfg.paths.landing, spec, 0, [
        L.row(spec, "K1", full_name="Nguyễn Văn An", cccd="001085012345", birth_date="15/03/1985", sex="Nam"),
        L.row(spec, "K2", full_name="Trần Thị Hòa", cccd="079190001234", birth_date="02/02/1990", sex="Nữ"),
    ])
    monkeypatch.setattr(C, "spark_for", lambda _cfg: spark)   # the shared session, not a new builder

    C.run_job(cfg, "bronze", bronze_job.body)
    C.run_job(cfg, "silver", silver_job.body)
    with pytest.raises(SystemExit) as exit_:                   # no enterprise_records: GoldError, exit 2
        C.run_job(cfg, "gold", gold_job.body)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "gold: gold: silver/citizen_records or silver/enterprise_records is missing" in err
    assert "Traceback" not in err

    audit = {r["job"]: r for r in AU.read_audit(spark, cfg)}
    assert set(audit) == {"bronze", "silver", "gold"} and audit["gold"]["outcome"] == "failure"
    ops = cfg.paths.ops
    for job in ("bronze", "silver", "gold"):
        rid = audit[job]["run_id"]
        assert RUN_ID.match(rid).group("job") == job, rid
        assert _ids(spark, f"{ops}/run_log", where=f"job = '{job}'") == {rid}
    bronze_id, silver_id = audit["bronze"]["run_id"], audit["silver"]["run_id"]
    assert _ids(spark, f"{cfg.paths.bronze}/id_card", "_run_id") == {bronze_id}
    assert _ids(spark, f"{ops}/bronze_ingest_log") == _ids(spark, f"{ops}/bronze_reconciliation") == {bronze_id}
    assert _ids(spark, f"{cfg.paths.silver}/citizen_records", "_run_id") == {silver_id}
    assert _ids(spark, f"{ops}/silver_batches") == _ids(spark, f"{ops}/silver_reconciliation") == {silver_id}
