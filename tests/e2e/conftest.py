"""The one shared pipeline run of the e2e tier: every end-to-end check reads it.

generate -> bronze -> silver -> gold -> evaluate -> train -> score at a tiny scale, exactly as `make run`
does it: `python -m jobs.run`, one process and one Spark session, each stage with its own run id,
audit record and run-log lines. Built once per pytest session. (Each job's own entry point is run on
its own by the cluster tier and by the score check of tests/e2e/test_pipeline.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.config import compose

REPO = Path(__file__).resolve().parents[2]
SCALE = "0.0002"
JOBS = ("generate", "bronze", "silver", "gold", "evaluate", "train", "score")
OVERRIDES = [f"scale={SCALE}", "spark=tiny", "spark_master='local[2]'"]


def run_entry_point(job: str, root: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", f"jobs.{job}", f"paths.root={root}", *OVERRIDES, *extra]
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1800,
                          env=env if env is not None else clean_env())


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("LAKEHOUSE_KEYRING", "LAKEHOUSE_KEY_FILE")}


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    root = base / "data"
    t0 = time.perf_counter()
    proc = run_entry_point("run", root)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"make run failed:\n{proc.stderr[-4000:]}"
    seconds = {m[1]: float(m[2]) for m in re.finditer(r"^(\w+): done in ([0-9.]+) s$", proc.stdout, re.M)}
    print(f"\nshared pipeline in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{j} {s:.0f} s" for j, s in seconds.items()), file=sys.stderr)
    return {"root": root, "keys": base / ".keys", "output": output, "seconds": seconds,
            "cfg": compose([f"paths.root={root}", *OVERRIDES])}
