"""Generate one batch of every selected source: landing files or database rows, plus the truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import asdict, dataclass

from omegaconf import DictConfig, OmegaConf
from pyspark import StorageLevel
from pyspark.sql import SparkSession

from lakehouse import io
from lakehouse.config import SourceSpec, selected_sources
from lakehouse.simulate import formats
from lakehouse.simulate.population import World
from lakehouse.simulate.sources import build_source, source_size


@dataclass
class SourceResult:
    source: str
    format: str
    records: int
    files: int
    bytes: int
    seconds: float


def world_from_config(cfg: DictConfig) -> World:
    g = cfg.generate
    factor = float(cfg.scale) * float(g.total_records) / 157e6
    return World(
        seed=int(cfg.seed),
        citizens=max(1000, int(round(float(g.citizens_millions) * 1e6 * factor))),
        enterprises=max(100, int(round(float(g.enterprises_millions) * 1e6 * factor))),
        batch=int(cfg.batch),
        snapshot_date=dt.date.fromisoformat(str(g.snapshot_date)),
        batch_days=int(g.batch_days),
        rates={k: float(g[k]) for k in ("insert_rate", "update_rate", "delete_rate", "move_rate",
                                        "rename_rate", "death_rate", "dissolve_rate")},
    )


def fault_rates(cfg: DictConfig, spec: SourceSpec) -> dict[str, float]:
    rates = {k: float(v) for k, v in OmegaConf.to_container(cfg.generate.faults, resolve=True).items()}
    for k, v in (spec.generator.get("faults") or {}).items():
        if k not in rates:
            raise ValueError(f"conf/sources/{spec.name}.yaml: generator.faults.{k} is not a known fault; "
                             f"known: {sorted(rates)}")
        rates[k] = float(v)
    return rates


def generate(spark: SparkSession, cfg: DictConfig, log=print) -> list[SourceResult]:
    """Write batch `cfg.batch` of every selected source under landing/ (or into the source
    database) and its truth under truth/. Re-running the same batch rewrites it identically."""
    world = world_from_config(cfg)
    specs = selected_sources(cfg)
    rows_per_file = int(cfg.generate.rows_per_file)
    results = []
    log(f"generate: batch {world.batch}, scale {cfg.scale}, seed {world.seed}, "
        f"{world.citizens:,} citizens, {world.enterprises:,} enterprises, {len(specs)} sources")
    file_sources = [s for s in specs if not s.is_database]
    for i, spec in enumerate(specs, 1):
        t0 = time.perf_counter()
        n_base = source_size(spec, int(cfg.generate.total_records), float(cfg.scale))
        # One evaluation feeds the landing write, the truth write and the count: the generated
        # plan is large, and evaluating it once per output used to dominate small scales.
        df = build_source(spark, world, spec, fault_rates(cfg, spec), n_base, rows_per_file) \
            .persist(StorageLevel.MEMORY_AND_DISK)
        try:
            truth_path = f"{cfg.paths.truth}/{spec.name}/batch-{world.batch:05d}"
            if spec.is_database:
                db = io.Database.from_config(cfg.database)
                io.write_database_batch(formats.landing_columns(df), spec, db, world.batch)
                files, size = 0, 0
            else:
                out = io.batch_dir(cfg.paths.landing, spec.name, world.batch)
                payload = {"csv": lambda: formats.csv_lines(df, spec), "json": lambda: formats.json_lines(df)} \
                    .get(spec.format, lambda: formats.landing_columns(df))()
                written = io.write_landing(payload, spec, out)
                files, size = len(written), io.dir_bytes(out)
            io.write_parquet(formats.truth_columns(df, spec.name, world.batch), truth_path)
            records = df.count()
        finally:
            df.unpersist()
        res = SourceResult(spec.name, spec.format, records, files, size, time.perf_counter() - t0)
        results.append(res)
        log(f"  [{i:2d}/{len(specs)}] {spec.name:<24} {spec.format:<8} {records:>10,} records "
            f"{files:>3} files {size / 1e6:>8.1f} MB {res.seconds:>6.1f} s")
    faults = inject_file_faults(cfg, world, file_sources)
    for f in faults:
        log(f"  file fault: {f.fault} in {f.source}: {os.path.basename(f.file)} ({f.detail})")
    return results


def inject_file_faults(cfg: DictConfig, world: World, specs: list[SourceSpec]) -> list[io.FileFault]:
    """Damage a few delivered files, as transfers do: a file sent twice under another name, a file
    cut off, an empty file. Which files is a function of (seed, batch). Logged under truth/."""
    if not specs:
        return []
    import random

    rnd = random.Random(world.seed * 1000 + world.batch)
    faults: list[io.FileFault] = []
    ff = cfg.generate.file_faults
    for kind, count in (("duplicate", int(ff.duplicate_files)), ("truncate", int(ff.truncated_files)),
                        ("empty", int(ff.empty_files))):
        for _ in range(count):
            spec = rnd.choice(specs)
            directory = io.batch_dir(cfg.paths.landing, spec.name, world.batch)
            files = [f for f in io.landing_files(cfg.paths.landing, spec.name, world.batch)
                     if os.path.getsize(f) > 0 and "_resent" not in f]
            if kind == "empty":
                faults.append(io.empty_file(directory, spec.name, io.EXTENSIONS[spec.format]))
            elif files:
                target = rnd.choice(files)
                faults.append(io.duplicate_file(target) if kind == "duplicate" else io.truncate_file(target))
    path = f"{cfg.paths.truth}/_file_faults/batch-{world.batch:05d}.jsonl"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        for f in faults:
            fh.write(json.dumps(asdict(f)) + "\n")
    return faults


def summary_table(results: list[SourceResult]) -> str:
    lines = [f"{'source':<24} {'format':<8} {'records':>12} {'files':>6} {'MB':>9} {'seconds':>8}"]
    for r in results:
        lines.append(f"{r.source:<24} {r.format:<8} {r.records:>12,} {r.files:>6} {r.bytes / 1e6:>9.1f} {r.seconds:>8.1f}")
    total = sum(r.records for r in results)
    secs = sum(r.seconds for r in results)
    lines.append(f"{'total':<24} {'':<8} {total:>12,} {sum(r.files for r in results):>6} "
                 f"{sum(r.bytes for r in results) / 1e6:>9.1f} {secs:>8.1f}")
    if secs > 0:
        lines.append(f"throughput: {total / secs:,.0f} records/s")
    return "\n".join(lines)


