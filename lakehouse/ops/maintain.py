"""Table maintenance for every Delta table under bronze/, silver/, gold/ and ops/ (the catalog's tables,
at any depth): OPTIMIZE (with Z-order on configured lookup keys), VACUUM with the configured
retention, and statistics.

    reports = run_maintenance(spark, cfg)              # one TableReport per table
    print(summary_table(reports))

Per table, in this order (each step is skipped when switched off in ``ops.maintain``):

1. **OPTIMIZE**: bin-packing compaction, or ``ZORDER BY`` the table's lookup keys (first matching
   ``ops.maintain.zorder`` rule). Z-ordering needs per-file statistics on those columns; a table
   that restricts its statistics (``delta.dataSkippingStatsColumns``, as bronze does) gets the
   Z-order columns added first when ``extend_stats_columns`` is true, else it is only compacted.
2. **VACUUM** ``RETAIN <retention_hours> HOURS``.
3. **Statistics**: Spark's ``ANALYZE TABLE ... COMPUTE STATISTICS FOR ALL COLUMNS`` is tried once;
   Spark 4.1 rejects it for path-based Delta tables (``NOT_SUPPORTED_COMMAND_FOR_V2_TABLE``), so the
   step then checks Delta's own per-file statistics (the ones data skipping uses) and recomputes
   them for the table when some files lack them (Delta's ``StatisticsCollection.recompute``, the
   API Delta's error messages point to; it commits a ``COMPUTE STATS`` version).

Every Delta command runs under :func:`lakehouse.ops.retry.with_retry`: maintenance next to a running
job can lose a commit race (OPTIMIZE against a DELETE/MERGE) and simply runs again. Best run when no
job writes (cron after the nightly pipeline): a statistics-column change is a metadata commit that
makes concurrent writers fail with ``MetadataChangedException``.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf
from pyspark.sql import DataFrame, SparkSession

from lakehouse import catalog
from lakehouse.ops.retry import retry_settings, with_retry
from lakehouse.storage import data_files, qualified, sql_path
from lakehouse.storage.delta import delta_log

DEFAULT_RETENTION_HOURS = 168.0
LAYERS = catalog.LAYERS


@dataclass(frozen=True)
class ZOrderRule:
    pattern: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class MaintainSettings:
    layers: tuple[str, ...] = LAYERS
    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    optimize: bool = True
    min_files: int = 2
    zorder: tuple[ZOrderRule, ...] = ()
    extend_stats_columns: bool = True
    vacuum: bool = True
    retention_hours: float = DEFAULT_RETENTION_HOURS
    stats: bool = True
    recompute_stats: bool = True

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "MaintainSettings":
        node = (cfg.get("ops") or {}).get("maintain") or {}
        values = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
        known: dict[str, Any] = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        for key in ("layers", "tables", "exclude"):
            if key in known:
                known[key] = tuple(str(x) for x in known[key] or ())
        if "zorder" in known:
            known["zorder"] = tuple(ZOrderRule(str(r["pattern"]), tuple(str(c) for c in r.get("columns") or ()))
                                    for r in known["zorder"] or ())
        if "retention_hours" in known:
            known["retention_hours"] = float(known["retention_hours"])
        if "min_files" in known:
            known["min_files"] = int(known["min_files"])
        return cls(**known)

    def selects(self, qualified_name: str) -> bool:
        if any(fnmatch.fnmatchcase(qualified_name, p) for p in self.exclude):
            return False
        return not self.tables or any(fnmatch.fnmatchcase(qualified_name, p) for p in self.tables)


@dataclass
class TableReport:
    table: str                        # <layer>/<name>
    path: str
    files_before: int = 0             # live files (in the current version)
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    stored_files_before: int = 0      # data files on storage (live + removed but not vacuumed)
    stored_files_after: int = 0
    zorder: tuple[str, ...] = ()
    optimized: str = "-"              # zorder | compaction | skipped (...)
    vacuumed_files: int = 0
    stats: str = "-"
    seconds: float = 0.0
    status: str = "ok"
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(self.notes)


# --- pure helpers ------------------------------------------------------------------------------

def zorder_columns(qualified_name: str, columns: list[str], rules: tuple[ZOrderRule, ...],
                   key_column: str | None = None, partition_columns: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Z-order columns for a table: the first rule whose pattern matches, ``{key}`` replaced by
    ``key_column``, keeping only columns the table has and that are not partition columns."""
    for rule in rules:
        if fnmatch.fnmatchcase(qualified_name, rule.pattern):
            out: list[str] = []
            for col in rule.columns:
                col = key_column if col == "{key}" else col
                if col and col in columns and col not in partition_columns and col not in out:
                    out.append(col)
            return tuple(out)
    return ()


