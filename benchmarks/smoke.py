"""``make bench-smoke``: the whole benchmark (stage=all: generate -> bronze -> silver -> gold -> models,
plus the DuckDB silver comparison) at a tiny scale on two sources, then checks of what it wrote.
Exits 1 when a check fails (each failure printed), 0 otherwise. A few minutes; not a test (it was
``tests/spark/core/test_bench.py::test_bench_all_stages_tiny``).

    python -m benchmarks.smoke [key=value ...]      # Hydra overrides replace the defaults below

Everything goes to a fresh temporary directory (user's data root, bench root, results, Spark
warehouse), removed when every check passed and kept (path printed) when one failed.
Run from the repository checkout (see :mod:`benchmarks`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from typing import Any

from benchmarks import bench as B

SOURCES = "[population_registry,enterprise_registration]"


def default_overrides(tmp: str) -> list[str]:
    return ["spark=tiny", "spark_master='local[2]'", "scale=0.0002", f"only={SOURCES}",
            f"paths.root={os.path.join(tmp, 'data')}", f"bench.root={os.path.join(tmp, 'bench')}",
            f"bench.output={os.path.join(tmp, 'out')}", "models.dask.n_workers=1", "models.only=[enterprise_risk]",
            # with two sources a duplicated landing file would fall on one and cross silver's
            # drop-rate limit; the benchmark measures throughput, bronze's tests cover file faults
            "generate.file_faults.duplicate_files=0", "generate.file_faults.truncated_files=0",
            "generate.file_faults.empty_files=0"]


def merge_overrides(defaults: list[str], extra: list[str]) -> list[str]:
    """``defaults`` without the keys ``extra`` sets, then ``extra``."""
    def key(o: str) -> str:
        return o.split("=", 1)[0].lstrip("+~")
    given = {key(o) for o in extra}
    return [o for o in defaults if key(o) not in given] + list(extra)


def check(saved: dict[str, Any], user_root: str) -> list[str]:
    """The checks of the benchmark's results file; one message per failed check."""
    bad: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            bad.append(what)

    stages = saved.get("stages", {})
    expect(list(stages) == list(B.STAGES), f"stages {list(stages)} != {list(B.STAGES)}")
    for stage, st in stages.items():
        expect((st.get("rows_per_s") or 0) > 0, f"{stage}: rows_per_s {st.get('rows_per_s')}")
        for k in ("seconds", "peak_memory_mb", "disk_mb", "records_out"):
            expect((st.get(k) or 0) > 0, f"{stage}: {k} {st.get(k)}")
    if "silver" in stages and "bronze" in stages:
        expect(stages["silver"]["records_in"] == stages["bronze"]["records_out"],
               f"silver records_in {stages['silver']['records_in']} != bronze records_out "
               f"{stages['bronze']['records_out']}")
    c = saved.get("duckdb_comparison")
    if not c:
        bad.append("no duckdb_comparison")
    else:
        expect(c["bronze_rows"] == c["spark"]["bronze_rows"] > 0,
               f"DuckDB bronze rows {c['bronze_rows']} vs Spark {c['spark']['bronze_rows']}")
        # Same decisions as Spark's silver on the same rows (the generator's registry has no faults
        # that only Spark handles: no mojibake, no reversed names).
        expect(c["duckdb"]["accepted"] == c["spark"]["accepted"],
               f"accepted: DuckDB {c['duckdb']['accepted']} vs Spark {c['spark']['accepted']}")
        expect((c["duckdb"].get("rows_per_s") or 0) > 0 and (c.get("duckdb_speedup") or 0) > 0,
               f"DuckDB rate {c['duckdb'].get('rows_per_s')}, speedup {c.get('duckdb_speedup')}")
    chart = saved.get("chart") or ""
    expect(chart.endswith(".png") and os.path.exists(chart) and os.path.getsize(chart) > 0, f"chart {chart!r}")
    expect(not os.path.exists(os.path.join(user_root, "landing")), "the user's data root was written to")
    return bad


def main(argv: list[str] | None = None) -> int:
    from omegaconf import OmegaConf

    from jobs.bench import run_scale
    from lakehouse.config import compose
    from lakehouse.session import build_spark

    tmp = tempfile.mkdtemp(prefix="bench-smoke-")
    cfg = compose(merge_overrides(default_overrides(tmp), list(sys.argv[1:] if argv is None else argv)))
    conf = OmegaConf.to_container(cfg.spark, resolve=True)
    conf["conf"] = {**(conf.get("conf") or {}), "spark.sql.warehouse.dir": os.path.join(tmp, "warehouse")}
    spark = build_spark(conf, str(cfg.spark_master))
    spark.range(1).count()      # start-up is not part of the measurement
    try:
        results = run_scale(spark, cfg, B.STAGES, "all")
        with open(results["results_file"]) as fh:
            saved = json.load(fh)
        bad = check(saved, str(cfg.paths.root))
    finally:
        spark.stop()
    if bad:
        print(f"bench-smoke: {len(bad)} check(s) failed (files kept in {tmp}):", file=sys.stderr)
        for b in bad:
            print(f"  {b}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"bench-smoke: ok ({len(saved['stages'])} stages, {saved['total_seconds']:.1f} s measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
