"""The pipeline benchmark end to end at a tiny scale (stage=all through the library), on two
sources so that it stays short: every stage is measured (rows/s, peak memory, disk), the DuckDB
comparison ran on the same bronze rows, the JSON and chart are written; plus the pure helpers."""

from __future__ import annotations

import json
import os

import pytest

from jobs.bench import run_scale
from lakehouse import bench as B
from lakehouse.bench_chart import curve_chart

SOURCES = "[population_registry,enterprise_registration]"


def test_growth_exponent_and_curve(tmp_path):
    assert B.growth_exponent([(1e3, 2.0), (1e4, 20.0), (1e5, 200.0)]) == pytest.approx(1.0)
    assert B.growth_exponent([(1e3, 2.0), (1e4, 2.0)]) == pytest.approx(0.0)
    assert B.growth_exponent([(1e3, 2.0)]) is None
    run = {"scale": 0.001, "total_seconds": 3.0, "stages": {
        "generate": {"records_in": 0, "records_out": 1000, "seconds": 1.0, "rows_per_s": 1000.0,
                     "peak_memory_mb": 1.0, "disk_mb": 1.0},
        "silver": {"records_in": 900, "records_out": 880, "seconds": 2.0, "rows_per_s": 450.0,
                   "peak_memory_mb": 1.0, "disk_mb": 1.0}}}
    big = json.loads(json.dumps(run))
    big.update(scale=0.01, total_seconds=30.0)
    big["stages"]["generate"].update(records_out=10000, seconds=10.0)
    big["stages"]["silver"].update(records_in=9000, seconds=20.0)
    cur = B.curve([big, run])
    assert cur["scales"] == [0.001, 0.01]
    assert cur["stages"]["generate"]["growth_exponent"] == pytest.approx(1.0)
    assert cur["stages"]["silver"]["growth_exponent"] == pytest.approx(1.0)
    assert os.path.getsize(curve_chart(cur, str(tmp_path / "curve.png"))) > 0


def test_bench_config_uses_its_own_root(make_cfg, tmp_path):
    cfg = B.bench_config(make_cfg("scale=0.0005", root=tmp_path / "data"))
    assert cfg.paths.root == os.path.normpath(str(tmp_path / "bench-data" / "scale-0.0005"))
    assert cfg.paths.bronze == os.path.join(cfg.paths.root, "bronze")
    assert cfg.bench.output == os.path.normpath(str(tmp_path / "data" / "ops" / "bench"))


@pytest.mark.slow
def test_bench_all_stages_tiny(spark, make_cfg, tmp_path):
    cfg = make_cfg("scale=0.0002", f"only={SOURCES}", f"bench.root={tmp_path / 'bench'}",
                   f"bench.output={tmp_path / 'out'}", "models.dask.n_workers=1",
                   "models.only=[enterprise_risk]",
                   # with two sources a duplicated landing file would fall on one and cross silver's
                   # drop-rate limit; the benchmark measures throughput, bronze's tests cover file faults
                   "generate.file_faults.duplicate_files=0", "generate.file_faults.truncated_files=0",
                   "generate.file_faults.empty_files=0")
    results = run_scale(spark, cfg, B.STAGES, "all")
    with open(results["results_file"]) as fh:
        saved = json.load(fh)
    assert list(saved["stages"]) == list(B.STAGES)
    for stage, st in saved["stages"].items():
        assert st["rows_per_s"] > 0, stage
        assert st["seconds"] > 0 and st["peak_memory_mb"] > 0 and st["disk_mb"] > 0, (stage, st)
        assert st["records_out"] > 0, stage
    s = saved["stages"]
    assert s["silver"]["records_in"] == s["bronze"]["records_out"]
    cmp_ = saved["duckdb_comparison"]
    assert cmp_["bronze_rows"] == cmp_["spark"]["bronze_rows"] > 0
    # Same decisions as Spark's silver on the same rows (the generator's registry has no faults
    # that only Spark handles: no mojibake, no reversed names).
    assert cmp_["duckdb"]["accepted"] == cmp_["spark"]["accepted"]
    assert cmp_["duckdb"]["rows_per_s"] > 0 and cmp_["duckdb_speedup"] > 0
    assert os.path.getsize(saved["chart"]) > 0
    assert saved["chart"].endswith(".png")
    # The user's data root was not touched.
    assert not (tmp_path / "data" / "landing").exists()