def source_keys(cfg: DictConfig) -> dict[str, str]:
    """bronze table name -> bronze column of the source's record key (for ``{key}``)."""
    from lakehouse.bronze.transforms import safe_name

    out = {}
    for name, node in (cfg.get("sources") or {}).items():
        key = node.get("key") if hasattr(node, "get") else None
        if key:
            out[str(name)] = safe_name(str(key))
    return out


# --- Delta facts --------------------------------------------------------------------------------

def table_detail(spark: SparkSession, path: str) -> dict[str, Any]:
    row = spark.sql(f"DESCRIBE DETAIL {sql_path(path)}").first().asDict()
    return {"files": int(row.get("numFiles") or 0), "bytes": int(row.get("sizeInBytes") or 0),
            "partition_columns": tuple(row.get("partitionColumns") or ()),
            "properties": dict(row.get("properties") or {})}


def _stored_files(spark: SparkSession, path: str) -> int:
    return sum(1 for _ in data_files(spark, path))


def files_without_stats(spark: SparkSession, path: str) -> tuple[int, int]:
    """(files lacking Delta statistics, live files), from the current snapshot's add actions."""
    spark.read.format("delta").load(qualified(path)).schema  # brings the cached DeltaLog up to date
    log = delta_log(spark, path)
    files = DataFrame(log.unsafeVolatileSnapshot().allFiles().toDF(), spark)
    row = files.selectExpr("count_if(stats IS NULL) AS missing", "count(*) AS n").first()
    return int(row["missing"] or 0), int(row["n"] or 0)


def recompute_stats(spark: SparkSession, path: str) -> None:
    """Delta's StatisticsCollection.recompute over the whole table (one ``COMPUTE STATS`` commit)."""
    jvm = spark.sparkContext._jvm
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    module = loader.loadClass("org.apache.spark.sql.delta.stats.StatisticsCollection$").getField("MODULE$").get(None)
    module.recompute(spark._jsparkSession, delta_log(spark, path), jvm.scala.Option.empty(),
                     getattr(module, "recompute$default$4")(), getattr(module, "recompute$default$5")())


