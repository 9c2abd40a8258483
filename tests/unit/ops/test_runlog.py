"""Run log: JSON lines per stage (stderr + file), progress with ETA, summary, ops/run_log table."""

from __future__ import annotations

import io as _io
import json

import pytest

from lakehouse.ops.runlog import Progress, RunLog

KEYS = {"ts", "run_id", "job", "stage", "source", "rows", "seconds", "rows_per_s", "status", "message"}


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_stages_emit_json_lines_to_stream_and_file(tmp_path):
    stream, clock = _io.StringIO(), Clock()
    rl = RunLog("silver", run_id="R1", log_dir=str(tmp_path / "logs"), stream=stream, clock=clock, env="local")
    with rl.stage("standardise", source="id_card") as st:
        clock.t += 2.0
        st.rows = 1000
    rl.record("reconcile", rows=10, seconds=0.5, message="all reconciled")
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [x["stage"] for x in lines] == ["standardise", "reconcile"]
    assert set(lines[0]) == KEYS
    assert lines[0] | {"ts": None} == {"ts": None, "run_id": "R1", "job": "silver", "stage": "standardise",
                                       "source": "id_card", "rows": 1000, "seconds": 2.0, "rows_per_s": 500.0,
                                       "status": "ok", "message": None}
    on_disk = (tmp_path / "logs" / "silver" / "R1.jsonl").read_text().splitlines()
    assert [json.loads(x)["stage"] for x in on_disk] == ["standardise", "reconcile"]
    assert rl.log_file.endswith("logs/silver/R1.jsonl")


def test_a_failing_stage_is_recorded_and_re_raised(tmp_path):
    stream = _io.StringIO()
    rl = RunLog("gold", run_id="R2", log_dir=None, stream=stream)
    with pytest.raises(RuntimeError, match="boom"):
        with rl.stage("resolve", source="citizen"):
            raise RuntimeError("boom")
    rec = json.loads(stream.getvalue().splitlines()[-1])
    assert (rec["status"], rec["message"]) == ("failed", "RuntimeError: boom")
    assert rl.status == "failed" and rl.failed[0].stage == "resolve"
    summary = rl.summary()
    assert "FAILED resolve/citizen: RuntimeError: boom" in summary and "1 failed" in summary
    with pytest.raises(ValueError):
        rl.record("x", status="weird")


def test_progress_lines_count_and_estimate():
    stream, clock = _io.StringIO(), Clock()
    p = Progress(4, "bronze", stream=stream, clock=clock)
    clock.t += 10
    first = p.update("id_card", rows=1234)
    assert first.startswith("bronze [1/4] id_card") and "rows       1,234" in first and "ETA 30s" in first
    clock.t += 110
    assert "ETA 2m00s" in p.update("health_insurance")      # 120 s for 2 items -> 60 s each, 2 left
    clock.t += 1
    p.update("x", status="failed")
    last = p.update("y")
    assert "[4/4]" in last and last.endswith("done") and len(stream.getvalue().splitlines()) == 4
    assert Progress(3, "quiet", stream=stream, enabled=False).update("z") and len(stream.getvalue().splitlines()) == 4


def test_summary_lists_every_stage_with_rates():
    clock = Clock()
    rl = RunLog("bronze", run_id="R3", stream=_io.StringIO(), clock=clock)
    rl.record("ingest", source="id_card", rows=5000, seconds=2.0)
    rl.record("ingest", source="empty_source", rows=None, seconds=0.1, status="skipped")
    text = rl.summary()
    assert "bronze run R3:" in text
    assert any(line.startswith("ingest") and "id_card" in line and "5,000" in line and "2,500" in line
               for line in text.splitlines())
    assert "skipped" in text and "2 stage(s), 0 failed" in text


