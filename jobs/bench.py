"""Benchmarks: per stage rows/s, peak memory and disk, written as JSON and a chart under
``bench.output`` (default ``<paths.root>/ops/bench``). Data goes to ``<bench.root>/scale-<scale>``
(default ``<paths.root>/../bench-data``), never to the user's data root.

    python -m jobs.bench scale=0.001                   # stage=all: generate -> bronze -> silver -> gold
                                                       #   -> models, plus DuckDB vs Spark silver
    python -m jobs.bench stage=silver scale=0.01      # one stage; earlier ones run untimed when absent
    python -m jobs.bench "stage='silver,gold,models'" scale=0.01   # several stages in order (quoted)
    python -m jobs.bench stage=curve 'bench.scales=[0.001,0.01,0.1]'   # stage=all per scale + curve
    python -m jobs.bench stage=curve "bench.from_results='data/ops/bench/bench-*.json'"
                                                       # curve from saved results, no new runs

Stages: all, generate, bronze, silver, gold, models, curve. See benchmarks/bench.py for the units.

Run it from the repository checkout (the Makefile's bench targets do): the benchmark code lives in
the top-level ``benchmarks`` package, which is not in the wheel (``make package`` ships ``lakehouse``
and ``jobs`` only), so this entry point cannot run from an installed wheel alone.
"""

from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig, OmegaConf

from benchmarks import bench as B
from benchmarks.chart import curve_chart, stage_chart
from jobs._common import spark_for


def _summary(results: dict) -> str:
    lines = [f"{'stage':<10}{'records in':>12}{'records out':>13}{'seconds':>9}{'rows/s':>11}{'peak MB':>9}"
             f"{'disk MB':>9}  rate of"]
    for s, st in results["stages"].items():
        lines.append(f"{s:<10}{st['records_in']:>12,}{st['records_out']:>13,}{st['seconds']:>9.1f}"
                     f"{st['rows_per_s'] or 0:>11,.0f}{st['peak_memory_mb']:>9,.0f}{st['disk_mb']:>9,.1f}"
                     f"  {st['rate_of']}")
    c = results.get("duckdb_comparison")
    if c:
        lines.append(f"silver on {c['source']} ({c['bronze_rows']:,} bronze rows): Spark "
                     f"{c['spark']['rows_per_s'] or 0:,.0f} rows/s, DuckDB {c['duckdb']['rows_per_s'] or 0:,.0f} "
                     f"rows/s, ratio DuckDB/Spark {c['duckdb_speedup']}x")
    return "\n".join(lines)


def run_scale(spark, cfg: DictConfig, stages: tuple[str, ...], tag: str) -> dict:
    """One benchmark run at cfg.scale; JSON and chart written to bench.output."""
    bcfg = B.bench_config(cfg)
    bench = bcfg.bench
    results = B.run_bench(spark, bcfg, stages, fresh=bool(bench.get("fresh", True)),
                          duckdb=bool(bench.get("duckdb", True)))
    path = B.write_results(str(bench.output), f"{tag}-{B.scale_label(cfg.scale)}", results)
    chart = stage_chart(results, path[:-len(".json")] + ".png")
    results.update(results_file=path, chart=chart)
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    print(_summary(results))
    print(f"bench: results {path}, chart {chart}")
    return results


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    stage = str(cfg.get("stage", "all"))
    known = ("all", "curve", *B.STAGES)
    chosen = tuple(s.strip() for s in stage.split(","))   # several stages: stage=silver,gold,models
    if any(s not in known for s in chosen) or (len(chosen) > 1 and not set(chosen) <= set(B.STAGES)):
        raise SystemExit(f"bench: unknown stage '{stage}' (known: {', '.join(known)}, or a comma list of stages)")
    from_results = cfg.bench.get("from_results") if stage == "curve" else None
    if from_results:
        runs = B.merge_results(B.load_results(str(from_results)))
    else:
        spark = spark_for(cfg)
        spark.range(1).count()  # start-up (JVM, jar resolution) is not part of the measurement
        if stage != "curve":
            run_scale(spark, cfg, B.STAGES if stage == "all" else chosen, stage.replace(",", "+"))
            return
        runs = []
        for scale in [float(s) for s in cfg.bench.scales]:
            c = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
            OmegaConf.update(c, "scale", scale)
            runs.append(run_scale(spark, c, B.STAGES, "all"))
    out = B.bench_config(cfg).bench.output
    cur = B.curve(runs)
    path = B.write_results(str(out), "curve", cur)
    chart = curve_chart(cur, path[:-len(".json")] + ".png")
    cur["chart"] = chart
    with open(path, "w") as fh:
        json.dump(cur, fh, indent=2, default=str)
    for s, st in cur["stages"].items():
        pts = ", ".join(f"{p['scale']:g}: {p['seconds']:.1f} s" for p in st["points"])
        print(f"curve {s:<9} growth exponent {st['growth_exponent']}  ({pts})")
    print(f"curve: total growth exponent {cur['total_growth_exponent']}; {path}, chart {chart}")


if __name__ == "__main__":
    main()
