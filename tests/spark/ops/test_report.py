"""The ops report: a self-contained offline HTML file from small synthetic ops tables."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from lakehouse.ops.report import (
    run_report,
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


def _save(spark, pdf, ddl, path):
    cols = [c.split()[0] for c in ddl.split(", ")]
    native = [tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in (r.get(c) for c in cols))
              for r in pdf.to_dict("records")]
    spark.createDataFrame(native, ddl).write.format("delta").save(path)


def test_run_report_reads_delta_tables_and_writes_one_file(spark, make_cfg):
    from lakehouse.bronze.runner import RECON_SCHEMA
    from lakehouse.gold.schema import DQ_SCORECARD

    cfg = make_cfg()
    f = frames()
    _save(spark, f["bronze_reconciliation"], RECON_SCHEMA, f"{cfg.paths.ops}/bronze_reconciliation")
    _save(spark, f["dq_scorecard"], DQ_SCORECARD, f"{cfg.paths.gold}/dq_scorecard")
    lines = []
    path = run_report(spark, cfg, log=lines.append)
    assert path == f"{cfg.paths.ops}/report/index.html"
    text = open(path, encoding="utf-8").read()
    assert '<section id="bronze" class="ok">' in text and '<section id="scorecard" class="ok">' in text
    assert '<section id="rules" class="missing">' in text and len(svgs(text)) >= 4
    assert_offline(text)
    assert lines[0].startswith("report: 2/6 tables")
