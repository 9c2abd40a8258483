"""Silver orchestration: for every source and every bronze batch not yet applied, standardise,
deduplicate and check the rows (one pass, rule metrics observed during that pass), quarantine what
a drop rule rejects, merge the rest into the canonical tables with history, then reconcile.

Tables written (``<silver>/``): ``citizen_records`` and ``enterprise_records`` (SCD type 2,
partitioned by source), one fact table per ``silver.fact`` (current state), ``_quarantine`` and a
per-source staging table ``_staging/<source>``. Ops tables: ``silver_batches`` (what was applied),
``silver_rule_metrics`` (per run, source, batch and rule) and ``silver_reconciliation``.

Order of commits per batch: staging (overwrite), quarantine (replaceWhere source + batch), entity
and fact MERGEs, then the ops rows. A run killed in the middle leaves the batch unlogged; the next
run applies it again, and since the MERGEs are idempotent the tables end as after a clean run.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.config import SourceSpec, selected_sources, table_path
from lakehouse.errors import SilverError
from lakehouse.runctx import new_run_id
from lakehouse.silver import model as M

ENTITY_TABLES = {"citizen": "citizen_records", "enterprise": "enterprise_records"}
QUARANTINE = "_quarantine"
BATCH_LOG = "silver_batches"
RULE_METRICS = "silver_rule_metrics"
RECONCILIATION = "silver_reconciliation"

BATCH_LOG_SCHEMA = ("run_id STRING, source STRING, batch INT, bronze_rows LONG, accepted LONG, quarantined LONG, "
                    "inserted LONG, closed LONG, unchanged LONG, fact_rows LONG, seconds DOUBLE, applied_at TIMESTAMP")
METRICS_SCHEMA = ("run_id STRING, source STRING, batch INT, rule_id STRING, criterion STRING, action STRING, "
                  "rows LONG, violations LONG, measured_at TIMESTAMP")
RECON_SCHEMA = ("run_id STRING, source STRING, batch INT, bronze_rows LONG, silver_rows LONG, quarantined LONG, "
                "difference LONG, reconciled BOOLEAN, checked_at TIMESTAMP")
# Columns that are bookkeeping, not content: they do not make a new version.
UNVERSIONED = ("_run_id", "dq_flags", "_source_file", "_source_position", "_source_batch")


@dataclass
class BatchRun:
    source: str
    batch: int
    bronze_rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    inserted: int = 0
    closed: int = 0
    unchanged: int = 0
    fact_rows: int = 0
    seconds: float = 0.0
    violations: dict[str, int] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)   # silver tables this batch merged into
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step (standardise, check, ...)

    @property
    def difference(self) -> int:
        return self.bronze_rows - (self.accepted + self.quarantined)


@dataclass
class SilverResult:
    run_id: str
    batches: list[BatchRun]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(b.bronze_rows for b in self.batches)


def _settings(cfg: DictConfig) -> dict[str, Any]:
    node = cfg.get("silver") or {}
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def _with_versioning(df: DataFrame, content: list[str]) -> DataFrame:
    deleted = F.col("op") == "D"
    return df.withColumns({
        "_row_hash": F.sha2(F.to_json(F.struct(*[F.col(c) for c in content])), 256),
        "valid_from": F.col("updated_at"),
        "valid_to": F.lit(None).cast("timestamp"),
        "is_current": F.lit(True),
        "is_deleted": deleted,
        "delete_reason": F.when(deleted, F.lit("deleted_in_source")),
    })


def _content_columns(df: DataFrame) -> list[str]:
    return [c for c in df.columns if c not in UNVERSIONED]


def _fail_message(spark: SparkSession, staging: str, source: str, batch: int) -> str:
    rows = (io.read_delta(spark, staging).where("_fail")
            .select("_source_file", "_source_position", "record_key",
                    F.filter("_violations", lambda v: v["action"] == "fail").alias("v"))
            .limit(5).collect())
    lines = [f"  {r['_source_file']} row {r['_source_position']} (key {r['record_key']}): "
             + "; ".join(f"rule {v['rule_id']}: {v['reason']}" for v in r["v"]) for r in rows]
    return (f"silver: {source} batch {batch}: a fail rule fired; nothing of this batch was applied.\n"
            + "\n".join(lines))


def _apply_batch(spark: SparkSession, cfg: DictConfig, spec: SourceSpec, silver: M.SilverSpec,
                 rules: list[M.Rule], nullable: set[str], bronze: DataFrame, batch: int, run_id: str,
                 settings: dict[str, Any]) -> BatchRun:
    t0 = time.perf_counter()
    run = BatchRun(spec.name, batch)
    rows = bronze.where(F.col("_source_batch") == batch)
    # Stage 1 materialises the standardised rows: the standardisers make large expressions, and
    # cutting the plan here keeps the analysis of every later step cheap.
    std_path = table_path(cfg, "silver", f"_staging/{spec.name}/standardised")
    io.overwrite_delta(M.standardise_records(rows, spec, silver, run_id), std_path)
    run.steps["standardise"] = time.perf_counter() - t0
    std = io.read_delta(spark, std_path)
    # Stage 2: addresses, in-batch duplicates and rules; rule metrics are observed during this write.
    staged = M.with_rules(M.with_duplicates(M.resolve_records(std, silver), silver), rules, silver, nullable)
    staging = table_path(cfg, "silver", f"_staging/{spec.name}/checked")
    obs = Observation(f"silver_{spec.name}_{batch}")
    io.overwrite_delta(staged.observe(obs, *M.rule_metrics(rules)), staging)
    metrics = obs.get
    run.steps["check"] = time.perf_counter() - t0 - sum(run.steps.values())
    run.bronze_rows = int(metrics["rows"] or 0)
    run.violations = {r.id: int(metrics[f"r{i}"] or 0) for i, r in enumerate(rules)}
    if int(metrics["failed"] or 0):
        raise SilverError(_fail_message(spark, staging, spec.name, batch))
    # Exact copies (a re-sent file) lose nothing: by default they do not count towards the rate.
    excluded = set(settings.get("drop_rate_excludes") or [])
    dropped = max(int(metrics["dropped"] or 0) - sum(run.violations.get(r, 0) for r in excluded), 0)
    max_rate = float(settings.get("max_drop_rate", 0.1))
    if run.bronze_rows and dropped / run.bronze_rows > max_rate:
        top = sorted(((n, rid) for rid, n in run.violations.items() if n and rid not in excluded), reverse=True)[:3]
        raise SilverError(f"silver: {spec.name} batch {batch}: {dropped} of {run.bronze_rows} rows "
                          f"({dropped / run.bronze_rows:.1%}) hit drop rules, over silver.max_drop_rate={max_rate}; "
                          f"most frequent rules: {top}. Nothing of this batch was applied.")

    staged = io.read_delta(spark, staging)
    where = f"source = {io.sql_str(spec.name)} AND _source_batch = {batch}"
    quarantine = M.quarantine_rows(staged)
    io.replace_delta(quarantine, table_path(cfg, "silver", QUARANTINE), where,
                     stats_columns=("source", "_source_batch", "rule_id"))
    # Counted back from the table (small), not taken from the observation: an independent check.
    run.quarantined = io.read_delta(spark, table_path(cfg, "silver", QUARANTINE)).where(where).count()
    run.steps["quarantine"] = time.perf_counter() - t0 - sum(run.steps.values())

    for kind, table in ENTITY_TABLES.items():
        if kind != silver.table and not (silver.organisation and kind == "enterprise"):
            continue
        records = M.entity_rows(staged, kind)
        m = io.merge_history(_with_versioning(records, _content_columns(records)),
                             table_path(cfg, "silver", table), spec.name)
        run.accepted += m["source_rows"]
        run.inserted += m["inserted"]
        run.closed += m["closed"]
        run.unchanged += m["unchanged"]
        run.tables.append(table)
    run.steps["merge"] = time.perf_counter() - t0 - sum(run.steps.values())
    facts = M.fact_rows(staged, silver)
    if facts is not None:
        facts = facts.withColumns({"_row_hash": F.sha2(F.to_json(F.struct(*_content_columns(facts))), 256),
                                   "is_deleted": F.col("op") == "D"})
        m = io.merge_current(facts, table_path(cfg, "silver", f"fact_{silver.fact}"), spec.name)
        run.fact_rows = m["source_rows"]
        run.tables.append(f"fact_{silver.fact}")
        run.steps["fact"] = time.perf_counter() - t0 - sum(run.steps.values())
    if not settings.get("keep_staging"):
        io.remove_tree(spark, table_path(cfg, "silver", f"_staging/{spec.name}"))
    run.seconds = time.perf_counter() - t0
    return run


class _OpsRows:
    """Rule metrics, reconciliation and batch-log rows of a run, appended once at the end (three
    Delta commits per run instead of three per batch). A batch applied but not yet logged when a run
    dies is applied again by the next run, which the merge makes a no-op."""

    def __init__(self, run_id: str, rules: list[M.Rule]) -> None:
        self.run_id, self.rules = run_id, rules
        self.metrics: list[tuple] = []
        self.recon: list[tuple] = []
        self.log: list[tuple] = []

    def add(self, run: BatchRun, silver: M.SilverSpec, independent_bronze_rows: int) -> None:
        now = dt.datetime.now()
        actions = {r.id: silver.rule_actions.get(r.id, r.action) for r in self.rules}
        self.metrics += [(self.run_id, run.source, run.batch, r.id, r.criterion, actions[r.id], run.bronze_rows,
                          run.violations.get(r.id, 0), now) for r in self.rules]
        diff = independent_bronze_rows - (run.accepted + run.quarantined)
        self.recon.append((self.run_id, run.source, run.batch, independent_bronze_rows, run.accepted,
                           run.quarantined, diff, diff == 0, now))
        self.log.append((self.run_id, run.source, run.batch, run.bronze_rows, run.accepted, run.quarantined,
                         run.inserted, run.closed, run.unchanged, run.fact_rows, run.seconds, now))

    def write(self, spark: SparkSession, cfg: DictConfig) -> None:
        for rows, schema, table in ((self.metrics, METRICS_SCHEMA, RULE_METRICS),
                                    (self.recon, RECON_SCHEMA, RECONCILIATION),
                                    (self.log, BATCH_LOG_SCHEMA, BATCH_LOG)):
            if rows:
                io.append_delta(spark.createDataFrame(rows, schema), table_path(cfg, "ops", table))


def _applied_batches(spark: SparkSession, cfg: DictConfig) -> dict[str, set[int]]:
    """Batches already applied, per source (one read of the batch log)."""
    path = table_path(cfg, "ops", BATCH_LOG)
    out: dict[str, set[int]] = {}
    if io.delta_exists(spark, path):
        for r in io.read_delta(spark, path).select("source", "batch").distinct().collect():
            out.setdefault(r["source"], set()).add(r["batch"])
    return out


def run_silver(spark: SparkSession, cfg: DictConfig, log: Callable[[str], None] = print,
               run_id: str | None = None) -> SilverResult:
    """Apply every pending bronze batch of the selected sources to silver. ``run_id`` (the job's, see
    :mod:`lakehouse.runctx`) stamps ``_run_id`` and the ops rows; a fresh one if omitted."""
    t0 = time.perf_counter()
    run_id = run_id or new_run_id("silver")
    settings = _settings(cfg)
    rules = M.load_rules(settings.get("rules") or [])
    specs = selected_sources(cfg)
    silvers = {s.name: M.silver_spec(s) for s in specs}
    all_silvers = [M.silver_spec(s) for s in selected_sources(OmegaConf.merge(cfg, {"only": []}))]
    nullable = M.known_rule_columns(all_silvers)
    batches: list[BatchRun] = []
    errors: list[str] = []
    ops = _OpsRows(run_id, rules)
    applied = {} if settings.get("reprocess") else _applied_batches(spark, cfg)
    try:
        _apply_pending(spark, cfg, specs, silvers, rules, nullable, run_id, settings, applied, ops, batches, errors,
                       log)
    finally:
        ops.write(spark, cfg)
    result = SilverResult(run_id, batches, time.perf_counter() - t0)
    if errors:
        raise SilverError("silver: reconciliation failed:\n  " + "\n  ".join(errors))
    return result


def _apply_pending(spark, cfg, specs, silvers, rules, nullable, run_id, settings, applied, ops, batches, errors,
                   log) -> None:
    for i, spec in enumerate(specs, 1):
        bronze_path = table_path(cfg, "bronze", spec.name)
        if not io.delta_exists(spark, bronze_path):
            log(f"silver [{i}/{len(specs)}] {spec.name}: no bronze table yet, skipped")
            continue
        bronze = io.read_delta(spark, bronze_path)
        available = io.distinct_values(spark, bronze_path, "_source_batch")
        done = applied.get(spec.name, set())
        pending = [b for b in available if b not in done]
        if not pending:
            log(f"silver [{i}/{len(specs)}] {spec.name}: up to date (batches {available})")
            continue
        for b in pending:
            run = _apply_batch(spark, cfg, spec, silvers[spec.name], rules, nullable, bronze, b, run_id, settings)
            independent = bronze.where(F.col("_source_batch") == b).count()
            ops.add(run, silvers[spec.name], independent)
            batches.append(run)
            rate = run.bronze_rows / run.seconds if run.seconds else 0.0
            log(f"silver [{i}/{len(specs)}] {spec.name} batch {b}: {run.bronze_rows:,} rows -> "
                f"{run.accepted:,} accepted ({run.inserted:,} new versions, {run.unchanged:,} unchanged), "
                f"{run.quarantined:,} quarantined, {sum(1 for v in run.violations.values() if v)} rules fired "
                f"in {run.seconds:.1f} s ({rate:,.0f} rows/s; "
                + ", ".join(f"{k} {v:.1f} s" for k, v in run.steps.items()) + ")")
            if independent != run.accepted + run.quarantined:
                errors.append(f"{spec.name} batch {b}: bronze {independent:,} != silver {run.accepted:,} "
                              f"+ quarantine {run.quarantined:,}")


def summary_table(result: SilverResult) -> str:
    lines = [f"{'source':<26}{'batch':>6}{'bronze':>10}{'silver':>10}{'quarant.':>10}{'new ver.':>10}{'rows/s':>10}"]
    for b in result.batches:
        rate = b.bronze_rows / b.seconds if b.seconds else 0.0
        lines.append(f"{b.source:<26}{b.batch:>6}{b.bronze_rows:>10,}{b.accepted:>10,}{b.quarantined:>10,}"
                     f"{b.inserted:>10,}{rate:>10,.0f}")
    total = result.rows
    lines.append(f"{'total':<32}{total:>10,}{sum(b.accepted for b in result.batches):>10,}"
                 f"{sum(b.quarantined for b in result.batches):>10,}"
                 f"{sum(b.inserted for b in result.batches):>10,}"
                 f"{(total / result.seconds if result.seconds else 0):>10,.0f}")
    return "\n".join(lines)
