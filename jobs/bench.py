"""Benchmarks: rows/s and peak memory per stage, written as JSON under ops/bench.

    python -m jobs.bench stage=generate scale=0.01
    python -m jobs.bench stage=bronze scale=0.01     (generates the landing data first if absent)
"""

from __future__ import annotations

import os
import platform

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.bench import measure, write_results
from lakehouse.simulate.runner import generate, summary_table


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    stage = str(cfg.get("stage", "generate"))
    spark = spark_for(cfg)
    spark.range(1).count()  # start-up (JVM, jar resolution) is not part of the measurement
    results = {"stage": stage, "scale": float(cfg.scale), "seed": int(cfg.seed), "cores": os.cpu_count(),
               "machine": platform.platform()}
    if stage == "generate":
        with measure() as m:
            per_source = generate(spark, cfg)
        records = sum(r.records for r in per_source)
        results.update(m, records=records, records_per_s=round(records / m["seconds"], 1),
                       sources=[vars(r) for r in per_source])
        print(summary_table(per_source))
    elif stage == "bronze":
        # Landing data comes from the generator at the same scale (not timed); bronze is timed.
        import glob

        if not glob.glob(f"{cfg.paths.landing}/*/batch-*"):
            generate(spark, cfg)
        from lakehouse.bronze.runner import run_bronze

        with measure() as m:
            result = run_bronze(spark, cfg)
        landing = sum(s.landing_records for s in result.sources)
        files_only = [s for s in result.sources if s.format != "jdbc"]
        results.update(m, records=result.rows, landing_records=landing,
                       records_per_s=round(landing / m["seconds"], 1),
                       file_sources_rows_per_s=round(sum(s.landing_records for s in files_only)
                                                     / max(sum(s.seconds for s in files_only), 1e-9), 1),
                       sources=[{"source": s.source, "format": s.format, "landing": s.landing_records,
                                 "rows": s.rows, "quarantined": s.quarantined, "seconds": round(s.seconds, 2)}
                                for s in result.sources])
    else:
        raise SystemExit(f"bench: unknown stage '{stage}' (known: generate, bronze)")
    path = write_results(str(cfg.bench.output), stage, results)
    print(f"bench {stage}: {results['records']:,} records in {results['seconds']:.1f} s = "
          f"{results['records_per_s']:,.0f} records/s, peak memory {results['peak_memory_mb']:,.0f} MB "
          f"(scale {results['scale']}) -> {path}")


if __name__ == "__main__":
    main()
