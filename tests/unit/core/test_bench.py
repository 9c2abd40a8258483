"""The benchmark's pure helpers (benchmarks/bench.py, benchmarks/chart.py): growth exponents, the
scale curve, merging saved results, the benchmark's own data root. The end-to-end benchmark run at
a tiny scale is not a test: ``make bench-smoke`` (benchmarks/smoke.py)."""

from __future__ import annotations

import json
import os

import pytest

from benchmarks import bench as B
from benchmarks.chart import curve_chart


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


def test_curve_from_saved_per_stage_results(tmp_path):
    def saved(name, scale, started, stages, **extra):
        st = {s: {"records_in": n, "records_out": n, "seconds": sec, "rows_per_s": n / sec,
                  "peak_memory_mb": 1.0, "disk_mb": 1.0} for s, (n, sec) in stages.items()}
        (tmp_path / name).write_text(json.dumps({"scale": scale, "started_at": started, "stages": st, **extra}))
    saved("bench-generate+bronze-0.1-a.json", 0.1, "2026-01-01T01", {"generate": (100, 10.0), "bronze": (100, 5.0)})
    saved("bench-silver-0.1-old.json", 0.1, "2026-01-01T00", {"silver": (100, 99.0)})
    saved("bench-silver-0.1-new.json", 0.1, "2026-01-01T02", {"silver": (100, 20.0)},
          duckdb_comparison={"duckdb": {"rows_per_s": 5.0}, "spark": {"rows_per_s": 1.0}, "duckdb_speedup": 5.0})
    saved("bench-all-0.01-b.json", 0.01, "2026-01-01T03", {"generate": (10, 1.0), "silver": (10, 2.0)})
    (tmp_path / "bench-curve-x.json").write_text(json.dumps({"scales": [], "stages": {}}))
    runs = B.merge_results(B.load_results(str(tmp_path / "bench-*.json")))
    assert [r["scale"] for r in runs] == [0.01, 0.1]
    big = runs[1]
    assert list(big["stages"]) == ["generate", "bronze", "silver"]      # pipeline order
    assert big["stages"]["silver"]["seconds"] == 20.0                   # the latest measurement wins
    assert big["total_seconds"] == 35.0 and big["duckdb_comparison"]["duckdb_speedup"] == 5.0
    cur = B.curve(runs)
    assert cur["stages"]["generate"]["growth_exponent"] == pytest.approx(1.0)
    assert cur["duckdb"] == [{"scale": 0.1, "duckdb": 5.0, "spark": 1.0, "duckdb_speedup": 5.0}]
    assert cur["total_growth_exponent"] is None     # 0.01 lacks bronze: totals are not comparable
    with pytest.raises(FileNotFoundError, match="no results files"):
        B.load_results(str(tmp_path / "none-*.json"))


def test_bench_config_uses_its_own_root(make_cfg, tmp_path):
    cfg = B.bench_config(make_cfg("scale=0.0005", root=tmp_path / "data"))
    assert cfg.paths.root == os.path.normpath(str(tmp_path / "bench-data" / "scale-0.0005"))
    assert cfg.paths.bronze == os.path.join(cfg.paths.root, "bronze")
    assert cfg.bench.output == os.path.normpath(str(tmp_path / "data" / "ops" / "bench"))


def test_bench_entry_point_imports_the_benchmarks_package():
    import jobs.bench

    assert jobs.bench.B is B and callable(jobs.bench.run_scale)


def test_udf_benchmark_samples_cover_every_rule():
    from benchmarks import udf_baseline as U

    samples = U.sample_values()
    assert set(samples) == set(U.RULES) and all(len(v) >= 400 for v in samples.values())
