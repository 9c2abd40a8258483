"""Benchmark helpers: peak memory of this process tree (driver + Spark JVM), disk per layer, the
whole-pipeline benchmark (generate -> bronze -> silver -> gold -> models, with the DuckDB silver
comparison), results files, the scale curve and its growth exponents.

Units: every stage reports ``records_in`` (what it reads), ``records_out`` (what it writes) and
``rows_per_s`` over a stated ``rate_of``:

=========  ==========================  ============================================
stage      rate_of (numerator)         records_out
=========  ==========================  ============================================
generate   landing records written     landing records written
bronze     landing records read        bronze rows
silver     bronze rows read            silver rows accepted (+ quarantined apart)
gold       silver source records       golden records (dim_citizen + dim_enterprise)
models     training rows               models trained
=========  ==========================  ============================================

Not shipped with the ``lakehouse`` wheel: run from the repository checkout (``python -m jobs.bench``,
``make bench*``); see :mod:`benchmarks`.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import math
import os
import platform
import shutil
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import psutil
from omegaconf import DictConfig, OmegaConf

STAGES = ("generate", "bronze", "silver", "gold", "models")
#: Directories (relative to the data root) each stage writes; disk is measured on the first ones
#: listed in DISK_LAYERS, and a timed stage starts with its own and every later stage's removed.
OWNED = {
    "generate": ("landing", "truth"),
    "bronze": ("bronze", "ops/bronze_ingest_log", "ops/bronze_reconciliation"),
    "silver": ("silver", "ops/silver_batches", "ops/silver_rule_metrics", "ops/silver_reconciliation"),
    "gold": ("gold", "ops/gold_stats"),
    "models": ("ops/mlflow",),
}
DISK_LAYERS = {"generate": "landing", "bronze": "bronze", "silver": "silver", "gold": "gold", "models": "ops/mlflow"}
RATE_OF = {"generate": "landing records written", "bronze": "landing records read",
           "silver": "bronze rows read", "gold": "silver source records read", "models": "training rows"}
#: Targets of the issue (rows/s in each stage's own unit); meaningful from scale 0.01 on.
TARGETS = {"generate": 500_000, "bronze": 300_000, "silver": 200_000, "gold": 100_000}
DUCKDB_SOURCE = "population_registry"
MARKER = "_bench.json"


class PeakMemory:
    """Samples the resident memory of this process and its children (the Spark JVM)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self.start_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self.start_bytes = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._sample())


@contextmanager
def measure() -> Iterator[dict]:
    """Wall time and peak memory of the block, filled into the yielded dict on exit.

    ``peak_memory_mb`` is the whole process tree (Python driver + Spark JVM, which stays resident
    between stages); ``memory_growth_mb`` is the peak above what the tree held when the block began."""
    out: dict = {}
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        yield out
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["peak_memory_mb"] = round(mem.peak_bytes / 2**20, 1)
    out["memory_growth_mb"] = round(max(mem.peak_bytes - mem.start_bytes, 0) / 2**20, 1)


