"""The whole pipeline at a tiny scale, through the real job entry points (what `make run` calls):
generate -> bronze -> silver -> gold -> evaluate -> train -> score, then the notebooks.

One run (module fixture), several checks on it:
- every job left a success record in ops/audit_log and stage rows in ops/run_log;
- landing = bronze + bronze quarantine, and bronze = silver + silver quarantine, per source;
- no clear personal identifier of this run, and no key, is in any file under gold/, the MLflow
  store, the logs (ops/logs, Hydra's saved config and logs) or what the jobs printed;
- the three notebooks execute against this run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCALE = "0.0002"
JOBS = ("generate", "bronze", "silver", "gold", "evaluate", "train", "score")
PERSON_IDENTIFIERS = ("cccd", "cmnd", "phone", "bhxh_number", "personal_tax_code")
# A run of 9-15 digits standing alone (not inside a hex token or a longer word).
DIGIT_RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9]{9,15}(?![0-9A-Za-z])")


def _run(job: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", f"jobs.{job}", f"paths.root={root}", f"scale={SCALE}", "spark=tiny",
            "spark_master='local[2]'"]
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1800, env=env)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    root = base / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("LAKEHOUSE_KEYRING", "LAKEHOUSE_KEY_FILE")}
    outputs = {}
    for job in JOBS:
        proc = _run(job, root, env)
        outputs[job] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{job} failed:\n{proc.stderr[-4000:]}"
    return {"root": root, "keys": base / ".keys", "outputs": outputs}


def _delta(path: Path):
    return DeltaTable(str(path)).to_pyarrow_table()


def test_every_job_is_audited_and_logged(pipeline):
    root = pipeline["root"]
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
    for job, text in pipeline["outputs"].items():
        t = text.encode()
        hits += [f"key printed by {job}" for k in keys if k in t]
        hits += [f"identifier printed by {job}" for m in DIGIT_RUN.finditer(t) if m.group() in ids][:1]
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
