"""Delta tables: reads, writes (append, overwrite, idempotent replace, SCD merges), facts about a
table (version, columns, last commit) and the DeltaLog through py4j (snapshots, checkpoints, log
history). Paths may be local or any Hadoop URI (see :mod:`lakehouse.storage.uri`)."""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.storage import fs
from lakehouse.storage.uri import join, local_path, qualified, sql_path

DELTA_LOG = "_delta_log"


# --- reading ---------------------------------------------------------------------------------------

def write_parquet(df: DataFrame, path: str, mode: str = "overwrite") -> None:
    df.write.mode(mode).parquet(path)


def read_delta(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def delta_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def delta_version(spark: SparkSession, path: str) -> int | None:
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).collect()[0]["version"])


def has_log(spark: SparkSession | None, path: str) -> bool:
    """True when ``path`` holds a ``_delta_log`` directory (what makes a directory a table)."""
    return fs.exists(spark, join(path, DELTA_LOG))


def read_delta_rows(spark: SparkSession, path: str, where: str | None = None) -> list[dict[str, Any]]:
    """Small ops tables (logs) as Python dicts; empty when the table does not exist yet."""
    if not delta_exists(spark, path):
        return []
    df = read_delta(spark, path)
    if where:
        df = df.where(where)
    return [r.asDict() for r in df.collect()]


def count_by_file(spark: SparkSession, path: str, files: list[str], where: str | None = None) -> dict[str, int]:
    """Committed rows per `_source_file` for the given files (read back from the Delta table)."""
    if not files or not delta_exists(spark, path):
        return {}
    df = read_delta(spark, path).where(sql_in("_source_file", files))
    if where:
        df = df.where(where)
    return {r[0]: int(r[1]) for r in df.groupBy("_source_file").count().collect()}


def distinct_values(spark: SparkSession, path: str, column: str) -> list[Any]:
    if not delta_exists(spark, path):
        return []
    return sorted(r[0] for r in spark.read.format("delta").load(path).select(column).distinct().collect()
                  if r[0] is not None)


def last_commit_metrics(spark: SparkSession, path: str) -> dict[str, str]:
    """operationMetrics of a Delta table's latest commit (e.g. numOutputRows of a write)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").collect()[0]
    return dict(row["operationMetrics"] or {})


def sql_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_in(column: str, values: Iterable[Any]) -> str:
    vals = list(values)
    items = ", ".join(sql_str(v) if isinstance(v, str) else str(int(v)) for v in vals)
    return f"`{column}` IN ({items})" if vals else "false"


# --- writing ---------------------------------------------------------------------------------------

def append_delta(df: DataFrame, path: str) -> None:
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(path)


def overwrite_delta(df: DataFrame, path: str) -> None:
    """Replace a whole table (schema included): silver's per-batch staging table."""
    df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)


def replace_delta(df: DataFrame, path: str, predicate: str, stats_columns: Iterable[str] = ()) -> None:
    """Atomically replace the rows matching `predicate` with `df` (Delta replaceWhere), creating the
    table on first use; new columns are added by schema evolution. Re-running the same replace gives
    the same table, which is what makes bronze idempotent and safe to kill. `stats_columns` limits
    Delta's per-file statistics to those columns (collecting them on dozens of raw string columns
    costs more than the write itself)."""
    spark = df.sparkSession
    if not delta_exists(spark, path):
        df.limit(0).write.format("delta").mode("append").save(path)
        cols = ",".join(stats_columns)
        if cols:
            spark.sql(f"ALTER TABLE {sql_path(path)} "
                      f"SET TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '{cols}')")
    (df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
     .option("mergeSchema", "true").save(path))


def merge_history(incoming: DataFrame, path: str, source: str) -> dict[str, int]:
    """Apply one source's batch to an SCD type 2 table keyed by (source, record_key).

    ``incoming`` has one row per key with ``_row_hash`` and the history columns of a new current
    version (valid_from, valid_to NULL, is_current true, is_deleted, delete_reason). A key whose
    hash equals its current version's is left alone (re-running a batch changes nothing); a changed
    key gets its current version closed (is_current false, valid_to = the new valid_from) and the new
    version inserted, in one MERGE (the classic "null merge key" trick). A version not newer than the
    current one (an old batch applied again) changes nothing. Returns inserted, closed,
    unchanged and source row counts from the commit's metrics."""
    from delta.tables import DeltaTable

    spark = incoming.sparkSession
    if not delta_exists(spark, path):
        incoming.limit(0).write.format("delta").partitionBy("source").save(path)
    target = DeltaTable.forPath(spark, path)
    current = (spark.read.format("delta").load(path)
               .where(f"source = {sql_str(source)} AND is_current")
               .select("record_key", F.col("_row_hash").alias("_current_hash"),
                       F.col("valid_from").alias("_current_from")))
    # Only a strictly newer version replaces the current one: re-applying an old batch is a no-op.
    newer = "s._row_hash <> t._row_hash AND s.valid_from > t.valid_from"
    changed = (incoming.join(current, "record_key", "inner")
               .where((F.col("_current_hash") != F.col("_row_hash")) & (F.col("valid_from") > F.col("_current_from")))
               .drop("_current_hash", "_current_from"))
    staged = incoming.withColumn("_merge_key", F.col("record_key")) \
        .unionByName(changed.withColumn("_merge_key", F.lit(None).cast("string")))
    cols = incoming.columns
    (target.alias("t").merge(staged.alias("s"),
                             f"t.source = {sql_str(source)} AND t.is_current AND t.record_key = s._merge_key")
     .whenMatchedUpdate(condition=newer,
                        set={"is_current": "false", "valid_to": "s.valid_from"})
     .whenNotMatchedInsert(values={c: f"s.`{c}`" for c in cols})
     .withSchemaEvolution()
     .execute())
    m = last_commit_metrics(spark, path)
    if m.get("numSourceRows") is None:  # an empty source may commit nothing
        return {"source_rows": 0, "inserted": 0, "closed": 0, "unchanged": 0}
    src, ins, upd = (int(m.get(k, 0)) for k in ("numSourceRows", "numTargetRowsInserted", "numTargetRowsUpdated"))
    keys = src - upd                       # staged = every key + one extra row per changed key
    return {"source_rows": keys, "inserted": ins, "closed": upd, "unchanged": keys - ins}