def write_results(directory: str, stage: str, results: dict) -> str:
    os.makedirs(directory, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(directory, f"bench-{stage}-{stamp}.json")
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    return path


# ----------------------------------------------------------------------------- disk

def _local(path: str) -> str:
    return path[len("file:"):] if path.startswith("file:") else path


def dir_bytes(path: str) -> int:
    """Bytes of every file under ``path`` (0 when absent). Local file systems only."""
    path = _local(path)
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


def _has_data(path: str) -> bool:
    path = _local(path)
    return os.path.isdir(path) and any(os.scandir(path))


# ----------------------------------------------------------------------------- configuration

def scale_label(scale: float) -> str:
    return f"{float(scale):g}"


def bench_config(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` whose data root is ``<bench.root>/scale-<scale>`` (never the user's data
    root). ``bench.output`` is resolved against the original root first, so every scale's results
    land in one folder."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    bench = cfg.get("bench") or {}
    output = str(bench.get("output") or os.path.join(str(cfg.paths.root), "ops", "bench"))
    root = os.path.join(str(bench.get("root") or os.path.join(str(cfg.paths.root), "..", "bench-data")),
                        f"scale-{scale_label(cfg.scale)}")
    OmegaConf.update(out, "bench.output", os.path.normpath(output), force_add=True)
    OmegaConf.update(out, "paths.root", os.path.normpath(root), force_add=True)
    return out


def _prepare_root(cfg: DictConfig, fresh: bool) -> None:
    """Wipe the bench root when asked, or when it holds data of another scale or seed."""
    root = _local(str(cfg.paths.root))
    want = {"scale": float(cfg.scale), "seed": int(cfg.seed)}
    marker = os.path.join(root, MARKER)
    have = None
    if os.path.exists(marker):
        with open(marker) as fh:
            have = json.load(fh)
    if os.path.isdir(root) and (fresh or have != want):
        if not os.path.basename(os.path.normpath(root)).startswith("scale-"):
            raise ValueError(f"bench: refusing to delete {root}: not a bench root (scale-*)")
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    with open(marker, "w") as fh:
        json.dump(want, fh)


def _clear(cfg: DictConfig, stages: tuple[str, ...]) -> None:
    root = _local(str(cfg.paths.root))
    for s in stages:
        for rel in OWNED[s]:
            shutil.rmtree(os.path.join(root, rel), ignore_errors=True)


# ----------------------------------------------------------------------------- stages

def _stage_generate(spark, cfg, log) -> dict:
    from lakehouse.simulate.runner import generate

    per_source = generate(spark, cfg, log=log)
    records = sum(r.records for r in per_source)
    return {"records_in": 0, "records_out": records, "rate_rows": records,
            "detail": {"sources": [vars(r) for r in per_source]}}


def _stage_bronze(spark, cfg, log) -> dict:
    from lakehouse.bronze.runner import run_bronze

    result = run_bronze(spark, cfg)
    landing = sum(s.landing_records for s in result.sources)
    files_only = [s for s in result.sources if s.format != "jdbc"]
    return {"records_in": landing, "records_out": result.rows, "rate_rows": landing,
            "detail": {"file_sources_rows_per_s": round(sum(s.landing_records for s in files_only)
                                                        / max(sum(s.seconds for s in files_only), 1e-9), 1),
                       "sources": [{"source": s.source, "format": s.format, "landing": s.landing_records,
                                    "rows": s.rows, "quarantined": s.quarantined, "seconds": round(s.seconds, 2)}
                                   for s in result.sources]}}


def _stage_silver(spark, cfg, log) -> dict:
    from lakehouse.silver.runner import run_silver

    result = run_silver(spark, cfg, log=log)
    return {"records_in": result.rows, "records_out": sum(b.accepted for b in result.batches),
            "rate_rows": result.rows,
            "detail": {"quarantined": sum(b.quarantined for b in result.batches),
                       "batches": [{"source": b.source, "batch": b.batch, "bronze_rows": b.bronze_rows,
                                    "accepted": b.accepted, "quarantined": b.quarantined,
                                    "seconds": round(b.seconds, 3),
                                    "rows_per_s": round(b.bronze_rows / b.seconds, 1) if b.seconds else None}
                                   for b in result.batches]}}


def _stage_gold(spark, cfg, log) -> dict:
    from lakehouse.gold.runner import run_gold

    result = run_gold(spark, cfg, log=log)
    golden = sum(result.tables.get(t, 0) for t in ("dim_citizen", "dim_enterprise"))
    return {"records_in": result.source_records, "records_out": golden, "rate_rows": result.source_records,
            "detail": {"tables": dict(result.tables), "stats": json.loads(json.dumps(result.stats, default=str))}}


def _stage_models(spark, cfg, log) -> dict:
    from lakehouse.models.cluster import dask_client
    from lakehouse.models.train import train_models

    with dask_client(cfg) as client:
        results = train_models(client, cfg)
    n_train = sum(r.n_train for r in results)
    return {"records_in": n_train + sum(r.n_test for r in results), "records_out": len(results),
            "rate_rows": n_train,
            "detail": {"models": [{"model": r.model, "n_train": r.n_train, "n_test": r.n_test,
                                   "auc": r.metrics.get("model_auc"), "promoted": r.promoted} for r in results]}}


RUNNERS: dict[str, Callable[[Any, DictConfig, Callable[[str], None]], dict]] = {
    "generate": _stage_generate, "bronze": _stage_bronze, "silver": _stage_silver,
    "gold": _stage_gold, "models": _stage_models,
}


def run_stage(spark, cfg: DictConfig, stage: str, log: Callable[[str], None] = print) -> dict:
    """Run one stage timed (wall time, peak memory) and measure its layer on disk afterwards."""
    with measure() as m:
        out = RUNNERS[stage](spark, cfg, log)
    layer = DISK_LAYERS[stage]
    rate_rows = out.pop("rate_rows")
    rec_rate = rate_rows / m["seconds"] if m["seconds"] else None
    rec = {"stage": stage, "records_in": out["records_in"], "records_out": out["records_out"],
           "rate_of": RATE_OF[stage], "seconds": m["seconds"],
           "rows_per_s": round(rate_rows / m["seconds"], 1) if m["seconds"] else None,
           "peak_memory_mb": m["peak_memory_mb"], "memory_growth_mb": m["memory_growth_mb"],
           "target_rows_per_s": TARGETS.get(stage),
           "meets_target": (rec_rate >= TARGETS[stage]) if stage in TARGETS and rec_rate else None,
           "disk_layer": layer,
           "disk_mb": round(dir_bytes(os.path.join(str(cfg.paths.root), layer)) / 2**20, 3)}
    rec.update(out.get("detail", {}))
    log(f"bench {stage}: {rate_rows:,} {RATE_OF[stage]} in {m['seconds']:.1f} s = "
        f"{rec['rows_per_s'] or 0:,.0f}/s, peak memory {m['peak_memory_mb']:,.0f} MB, "
        f"{layer} {rec['disk_mb']:,.1f} MB")
    return rec


def _ensure_before(spark, cfg: DictConfig, stage: str, log) -> None:
    """Run (untimed) every earlier stage whose output is absent."""
    root = str(cfg.paths.root)
    for s in STAGES[:STAGES.index(stage)]:
        if not _has_data(os.path.join(root, DISK_LAYERS[s])):
            log(f"bench: {s} output absent, running it first (not timed)")
            _clear(cfg, STAGES[STAGES.index(s):])
            RUNNERS[s](spark, cfg, log)


def environment(cfg: DictConfig) -> dict:
    return {"scale": float(cfg.scale), "seed": int(cfg.seed), "cores": os.cpu_count(),
            "machine": platform.platform(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()], "spark_master": str(cfg.get("spark_master")),
            "data_root": str(cfg.paths.root), "started_at": dt.datetime.now().isoformat(timespec="seconds")}


def run_bench(spark, cfg: DictConfig, stages: tuple[str, ...] = STAGES, *, fresh: bool = True,
              duckdb: bool = True, log: Callable[[str], None] = print) -> dict:
    """Benchmark ``stages`` in pipeline order on the bench root of ``cfg.scale``.

    ``cfg`` must come from :func:`bench_config`. With every stage (``stage=all``) the root is wiped
    first (``fresh``); with one stage, earlier stages are run untimed when their output is absent and
    the stage's own output (and everything downstream) is removed before it is timed. With silver
    timed and ``duckdb``, the DuckDB implementation of silver runs on the same bronze input of
    :data:`DUCKDB_SOURCE` and is compared with Spark's time for that source."""
    stages = tuple(s for s in STAGES if s in stages)
    _prepare_root(cfg, fresh and stages == STAGES)
    results: dict[str, Any] = {"stages_run": list(stages), **environment(cfg), "stages": {}}
    _ensure_before(spark, cfg, stages[0], log)
    _clear(cfg, STAGES[STAGES.index(stages[0]):])
    for s in stages:
        results["stages"][s] = run_stage(spark, cfg, s, log)
        if s == "silver" and duckdb:
            results["duckdb_comparison"] = compare_duckdb(cfg, results["stages"]["silver"], log)
    results["total_seconds"] = round(sum(r["seconds"] for r in results["stages"].values()), 3)
    results["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def compare_duckdb(cfg: DictConfig, silver: dict, log: Callable[[str], None] = print) -> dict:
    """DuckDB silver on :data:`DUCKDB_SOURCE`'s bronze table vs Spark's silver batches of that source."""
    from benchmarks import duckdb_silver

    spark_batches = [b for b in silver.get("batches", []) if b["source"] == DUCKDB_SOURCE]
    bronze_path = os.path.join(_local(str(cfg.paths.bronze)), DUCKDB_SOURCE)
    out_dir = os.path.join(_local(str(cfg.paths.root)), "bench_duckdb")
    with measure() as m:
        d = duckdb_silver.run_silver_duckdb(cfg, bronze_path, out_dir)
    spark_rows = sum(b["bronze_rows"] for b in spark_batches)
    spark_s = sum(b["seconds"] for b in spark_batches)
    spark_rate = spark_rows / spark_s if spark_s else None
    duck_rate = d["bronze_rows"] / m["seconds"] if m["seconds"] else None
    out = {"source": DUCKDB_SOURCE, "bronze_rows": d["bronze_rows"],
           "duckdb": {**d, "seconds": m["seconds"], "rows_per_s": round(duck_rate, 1) if duck_rate else None,
                      "peak_memory_mb": m["peak_memory_mb"], "memory_growth_mb": m["memory_growth_mb"],
                      "disk_mb": round(dir_bytes(out_dir) / 2**20, 3)},
           "spark": {"bronze_rows": spark_rows, "accepted": sum(b["accepted"] for b in spark_batches),
                     "quarantined": sum(b["quarantined"] for b in spark_batches), "seconds": round(spark_s, 3),
                     "rows_per_s": round(spark_rate, 1) if spark_rate else None},
           "duckdb_speedup": round(duck_rate / spark_rate, 2) if duck_rate and spark_rate else None,
           "note": ("same bronze rows; Spark's time is its silver batch for this source (standardise incl. "
                    "address resolution, dedupe, every rule, staging writes, quarantine and SCD2 MERGE into "
                    "Delta); DuckDB's is read bronze Delta + standardise/validate/dedupe + write accepted and "
                    "quarantine Parquet (no address resolution, no history merge)")}
    log(f"bench duckdb: {DUCKDB_SOURCE} {d['bronze_rows']:,} bronze rows: DuckDB {m['seconds']:.2f} s "
        f"({duck_rate or 0:,.0f} rows/s) vs Spark silver {spark_s:.2f} s ({spark_rate or 0:,.0f} rows/s): "
        f"DuckDB {out['duckdb_speedup']}x; accepted {d['accepted']:,} vs {out['spark']['accepted']:,}, "
        f"quarantined {d['quarantined']:,} vs {out['spark']['quarantined']:,}")
    return out


# ----------------------------------------------------------------------------- curve

def growth_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(records): 1.0 is linear growth."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x and y and x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return round(sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx, 3)


def merge_results(results: list[dict]) -> list[dict]:
    """One run per scale from saved results files (e.g. one file per stage): per scale and stage the
    latest measurement (by ``started_at``) wins; ``total_seconds`` is the sum of the kept stages."""
    by_scale: dict[float, dict] = {}
    for r in sorted(results, key=lambda r: r.get("started_at", "")):
        run = by_scale.setdefault(float(r["scale"]), {"scale": float(r["scale"]), "stages": {}, "results_file": []})
        run["stages"].update(r["stages"])
        if r.get("duckdb_comparison"):
            run["duckdb_comparison"] = r["duckdb_comparison"]
        run["results_file"].append(r.get("results_file"))
        run.update({k: r[k] for k in ("load_average", "started_at") if k in r})
    for run in by_scale.values():
        run["stages"] = {s: run["stages"][s] for s in STAGES if s in run["stages"]}
        run["total_seconds"] = round(sum(st["seconds"] for st in run["stages"].values()), 3)
    return [by_scale[k] for k in sorted(by_scale)]


def load_results(pattern: str) -> list[dict]:
    """Results JSON files matching a glob (curve files excluded), each tagged with its path."""
    files = sorted(f for f in glob.glob(pattern) if not os.path.basename(f).startswith("bench-curve"))
    if not files:
        raise FileNotFoundError(f"bench: no results files match {pattern}")
    out = []
    for f in files:
        with open(f) as fh:
            r = json.load(fh)
        if "stages" in r and "scale" in r:
            out.append({**r, "results_file": f})
    return out


def curve(runs: list[dict]) -> dict:
    """Scale curve from several ``run_bench`` results: per stage the (scale, records, seconds,
    rows/s) points and the growth exponent."""
    runs = sorted(runs, key=lambda r: r["scale"])
    stages: dict[str, Any] = {}
    for s in STAGES:
        pts = []
        for r in runs:
            st = r["stages"].get(s)
            if st:
                rec = st["records_out"] if s == "generate" else st["records_in"]
                pts.append({"scale": r["scale"], "records": rec, "seconds": st["seconds"],
                            "rows_per_s": st["rows_per_s"], "peak_memory_mb": st["peak_memory_mb"],
                            "disk_mb": st["disk_mb"]})
        if pts:
            stages[s] = {"points": pts,
                         "growth_exponent": growth_exponent([(p["records"], p["seconds"]) for p in pts])}
    # total: only runs that measured every stage seen at any scale (partial runs are not comparable)
    measured = set(stages)
    total = [(r["stages"]["generate"]["records_out"] if "generate" in r["stages"] else r["scale"],
              r["total_seconds"]) for r in runs if measured <= set(r["stages"])]
    duck = [{"scale": r["scale"], **{k: r["duckdb_comparison"][k]["rows_per_s"] for k in ("duckdb", "spark")},
             "duckdb_speedup": r["duckdb_comparison"]["duckdb_speedup"]}
            for r in runs if r.get("duckdb_comparison")]
    return {"scales": [r["scale"] for r in runs], "stages": stages, "total_growth_exponent": growth_exponent(total),
            "duckdb": duck, "runs": [r.get("results_file") for r in runs]}