# Commits that change neither data nor layout: they do not undo an earlier OPTIMIZE.
_NEUTRAL_OPERATIONS = {"VACUUM START", "VACUUM END", "COMPUTE STATS", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES"}


def already_optimized(spark: SparkSession, path: str, zorder: tuple[str, ...]) -> bool:
    """True when nothing but maintenance happened since an OPTIMIZE with the same Z-order columns
    (Z-ordering is not incremental: running it again would rewrite every file for nothing)."""
    import json

    from delta.tables import DeltaTable

    for row in DeltaTable.forPath(spark, path).history(50).select("operation", "operationParameters").collect():
        op = row["operation"]
        if op in _NEUTRAL_OPERATIONS:
            continue
        if op != "OPTIMIZE":
            return False
        try:
            done = tuple(json.loads((row["operationParameters"] or {}).get("zOrderBy") or "[]"))
        except ValueError:
            return False
        return done == tuple(zorder)
    return False


def _last_vacuum_deleted(spark: SparkSession, path: str) -> int:
    from delta.tables import DeltaTable

    for row in DeltaTable.forPath(spark, path).history(3).select("operation", "operationMetrics").collect():
        if row["operation"] == "VACUUM END":
            return int((row["operationMetrics"] or {}).get("numDeletedFiles", 0))
    return 0


# --- the steps ------------------------------------------------------------------------------------

class Maintainer:
    """Runs the maintenance steps on tables with one set of settings."""

    def __init__(self, spark: SparkSession, settings: MaintainSettings, keys: dict[str, str] | None = None,
                 retry: dict[str, Any] | None = None):
        self.spark, self.settings, self.keys = spark, settings, keys or {}
        self.retry = retry or {}
        self.analyze_supported: bool | None = None    # learnt on the first table

    def _retry(self, fn: Callable[[], Any], what: str) -> Any:
        return with_retry(fn, what=what, **self.retry)

    def table(self, ref: catalog.Table) -> TableReport:
        t0 = time.perf_counter()
        rep = TableReport(ref.qualified_name, ref.path)
        try:
            before = table_detail(self.spark, ref.path)
            rep.files_before, rep.bytes_before = before["files"], before["bytes"]
            rep.stored_files_before = _stored_files(self.spark, ref.path)
            if self.settings.optimize:
                self.optimize(ref, rep, before)
            if self.settings.vacuum:
                self.vacuum(ref, rep)
            if self.settings.stats:
                self.statistics(ref, rep)
            after = table_detail(self.spark, ref.path)
            rep.files_after, rep.bytes_after = after["files"], after["bytes"]
            rep.stored_files_after = _stored_files(self.spark, ref.path)
        except Exception as exc:  # noqa: BLE001 - one table's failure must not stop the others
            rep.status = "failed"
            rep.notes.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}")
        rep.seconds = time.perf_counter() - t0
        return rep

    def optimize(self, ref: catalog.Table, rep: TableReport, detail: dict[str, Any]) -> None:
        from delta.tables import DeltaTable

        columns = self.spark.read.format("delta").load(ref.path).columns
        key = self.keys.get(ref.name) if ref.layer == "bronze" else None
        cols = zorder_columns(ref.qualified_name, columns, self.settings.zorder, key, detail["partition_columns"])
        if not cols and detail["files"] < self.settings.min_files:
            rep.optimized = f"skipped ({detail['files']} file(s))"
            return
        if cols:
            stats_cols = detail["properties"].get("delta.dataSkippingStatsColumns")
            if stats_cols is not None:
                have = [c.strip() for c in stats_cols.split(",") if c.strip()]
                missing = [c for c in cols if c not in have]
                if missing and self.settings.extend_stats_columns:
                    value = ",".join(have + missing).replace("'", "\\'")
                    self._retry(lambda: self.spark.sql(
                        f"ALTER TABLE {sql_path(ref.path)} SET TBLPROPERTIES "
                        f"('delta.dataSkippingStatsColumns' = '{value}')"), f"set stats columns of {rep.table}")
                    rep.notes.append(f"statistics columns += {','.join(missing)}")
                elif missing:
                    rep.notes.append(f"no Z-order: no statistics on {','.join(missing)}")
                    cols = ()
        if already_optimized(self.spark, ref.path, cols):
            rep.zorder = cols
            rep.optimized = "up to date"
            return
        if cols:
            try:
                self._retry(lambda: DeltaTable.forPath(self.spark, ref.path).optimize().executeZOrderBy(*cols),
                            f"OPTIMIZE {rep.table} ZORDER BY {','.join(cols)}")
                rep.zorder, rep.optimized = cols, "zorder"
                return
            except Exception as exc:  # noqa: BLE001
                if "ZORDERING_ON_COLUMN_WITHOUT_STATS" not in str(exc):
                    raise
                rep.notes.append(f"no Z-order: no statistics on {','.join(cols)}")
        if detail["files"] < self.settings.min_files:
            rep.optimized = f"skipped ({detail['files']} file(s))"
            return
        self._retry(lambda: DeltaTable.forPath(self.spark, ref.path).optimize().executeCompaction(),
                    f"OPTIMIZE {rep.table}")
        rep.optimized = "compaction"

    def vacuum(self, ref: catalog.Table, rep: TableReport) -> None:
        from delta.tables import DeltaTable

        hours = self.settings.retention_hours
        check = "spark.databricks.delta.retentionDurationCheck.enabled"
        previous = self.spark.conf.get(check, "true")
        if hours < DEFAULT_RETENTION_HOURS:
            self.spark.conf.set(check, "false")
        try:
            self._retry(lambda: DeltaTable.forPath(self.spark, ref.path).vacuum(hours), f"VACUUM {rep.table}")
        finally:
            self.spark.conf.set(check, previous)
        rep.vacuumed_files = _last_vacuum_deleted(self.spark, ref.path)

    def statistics(self, ref: catalog.Table, rep: TableReport) -> None:
        parts = []
        if self.analyze_supported is not False:
            try:
                self.spark.sql(f"ANALYZE TABLE {sql_path(ref.path)} COMPUTE STATISTICS FOR ALL COLUMNS")
                self.analyze_supported = True
                parts.append("analyzed")
            except Exception as exc:  # noqa: BLE001
                if "NOT_SUPPORTED_COMMAND_FOR_V2_TABLE" not in str(exc) and "not supported" not in str(exc).lower():
                    raise
                self.analyze_supported = False
        try:
            missing, total = files_without_stats(self.spark, ref.path)
        except Exception as exc:  # noqa: BLE001 - internal API; report rather than fail
            rep.stats = "; ".join(parts + [f"delta stats unknown ({type(exc).__name__})"])
            return
        if missing and self.settings.recompute_stats:
            self._retry(lambda: recompute_stats(self.spark, ref.path), f"recompute statistics of {rep.table}")
            parts.append(f"delta stats recomputed ({missing}/{total} files lacked them)")
        elif missing:
            parts.append(f"delta stats missing on {missing}/{total} files")
        else:
            parts.append(f"delta stats complete ({total} files)")
        rep.stats = "; ".join(parts)


