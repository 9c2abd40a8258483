"""Small synthetic ops tables for the report tests (unit and spark tiers) and offline-HTML checks."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

RUNS = ["20260101T010000-aaaaaaaa", "20260108T010000-bbbbbbbb", "20260115T010000-cccccccc"]
SOURCES = ["id_card", "health_insurance", "social_insurance"]


def run_time(i):
    return dt.datetime(2026, 1, 1 + 7 * i, 1, 0)


def frames():
    bronze = pd.DataFrame([
        {"run_id": r, "source": s, "files": 2, "landing_records": 1000 + i, "bronze_rows": 990 + i,
         "quarantined_records": 8, "duplicate_records": 2, "difference": 0, "reconciled": True,
         "error_rate": 8 / (1000 + i), "checked_at": run_time(i)}
        for i, r in enumerate(RUNS) for s in SOURCES])
    rules = pd.DataFrame([
        {"run_id": r, "source": s, "batch": i, "rule_id": f"{c}.rule{k}", "criterion": c, "action": "warn",
         "violations": 10 * (k + 1) + i, "rows": 990, "measured_at": run_time(i)}
        for i, r in enumerate(RUNS) for s in SOURCES for c in ("dung", "du", "sach", "song") for k in range(2)])
    srecon = pd.DataFrame([
        {"run_id": r, "source": s, "batch": i, "bronze_rows": 990, "silver_rows": 980, "quarantined": 10,
         "difference": 0, "reconciled": True, "checked_at": run_time(i)} for i, r in enumerate(RUNS) for s in SOURCES])
    score = pd.DataFrame([
        {"run_id": r, "run_at": run_time(i), "source": s, "criterion": c, "score": 60.0 + 10 * j + i,
         "rules": ["x"], "rows": 990, "violations": 5}
        for i, r in enumerate(RUNS) for s in SOURCES for j, c in enumerate(("dung", "du", "sach", "song", "overall"))])
    er = pd.DataFrame([
        {"run_id": r, "entity": e, "pairwise_precision": 0.99, "pairwise_recall": 0.9 + 0.01 * i,
         "pairwise_f1": 0.94 + 0.01 * i, "bcubed_precision": 0.98, "bcubed_recall": 0.95, "bcubed_f1": 0.965,
         "wrong_merges": 3, "wrong_splits": 12 - i} for i, r in enumerate(RUNS) for e in ("citizen", "enterprise")])
    runlog = pd.DataFrame([
        {"run_id": r, "job": j, "stage": st, "source": s, "started_at": run_time(i), "ended_at": run_time(i),
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
