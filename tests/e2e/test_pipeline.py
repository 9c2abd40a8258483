"""Checks on the shared tiny pipeline run (tests/e2e/conftest.py: the real job entry points, as
`make run` calls them):
- every job left a success record in ops/audit_log and stage rows in ops/run_log;
- landing = bronze + bronze quarantine, and bronze = silver + silver quarantine, per source;
- no clear personal identifier of this run, and no key, is in any file under gold/, the MLflow
  store, the logs (ops/logs, Hydra's saved config and logs) or what the jobs printed;
- the three notebooks execute against this run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
from deltalake import DeltaTable

from tests.e2e.conftest import JOBS, run_entry_point

PERSON_IDENTIFIERS = ("cccd", "cmnd", "phone", "bhxh_number", "personal_tax_code")
# A run of 9-15 digits standing alone (not inside a hex token or a longer word).
DIGIT_RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9]{9,15}(?![0-9A-Za-z])")


def _delta(path: Path):
    return DeltaTable(str(path)).to_pyarrow_table()


def test_every_job_is_audited_and_logged(pipeline):
    root = pipeline["root"]
    assert set(pipeline["seconds"]) == set(JOBS), pipeline["seconds"]    # one process ran every stage
    audit = _delta(root / "ops" / "audit_log").to_pylist()
    by_job = {}
    for r in audit:
        by_job.setdefault(r["job"], []).append(r)
    for job in JOBS:
        assert job in by_job, f"no audit record for {job}"
        assert all(r["outcome"] == "success" and r["user"] for r in by_job[job])
    written = {w["table"] for r in by_job["silver"] for w in r["tables_written"]}
    assert {"silver/citizen_records", "silver/enterprise_records"} <= written
    assert all(w["version"] is not None for r in by_job["gold"] for w in r["tables_written"])
    run_log = _delta(root / "ops" / "run_log").to_pylist()
    assert {r["job"] for r in run_log} >= {"generate", "bronze", "silver", "gold", "evaluate"}
    assert all(r["status"] in ("ok", "skipped") for r in run_log)
    assert list((root / "ops" / "logs" / "silver").glob("*.jsonl"))


def test_counts_reconcile_from_landing_to_silver(pipeline):
    root = pipeline["root"]
    bronze_rec = _delta(root / "ops" / "bronze_reconciliation").to_pylist()
    assert len({r["source"] for r in bronze_rec}) == 16
    assert all(r["reconciled"] and r["difference"] == 0 for r in bronze_rec)
    silver_rec = _delta(root / "ops" / "silver_reconciliation").to_pylist()
    assert len({r["source"] for r in silver_rec}) == 16
    for r in silver_rec:
        assert r["bronze_rows"] == r["silver_rows"] + r["quarantined"], r


def _identifiers(root: Path) -> set[bytes]:
    """Every personal identifier of this run, as standardised in silver (citizens' CCCD, CMND, phone,
    BHXH number and personal tax code; firms' owner CCCD), with the leading-zero-less variant a raw
    source may carry. Firms' own tax codes are public business identifiers and may stay in gold."""
    values: set[bytes] = set()
    for table, columns in (("citizen_records", PERSON_IDENTIFIERS), ("enterprise_records", ("owner_cccd",))):
        t = _delta(root / "silver" / table)
        for name in columns:
            for v in t.column(name).to_pylist():
                digits = re.sub(r"\D", "", str(v or ""))
                if len(digits) >= 9:
                    values |= {digits.encode(), digits.lstrip("0").encode()}
    return {v for v in values if len(v) >= 9}


def _key_strings(keys_dir: Path) -> set[bytes]:
    out = set()
    for f in keys_dir.rglob("*"):
        if f.is_file():
            doc = json.loads(f.read_text())
            out |= {k["key"].encode() for k in doc["keys"].values()}
    return out


def _file_hits(path: Path, ids: set[bytes], keys: set[bytes]) -> list[str]:
    data = path.read_bytes()
    blobs = [data]
    if path.suffix == ".parquet":  # compressed: decode every string cell
        table = pq.read_table(path)
        blobs = [json.dumps(table.to_pylist(), default=str).encode()]
    hits = [f"key in {path}" for k in keys if any(k in b for b in blobs)]
    for b in blobs:
        squeezed = re.sub(rb"(?<=[0-9])[ .\-](?=[0-9])", b"", b)
        for m in DIGIT_RUN.finditer(squeezed):
            if m.group() in ids:
                hits.append(f"identifier {m.group()[:3].decode()}... in {path}")
                break
    return hits


def test_no_clear_identifier_or_key_past_silver(pipeline):
    root = pipeline["root"]
    ids = _identifiers(root)
    keys = _key_strings(pipeline["keys"])
    assert len(ids) > 1000 and keys, "the scan must have something to look for"
    scanned, hits = 0, []
    for area in (root / "gold", root / "ops" / "mlflow", root / "ops" / "logs", root / "ops" / "hydra",
                 root / "ops" / "gold_stats"):
        assert area.exists(), area
        for f in area.rglob("*"):
            if f.is_file():
                scanned += 1
                hits += _file_hits(f, ids, keys)
    printed = pipeline["output"].encode()
    hits += ["key printed by the pipeline" for k in keys if k in printed]
    hits += ["identifier printed by the pipeline" for m in DIGIT_RUN.finditer(printed) if m.group() in ids][:1]
    assert scanned > 50
    assert not hits, "\n".join(hits[:20])


def test_resolution_was_evaluated(pipeline):
    rows = _delta(pipeline["root"] / "ops" / "er_evaluation").to_pylist()
    by = {r["entity"]: r for r in rows}
    assert by["citizen"]["records"] > 1000 and by["citizen"]["pairwise_f1"] > 0.9
    assert by["enterprise"]["records"] > 0


def test_all_notebooks_run_on_the_pipeline(pipeline, tmp_path):
    from lakehouse.models import notebooks

    out = tmp_path / "executed"
    assert notebooks.main(["--root", str(pipeline["root"]), "--out", str(out)]) == 0
    assert len(list(out.glob("*.ipynb"))) == 3


def test_train_and_score_jobs_audit_what_they_read_and_wrote(pipeline, tmp_path):
    root = pipeline["root"]
    assert "coverage_gap" in pipeline["output"] and "champion" in pipeline["output"]
    firms = _delta(root / "gold" / "dim_enterprise").num_rows
    assert _delta(root / "gold" / "enterprise_risk_scores").num_rows == firms > 0
    audit = [r for r in _delta(root / "ops" / "audit_log").to_pylist() if r["job"] == "score"]
    assert audit and audit[0]["outcome"] == "success"
    assert {w["table"] for w in audit[0]["tables_written"]} == {"gold/coverage_gap_scores",
                                                                 "gold/enterprise_risk_scores"}
    assert {r["table"] for r in audit[0]["tables_read"]} == {"gold/dim_citizen", "gold/dim_enterprise"}
    assert all(r["version"] is not None for r in audit[0]["tables_read"])
    trained = [r for r in _delta(root / "ops" / "run_log").to_pylist() if r["job"] == "train" and r["stage"] == "train"]
    assert {r["source"] for r in trained} == {"coverage_gap", "enterprise_risk"} and all(r["rows"] > 0 for r in trained)
    # Without a champion the score job fails with a clear message and exit code 2.
    empty = run_entry_point("score", root, f"models.mlflow.store_dir={tmp_path / 'none'}")
    assert empty.returncode == 2 and "alias 'champion'" in empty.stderr