def discover(spark: SparkSession, cfg: DictConfig, settings: MaintainSettings) -> list[catalog.Table]:
    """The catalog's tables of the configured layers that the settings select."""
    return [t for t in catalog.tables(cfg, spark, settings.layers) if settings.selects(t.qualified_name)]


def run_maintenance(spark: SparkSession, cfg: DictConfig, runlog: Any = None,
                    log: Callable[[str], None] = print) -> list[TableReport]:
    """Maintain every selected Delta table; one report each (failures included, not raised)."""
    settings = MaintainSettings.from_config(cfg)
    refs = discover(spark, cfg, settings)
    log(f"maintain: {len(refs)} Delta table(s) under {', '.join(settings.layers)}; "
        f"retention {settings.retention_hours:g} h")
    maintainer = Maintainer(spark, settings, source_keys(cfg), retry_settings(cfg))
    progress = runlog.progress(len(refs), "maintain") if runlog is not None else None
    reports = []
    for ref in refs:
        rep = maintainer.table(ref)
        reports.append(rep)
        if runlog is not None:
            runlog.record("maintain", source=rep.table, seconds=rep.seconds, status=rep.status,
                          message=f"files {rep.files_before}->{rep.files_after}, stored {rep.stored_files_before}->"
                                  f"{rep.stored_files_after}, {rep.optimized}, vacuumed {rep.vacuumed_files}, "
                                  f"{rep.stats}" + (f"; {rep.message}" if rep.message else ""))
        if progress is not None:
            progress.update(rep.table, status=rep.status)
    return reports


def summary_table(reports: list[TableReport]) -> str:
    head = (f"{'table':<34} {'files':>11} {'stored':>11} {'MB':>13} {'optimize':<16} {'vacuumed':>8} "
            f"{'secs':>6}  status / statistics")
    lines = ["maintenance (files = live files before -> after; stored = data files on storage):", head,
             "-" * len(head)]
    for r in reports:
        mb = f"{r.bytes_before / 2**20:.1f}->{r.bytes_after / 2**20:.1f}"
        opt = r.optimized + (f"({','.join(r.zorder)})" if r.zorder and r.optimized == "zorder" else "")
        lines.append(f"{r.table:<34} {f'{r.files_before}->{r.files_after}':>11} "
                     f"{f'{r.stored_files_before}->{r.stored_files_after}':>11} {mb:>13} {opt[:16]:<16} "
                     f"{r.vacuumed_files:>8} {r.seconds:>6.1f}  {r.status}: {r.stats}"
                     + (f" [{r.message}]" if r.message else ""))
    failed = sum(r.status != "ok" for r in reports)
    lines.append(f"{len(reports)} table(s), {failed} failed, {sum(r.seconds for r in reports):.1f} s")
    return "\n".join(lines)