def merge_current(incoming: DataFrame, path: str, source: str) -> dict[str, int]:
    """Upsert one source's batch into an SCD type 1 table keyed by (source, record_key): rows whose
    ``_row_hash`` changed are updated, new keys inserted, deletes kept as is_deleted rows."""
    from delta.tables import DeltaTable

    spark = incoming.sparkSession
    if not delta_exists(spark, path):
        incoming.limit(0).write.format("delta").partitionBy("source").save(path)
    (DeltaTable.forPath(spark, path).alias("t")
     .merge(incoming.alias("s"), f"t.source = {sql_str(source)} AND t.record_key = s.record_key")
     .whenMatchedUpdateAll(condition="t._row_hash <> s._row_hash")
     .whenNotMatchedInsertAll()
     .withSchemaEvolution()
     .execute())
    m = last_commit_metrics(spark, path)
    return {"source_rows": int(m.get("numSourceRows", 0)), "inserted": int(m.get("numTargetRowsInserted", 0)),
            "updated": int(m.get("numTargetRowsUpdated", 0))}


# --- the DeltaLog (py4j) ---------------------------------------------------------------------------

def delta_log(spark: SparkSession, path: str) -> Any:
    """The table's (cached) org.apache.spark.sql.delta.DeltaLog."""
    return spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession,
                                                                               qualified(path))


def snapshot(spark: SparkSession, path: str) -> Any:
    """The table's current snapshot, brought up to date from the log (no Spark job)."""
    jvm = spark.sparkContext._jvm
    return delta_log(spark, path).update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def log_version(spark: SparkSession, path: str) -> int | None:
    """Current Delta version of a table, from its log (no Spark job); None if it is not a Delta table."""
    if not has_log(spark, path):
        return None
    v = int(snapshot(spark, path).version())
    return v if v >= 0 else None


_LOG_FILE = re.compile(r"^\.?(\d{20})\.")


def drop_history(spark: SparkSession, path: str) -> int:
    """Checkpoint the current version, then delete the log files of older versions (commits, their
    checksums, older checkpoints). Time travel before the checkpoint is no longer possible. Returns
    the number of files deleted."""
    delta_log(spark, path).checkpoint()
    log_dir = join(qualified(path), DELTA_LOG)
    checkpoint = int(json.loads(fs.read_text(spark, join(log_dir, "_last_checkpoint")))["version"])
    deleted = 0
    for name in fs.list_files(spark, log_dir):
        m = _LOG_FILE.match(name)
        if m and int(m.group(1)) < checkpoint and fs.delete(spark, join(log_dir, name)):
            deleted += 1
    return deleted


# --- schema ----------------------------------------------------------------------------------------

def columns(spark: SparkSession | None, path: str) -> list[str]:
    """Top-level column names of a Delta table. With a session, as Spark reads the table (any file
    system); without one, from the table's own log on the local file system (no JVM)."""
    if spark is not None:
        return list(read_delta(spark, path).columns)
    meta = local_metadata(path)
    return [f["name"] for f in json.loads(meta["schemaString"])["fields"]]


_COMMIT = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.\d+\.\d+|\.[0-9a-fA-F-]+)?\.(parquet|json)$")


def local_metadata(path: str) -> dict[str, Any]:
    """The latest ``metaData`` action of a local Delta table, read from its log with the protocol's
    rules (newest checkpoint, then the JSON commits after it) and without Spark."""
    log = os.path.join(local_path(path), DELTA_LOG)
    names = os.listdir(log)
    commits = sorted(int(m.group(1)) for n in names if (m := _COMMIT.match(n)))
    checkpoints: dict[int, list[str]] = {}
    for n in names:
        m = _CHECKPOINT.match(n)
        if m:
            checkpoints.setdefault(int(m.group(1)), []).append(n)
    start, meta = -1, None
    if checkpoints:
        start = max(checkpoints)
        for n in sorted(checkpoints[start]):
            meta = _checkpoint_metadata(os.path.join(log, n)) or meta
    for v in commits:
        if v <= start:
            continue
        with open(os.path.join(log, f"{v:020d}.json"), encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    action = json.loads(line)
                    if "metaData" in action:
                        meta = action["metaData"]
    if meta is None:
        raise ValueError(f"{path}: no metaData action in the Delta log")
    return meta


def _checkpoint_metadata(file: str) -> dict[str, Any] | None:
    if file.endswith(".json"):
        with open(file, encoding="utf-8") as fh:
            found = [a["metaData"] for a in (json.loads(ln) for ln in fh if ln.strip()) if "metaData" in a]
        return found[-1] if found else None
    import pyarrow.parquet as pq

    rows = pq.read_table(file, columns=["metaData"]).column("metaData").to_pylist()
    return next((r for r in rows if r and r.get("schemaString")), None)
