"""The ops report: a self-contained offline HTML file from small synthetic ops tables."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pandas as pd

from lakehouse.ops.report import (
    TABLES,
    bar_chart,
    line_chart,
    render_report,
    run_order,
)
from tests.support.report_data import RUNS, assert_offline, frames, run_time, svgs


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
    df = pd.DataFrame({"run_id": ["b", "a", "b"], "checked_at": [run_time(2), run_time(1), run_time(3)]})
    assert run_order(df) == ["a", "b"]
    assert run_order(pd.DataFrame({"run_id": ["20260102T0-x", "20260101T0-y"]})) == ["20260101T0-y", "20260102T0-x"]


