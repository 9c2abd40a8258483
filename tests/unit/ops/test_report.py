"""The ops report: a self-contained offline HTML file from small synthetic ops tables."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pandas as pd

from lakehouse.ops.report import (
    TABLES,
    bar_chart,
    line_chart,
    render_report,
    run_order,
)

RUNS = ["20260101T010000-aaaaaaaa", "20260108T010000-bbbbbbbb", "20260115T010000-cccccccc"]
SOURCES = ["id_card", "health_insurance", "social_insurance"]


def _t(i):
    return dt.datetime(2026, 1, 1 + 7 * i, 1, 0)


def frames():
    bronze = pd.DataFrame([
        {"run_id": r, "source": s, "files": 2, "landing_records": 1000 + i, "bronze_rows": 990 + i,
         "quarantined_records": 8, "duplicate_records": 2, "difference": 0, "reconciled": True,
         "error_rate": 8 / (1000 + i), "checked_at": _t(i)}
        for i, r in enumerate(RUNS) for s in SOURCES])
    rules = pd.DataFrame([
        {"run_id": r, "source": s, "batch": i, "rule_id": f"{c}.rule{k}", "criterion": c, "action": "warn",
         "violations": 10 * (k + 1) + i, "rows": 990, "measured_at": _t(i)}
        for i, r in enumerate(RUNS) for s in SOURCES for c in ("dung", "du", "sach", "song") for k in range(2)])
    srecon = pd.DataFrame([
        {"run_id": r, "source": s, "batch": i, "bronze_rows": 990, "silver_rows": 980, "quarantined": 10,
         "difference": 0, "reconciled": True, "checked_at": _t(i)} for i, r in enumerate(RUNS) for s in SOURCES])
    score = pd.DataFrame([
        {"run_id": r, "run_at": _t(i), "source": s, "criterion": c, "score": 60.0 + 10 * j + i,
         "rules": ["x"], "rows": 990, "violations": 5}
        for i, r in enumerate(RUNS) for s in SOURCES for j, c in enumerate(("dung", "du", "sach", "song", "overall"))])
    er = pd.DataFrame([
        {"run_id": r, "entity": e, "pairwise_precision": 0.99, "pairwise_recall": 0.9 + 0.01 * i,
         "pairwise_f1": 0.94 + 0.01 * i, "bcubed_precision": 0.98, "bcubed_recall": 0.95, "bcubed_f1": 0.965,
         "wrong_merges": 3, "wrong_splits": 12 - i} for i, r in enumerate(RUNS) for e in ("citizen", "enterprise")])
    runlog = pd.DataFrame([
        {"run_id": r, "job": j, "stage": st, "source": s, "started_at": _t(i), "ended_at": _t(i),
         "seconds": 12.5 + k, "rows": 1000, "rows_per_s": 80.0, "status": "ok", "message": None, "env": "local"}
        for i, r in enumerate(RUNS) for j in ("bronze", "silver") for k, (st, s) in
        enumerate([("ingest", "id_card"), ("ingest", "social_insurance"), ("reconcile", None)])])
    return {"run_log": runlog, "bronze_reconciliation": bronze, "silver_rule_metrics": rules,
            "silver_reconciliation": srecon, "dq_scorecard": score, "er_evaluation": er}


def svgs(text):
    return re.findall(r"<svg.*?</svg>", text, re.S)


def assert_offline(text):
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text) and "@import" not in text and "url(" not in text
    # the only URL is the SVG namespace, which is a name and never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {"http://www.w3.org/2000/svg"}


def test_full_report_has_every_section_with_charts_and_trends():
    text = render_report(frames(), title="Ops", generated_at=dt.datetime(2026, 1, 20, 9, 30))
    assert text.startswith("<!DOCTYPE html>") and "<title>Ops</title>" in text and "Generated 2026-01-20 09:30:00" in text
    for sid in ("runs", "bronze", "rules", "silver", "scorecard", "er"):
        assert f'<section id="{sid}" class="ok">' in text
    assert "does not exist yet" not in text
    charts = svgs(text)
    assert len(charts) >= 12
    for svg in charts:                                     # every chart is well-formed SVG
        ET.fromstring(svg)
    assert "Violations per row, by source and criterion" in text and "đúng (correct)" in text
    assert "Overall score per source, by run" in text and "Mean score per criterion, by run" in text
    assert "F1 by run" in text and "Quarantined share per source, by run" in text
    assert "Latest run <code>20260115T010000-cccccccc</code>" in text
    assert_offline(text)


def test_missing_tables_are_skipped_with_a_note_and_problems_are_flagged():
    f = frames()
    bronze = f["bronze_reconciliation"]
    bronze.loc[bronze.index[-1], ["difference", "reconciled"]] = [3, False]
    text = render_report({"bronze_reconciliation": bronze})
    assert '<section id="bronze" class="attention">' in text and 'class="bad"' in text
    for sid, table in (("runs", "ops/run_log"), ("rules", "ops/silver_rule_metrics"),
                       ("silver", "ops/silver_reconciliation"), ("scorecard", "gold/dq_scorecard"),
                       ("er", "ops/er_evaluation")):
        assert f'<section id="{sid}" class="missing">' in text
        assert f"Table <code>{table}</code> does not exist yet" in text
    assert "not yet written: run_log, silver_rule_metrics" in text
    empty = render_report({})
    assert empty.count("does not exist yet") == len(TABLES) and len(svgs(empty)) == 0
    assert_offline(empty)


def test_single_run_has_no_trend_and_text_is_escaped():
    f = frames()
    one = f["dq_scorecard"][f["dq_scorecard"]["run_id"] == RUNS[0]].copy()
    one.loc[one.index[0], "source"] = "<b>evil</b>"
    one.loc[(one["criterion"] == "overall") & (one["source"] == "id_card"), "score"] = 55.0
    text = render_report({"dq_scorecard": one})
    assert "<b>evil</b>" not in text and "&lt;b&gt;evil&lt;/b&gt;" in text
    assert "by run" not in text                             # one run: no trend charts
    assert '<section id="scorecard" class="attention">' in text   # an overall score below 70


def test_chart_helpers_and_run_order():
    svg = bar_chart(["a", "b"], {"x": [1, 2], "y": [3, None]}, "T", stacked=True)
    ET.fromstring(svg)
    assert svg.count("<rect") >= 4 + 2                      # 4 bars + 2 legend boxes
    line = line_chart(["r1", "r2", "r3"], {"s": [0.5, None, 0.7]}, "L", percent=True)
    ET.fromstring(line)
    assert line.count("<circle") == 2 and "<polyline" not in line      # the gap splits the line
    df = pd.DataFrame({"run_id": ["b", "a", "b"], "checked_at": [_t(2), _t(1), _t(3)]})
    assert run_order(df) == ["a", "b"]
    assert run_order(pd.DataFrame({"run_id": ["20260102T0-x", "20260101T0-y"]})) == ["20260101T0-y", "20260102T0-x"]


def _save(spark, pdf, ddl, path):
    cols = [c.split()[0] for c in ddl.split(", ")]
    native = [tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in (r.get(c) for c in cols))
              for r in pdf.to_dict("records")]
    spark.createDataFrame(native, ddl).write.format("delta").save(path)


