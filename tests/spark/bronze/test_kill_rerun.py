"""Kill `python -m jobs.bronze` with SIGKILL after it has started writing, run again, and compare
with a clean run: the tables must be the same (apart from run ids and ingest timestamps)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lakehouse import io
from lakehouse.bronze import run_bronze
from lakehouse.config import selected_sources
from tests.support import landing as L

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ["id_card", "health_insurance"]
VOLATILE = {"_run_id", "_ingested_at", "run_id", "logged_at"}


def write_landing(cfg):
    specs = {s.name: s for s in selected_sources(cfg)}
    land = cfg.paths.landing
    for name in SOURCES:
        spec = specs[name]
        for batch in (0, 1):
            for part in (0, 1):
                rows = [L.record(spec, 100 * batch + 10 * part + i) for i in range(4)]
                path = L.write_file(land, spec, batch, rows, part)
        shutil.copyfile(path, path.replace(f".{L.EXT[spec.format]}", f"_resent.{L.EXT[spec.format]}"))
    with open(L.file_path(land, specs["id_card"], 1, part=0), "a") as fh:   # a short line
        fh.write("broken;line\n")


def snapshot(spark, cfg):
    out = {}
    tables = [f"{cfg.paths.bronze}/{n}" for n in SOURCES + ["_quarantine"]] + [f"{cfg.paths.ops}/bronze_ingest_log"]
    for path in tables:
        df = io.read_delta(spark, path)
        cols = sorted(c for c in df.columns if c not in VOLATILE)
        out[os.path.basename(path)] = sorted(tuple(str(r[c]) for c in cols) for r in df.select(*cols).collect())
    return out


def wait_for(pattern: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    t0 = time.time()
    while not glob.glob(pattern):
        assert proc.poll() is None, f"job ended before {pattern} appeared: {proc.stderr.read()[-3000:]}"
        assert time.time() - t0 < timeout, f"timed out waiting for {pattern}"
        time.sleep(0.1)



def test_kill_and_rerun_equals_clean_run(spark, make_cfg, tmp_path):
    only = f"only=[{','.join(SOURCES)}]"
    killed = make_cfg(only, "bronze.max_error_rate=0.9", root=tmp_path / "killed")
    clean = make_cfg(only, "bronze.max_error_rate=0.9", root=tmp_path / "clean")
    write_landing(killed)
    shutil.copytree(killed.paths.landing, clean.paths.landing)

    cmd = [sys.executable, "-m", "jobs.bronze", f"paths.root={tmp_path / 'killed'}", only, "spark=tiny",
           "spark_master='local[2]'", "bronze.max_error_rate=0.9", "bronze.pause_after_write_s=6"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # first source fully done (logged); second source's data committed, its log not yet written
        wait_for(f"{killed.paths.ops}/bronze_ingest_log/_delta_log/*.json", proc)
        # (the quarantine table: v0 create, v1 stats property, v2 first source, v3 second source)
        wait_for(f"{killed.paths.bronze}/_quarantine/_delta_log/00000000000000000003.json", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = io.read_delta(spark, f"{killed.paths.bronze}/{SOURCES[1]}").count()
    logged = {r["source"] for r in io.read_delta(spark, f"{killed.paths.ops}/bronze_ingest_log").collect()}
    assert partial > 0 and logged == {SOURCES[0]}          # killed between the data commit and the log

    rerun = run_bronze(spark, killed, log=lambda *_: None)
    assert not rerun.errors and {s.source for s in rerun.sources if s.files} == set(SOURCES[1:])
    run_bronze(spark, clean, log=lambda *_: None)
    assert snapshot(spark, killed) == snapshot(spark, clean)
    assert run_bronze(spark, killed, log=lambda *_: None).rows == 0
