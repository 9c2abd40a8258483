"""All storage access: landing files, relational source databases and Delta tables.

Everything else in the library takes and returns DataFrames."""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import ConfigError, SourceSpec

EXTENSIONS = {"csv": "csv", "json": "jsonl", "xml": "xml", "parquet": "parquet"}


# --- landing files ---------------------------------------------------------------------------

def batch_dir(landing: str, source: str, batch: int) -> str:
    return f"{landing}/{source}/batch-{batch:05d}"


def landing_files(landing: str, source: str, batch: int | None = None) -> list[str]:
    """Data files of a source (one batch or all), in a stable order."""
    pattern = batch_dir(landing, source, batch) if batch is not None else f"{landing}/{source}/batch-*"
    return sorted(p for p in glob.glob(f"{pattern}/*") if not os.path.basename(p).startswith((".", "_")))


def write_landing(df: DataFrame, spec: SourceSpec, path: str) -> list[str]:
    """Write one batch of a file source in its own format; returns the files written, renamed to
    `<source>_<batch-dir>_pNNNNN.<ext>` the way an agency would name its extracts."""
    fmt = spec.format
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        (writer.option("header", "true").option("sep", "\u0001").option("quote", "")
         .option("escapeQuotes", "false").option("quoteAll", "false")
         .option("ignoreLeadingWhiteSpace", "false").option("ignoreTrailingWhiteSpace", "false")
         .option("encoding", spec.encoding).option("lineSep", "\n").csv(path))
    elif fmt == "json":
        writer.text(path)
    elif fmt == "xml":
        root = spec.raw.get("format", {}).get("root_tag", "ROWS")
        writer.format("xml").option("rowTag", spec.row_tag).option("rootTag", root).save(path)
    elif fmt == "parquet":
        writer.parquet(path)
    else:
        raise ConfigError(f"conf/sources/{spec.name}.yaml: format '{fmt}' is not a file format")
    return _rename_parts(path, spec.name, EXTENSIONS[fmt])


def _rename_parts(path: str, source: str, ext: str) -> list[str]:
    out = []
    tag = os.path.basename(path)
    for i, part in enumerate(sorted(glob.glob(f"{path}/part-*"))):
        target = f"{path}/{source}_{tag}_p{i:05d}.{ext}"
        os.replace(part, target)
        out.append(target)
    for junk in glob.glob(f"{path}/.*crc") + glob.glob(f"{path}/_*"):
        os.remove(junk)
    return out


@dataclass
class FileFault:
    source: str
    file: str
    fault: str
    detail: str


def duplicate_file(path: str) -> FileFault:
    """The same extract delivered twice under another name."""
    stem, ext = os.path.splitext(path)
    target = f"{stem}_resent{ext}"
    shutil.copyfile(path, target)
    return FileFault(Path(path).parts[-3], target, "duplicate_file", f"copy of {os.path.basename(path)}")


def truncate_file(path: str, keep: float = 0.7) -> FileFault:
    """A transfer cut off part-way (mid-line, mid-record)."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))
    return FileFault(Path(path).parts[-3], path, "truncated_file", f"{size} -> {int(size * keep)} bytes")


def empty_file(directory: str, source: str, ext: str) -> FileFault:
    target = f"{directory}/{source}_{os.path.basename(directory)}_empty.{ext}"
    open(target, "wb").close()
    return FileFault(source, target, "empty_file", "0 bytes")


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(f"{path}/**", recursive=True) if os.path.isfile(p))


# --- relational source databases -------------------------------------------------------------

@dataclass(frozen=True)
class Database:
    """Where the relational source systems live. Credentials are read from the environment only."""

    kind: str
    url: str
    fetch_size: int = 10000
    partitions: int = 4

    @classmethod
    def from_config(cls, db_cfg: Any) -> "Database":
        kind = str(db_cfg.kind)
        if kind == "sqlite":
            path = os.path.abspath(str(db_cfg.sqlite_path))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            url = f"jdbc:sqlite:{path}"
        elif kind == "postgres":
            url = str(db_cfg.postgres_url)
            if "password=" in url.lower() or "@" in url:
                raise ConfigError("database.postgres_url must not carry credentials; set "
                                  "LAKEHOUSE_PG_USER and LAKEHOUSE_PG_PASSWORD (or LAKEHOUSE_PG_PASSWORD_FILE)")
        else:
            raise ConfigError(f"database.kind '{kind}' is not one of: sqlite, postgres")
        return cls(kind, url, int(db_cfg.fetch_size), int(db_cfg.partitions))

    @property
    def driver(self) -> str:
        return "org.sqlite.JDBC" if self.kind == "sqlite" else "org.postgresql.Driver"

    def credentials(self) -> dict[str, str]:
        if self.kind == "sqlite":
            return {}
        user = os.environ.get("LAKEHOUSE_PG_USER")
        password = os.environ.get("LAKEHOUSE_PG_PASSWORD")
        pw_file = os.environ.get("LAKEHOUSE_PG_PASSWORD_FILE")
        if password is None and pw_file:
            password = Path(pw_file).read_text().strip()
        if not user or password is None:
            raise ConfigError("PostgreSQL credentials missing: set LAKEHOUSE_PG_USER and LAKEHOUSE_PG_PASSWORD "
                              "(or LAKEHOUSE_PG_PASSWORD_FILE)")
        return {"user": user, "password": password}

    def jdbc_options(self) -> dict[str, str]:
        return {"url": self.url, "driver": self.driver, "fetchsize": str(self.fetch_size), **self.credentials()}

    def connect(self):
        """A DB-API connection, for DDL and set-based upserts that Spark's writer cannot express."""
        if self.kind == "sqlite":
            import sqlite3

            return sqlite3.connect(self.url.removeprefix("jdbc:sqlite:"))
        import psycopg2

        parsed = urlparse(self.url.removeprefix("jdbc:"))
        return psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432,
                                dbname=parsed.path.lstrip("/"), **self.credentials())


def write_database_batch(df: DataFrame, spec: SourceSpec, db: Database, batch: int) -> int:
    """Apply one batch to the source's table: create it at batch 0, then upsert inserts/updates and
    mark deletes (the source system keeps a tombstone with its change type and timestamp)."""
    table, key, op, ts = spec.table, spec.key, spec.op, spec.updated_at
    cols = df.columns
    staging = f"{table}__staging"
    text_cols = [c for c in cols if c not in (key, ts)]
    ddl_cols = ", ".join([f'"{key}" BIGINT PRIMARY KEY', f'"{ts}" TIMESTAMP'] + [f'"{c}" TEXT' for c in text_cols])
    df = df.selectExpr(*[f"CAST(`{ts}` AS TIMESTAMP) AS `{ts}`" if c == ts else f"`{c}`" for c in cols])
    with db.connect() as conn:
        cur = conn.cursor()
        if batch == 0:
            cur.execute(f'DROP TABLE IF EXISTS "{table}"')
            cur.execute(f'CREATE TABLE "{table}" ({ddl_cols})')
        cur.execute(f'DROP TABLE IF EXISTS "{staging}"')
        cur.execute(f'CREATE TABLE "{staging}" ({ddl_cols.replace(" PRIMARY KEY", "")})')
        conn.commit()
    target = table if batch == 0 else staging
    writer = df.coalesce(1) if db.kind == "sqlite" else df.repartition(db.partitions)
    (writer.write.format("jdbc").options(**db.jdbc_options()).option("dbtable", f'"{target}"')
     .option("batchsize", "10000").option("isolationLevel", "SERIALIZABLE" if db.kind == "sqlite" else "READ_COMMITTED")
     .mode("append").save())
    if batch > 0:
        quoted = ", ".join(f'"{c}"' for c in cols)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != key)
        with db.connect() as conn:
            cur = conn.cursor()
            cur.execute(f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM "{staging}" WHERE "{op}" <> \'D\' '
                        f'ON CONFLICT ("{key}") DO UPDATE SET {updates}')
            cur.execute(f'UPDATE "{table}" SET "{op}" = \'D\', "{ts}" = (SELECT s."{ts}" FROM "{staging}" s '
                        f'WHERE s."{key}" = "{table}"."{key}" AND s."{op}" = \'D\') '
                        f'WHERE "{key}" IN (SELECT "{key}" FROM "{staging}" WHERE "{op}" = \'D\')')
            cur.execute(f'DROP TABLE "{staging}"')
            conn.commit()
    with db.connect() as conn:
        cur = conn.cursor()
        cur.execute(f'SELECT COUNT(*) FROM "{table}"')
        return int(cur.fetchone()[0])


def read_database(spark: SparkSession, spec: SourceSpec, db: Database, where: str | None = None,
                  bounds: tuple[int, int] | None = None) -> DataFrame:
    """Read a source table in parallel, split on its numeric key; `where` filters (e.g. a watermark)."""
    query = f'(SELECT * FROM "{spec.table}"{" WHERE " + where if where else ""}) AS src'
    reader = spark.read.format("jdbc").options(**db.jdbc_options()).option("dbtable", query)
    if bounds is not None and bounds[1] > bounds[0]:
        part = spec.raw.get("format", {}).get("partition_column", spec.key)
        reader = (reader.option("partitionColumn", part).option("lowerBound", str(bounds[0]))
                  .option("upperBound", str(bounds[1] + 1)).option("numPartitions", str(db.partitions)))
    return reader.load()


# --- Parquet and Delta tables ----------------------------------------------------------------

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


# --- bronze storage ----------------------------------------------------------------------------
# Everything bronze reads from or writes to storage: landing inventory and byte-level facts about
# each file (content hash, independent record count, the file's own layout), raw reads of landing
# files and of the source databases, selective (idempotent) Delta replaces, and the ops logs.

import hashlib  # noqa: E402
import json as _json  # noqa: E402
import re as _re  # noqa: E402

BOM_BYTES = b"\xef\xbb\xbf"
_BATCH_DIR = _re.compile(r"^batch-(\d+)$")


@dataclass
class LandingFile:
    """Byte-level facts about one landing file, established without Spark (independent of the parse).

    `records` is the independent record count (text: non-empty physical lines minus the CSV header;
    parquet: the footer's row count; xml: opening row tags). `layout` is the file's own column list as
    it declares it (CSV header, keys of the first JSON record, child tags of the first XML record,
    parquet schema); None when the file cannot be read at all."""

    source: str
    path: str                 # absolute path
    rel: str                  # path relative to the landing root: <source>/batch-<k>/<name>
    batch: int
    size: int
    sha256: str
    records: int
    final_newline: bool
    layout: tuple[str, ...] | None
    problem: str | None = None   # empty_file | unreadable_file


def landing_inventory(landing: str, source: str) -> list[tuple[int, str, str]]:
    """(batch, absolute path, path relative to landing) of every file of a source, in a stable order."""
    root = os.path.abspath(landing)
    out = []
    for d in sorted(glob.glob(f"{root}/{source}/batch-*")):
        m = _BATCH_DIR.match(os.path.basename(d))
        if not m or not os.path.isdir(d):
            continue
        for p in sorted(glob.glob(f"{d}/*")):
            name = os.path.basename(p)
            if os.path.isfile(p) and not name.startswith((".", "_")):
                out.append((int(m.group(1)), p, os.path.relpath(p, root)))
    return out


def _flatten_keys(obj: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in obj.items():
        if isinstance(v, dict) and v:
            keys.extend(_flatten_keys(v, f"{prefix}{k}."))
        else:
            keys.append(f"{prefix}{k}")
    return keys


def _text_layout(spec: SourceSpec, data: bytes) -> tuple[str, ...] | None:
    """The file's own column list, from its first line (CSV header, first parseable JSON line) or
    first complete XML record."""
    enc = spec.encoding or "utf-8"
    if spec.format == "csv":
        first = data.split(b"\n", 1)[0].rstrip(b"\r")
        if first.startswith(BOM_BYTES):
            first = first[len(BOM_BYTES):]
        import csv as _csv

        opts = spec.reader
        sep = opts.get("sep", ",")
        quote = opts.get("quote", '"')
        header = first.decode(enc, errors="replace").lstrip("\ufeff")
        row = next(_csv.reader([header], delimiter=sep, quotechar=quote or None,
                               quoting=_csv.QUOTE_MINIMAL if quote else _csv.QUOTE_NONE), [])
        return tuple(row)
    if spec.format == "json":
        for line in data.split(b"\n")[:50]:
            try:
                obj = _json.loads(line.decode(enc, errors="strict"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict):
                return tuple(_flatten_keys(obj))
        return ()
    if spec.format == "xml":
        tag = spec.row_tag
        m = _re.search(rb"<" + _re.escape(tag.encode()) + rb"[\s>].*?</" + _re.escape(tag.encode()) + rb">",
                       data, _re.S)
        if not m:
            return ()
        import xml.etree.ElementTree as ET

        try:
            el = ET.fromstring(m.group(0).decode(enc, errors="replace"))
        except ET.ParseError:
            return ()
        seen: list[str] = []
        for child in el:
            if child.tag not in seen:
                seen.append(child.tag)
        return tuple(seen)
    return None


def scan_landing_file(spec: SourceSpec, batch: int, path: str, rel: str) -> LandingFile:
    """Read a landing file's bytes once: content hash, independent record count, own layout."""
    with open(path, "rb") as fh:
        data = fh.read()
    size = len(data)
    digest = hashlib.sha256(data).hexdigest()
    final_nl = data.endswith(b"\n")
    if size == 0:
        return LandingFile(spec.name, path, rel, batch, 0, digest, 0, True, None, "empty_file")
    if spec.format == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(path)
            names = tuple(meta.schema.to_arrow_schema().names)
            return LandingFile(spec.name, path, rel, batch, size, digest, int(meta.num_rows), True, names)
        except Exception as exc:  # noqa: BLE001 - any footer error means the file is unreadable
            return LandingFile(spec.name, path, rel, batch, size, digest, 0, False, None,
                               f"unreadable_file: {type(exc).__name__}: {str(exc)[:200]}")
    if spec.format in ("csv", "json"):
        lines = sum(1 for ln in data.split(b"\n") if ln.strip(b"\r"))
        records = max(lines - 1, 0) if spec.format == "csv" else lines
    elif spec.format == "xml":
        tag = _re.escape(spec.row_tag.encode())
        records = len(_re.findall(rb"<" + tag + rb"[\s>/]", data))
    else:
        raise ConfigError(f"conf/sources/{spec.name}.yaml: format '{spec.format}' is not a file format")
    return LandingFile(spec.name, path, rel, batch, size, digest, records, final_nl, _text_layout(spec, data))


def read_landing_bytes(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Raw bytes of landing files, one row per file: (path, content). Decoding happens in the
    transforms; malformed byte sequences must become U+FFFD there (so they can be quarantined)
    rather than fail the whole read."""
    spark.conf.set("spark.sql.legacy.codingErrorAction", "true")
    return spark.read.format("binaryFile").load(paths).select("path", "content")


def read_landing_parquet(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Parquet landing files with their row index: (path, row_index, <columns...>)."""
    from pyspark.sql import functions as F

    df = spark.read.option("mergeSchema", "true").parquet(*paths)
    return df.select(F.col("_metadata.file_path").alias("path"), F.col("_metadata.row_index").alias("row_index"),
                     *[F.col(f"`{c}`") for c in df.columns])


def _sql_literal(value: Any) -> str | None:
    import datetime as _dt

    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def database_increment(db: Database, spec: SourceSpec, after: str | None) -> dict[str, Any]:
    """Plan an incremental read: rows with updated_at in (after, high], where `high` is the current
    maximum as the database stores it (a SQL literal in the database's own terms, so SQLite's
    epoch-millisecond timestamps and PostgreSQL TIMESTAMPs both compare correctly). Returns the
    filter, the key bounds and the number of rows (the independent count for reconciliation)."""
    table, ts, key = spec.table, spec.updated_at, spec.key
    with db.connect() as conn:
        cur = conn.cursor()
        cur.execute(f'SELECT MAX("{ts}") FROM "{table}"')
        high = _sql_literal(cur.fetchone()[0])
        if high is None:
            return {"where": None, "high": None, "rows": 0, "bounds": None}
        where = f'"{ts}" <= {high}' + (f' AND "{ts}" > {after}' if after else "")
        cur.execute(f'SELECT MIN("{key}"), MAX("{key}"), COUNT(*) FROM "{table}" WHERE {where}')
        lo, hi, n = cur.fetchone()
    bounds = (int(lo), int(hi)) if lo is not None else None
    return {"where": where, "high": high, "rows": int(n), "bounds": bounds}


def sql_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_in(column: str, values: Iterable[Any]) -> str:
    vals = list(values)
    items = ", ".join(sql_str(v) if isinstance(v, str) else str(int(v)) for v in vals)
    return f"`{column}` IN ({items})" if vals else "false"


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
            spark.sql(f"ALTER TABLE delta.`{_qualified(path)}` "
                      f"SET TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '{cols}')")
    (df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
     .option("mergeSchema", "true").save(path))


def _qualified(path: str) -> str:
    """SQL's delta.`path` needs an absolute path; object-store URIs pass through."""
    return path if "://" in path or path.startswith("/") else os.path.abspath(path)


def append_delta(df: DataFrame, path: str) -> None:
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(path)


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


def last_commit_metrics(spark: SparkSession, path: str) -> dict[str, str]:
    """operationMetrics of a Delta table's latest commit (e.g. numOutputRows of a write)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").collect()[0]
    return dict(row["operationMetrics"] or {})


# --- silver storage ----------------------------------------------------------------------------------

def overwrite_delta(df: DataFrame, path: str) -> None:
    """Replace a whole table (schema included): silver's per-batch staging table."""
    df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)


def remove_tree(spark: SparkSession, path: str) -> bool:
    """Delete a directory tree on any Hadoop file system (silver's staging tables after a batch)."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path if "://" in path or path.startswith(("/", "file:")) else os.path.abspath(path))
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(p) and fs.delete(p, True))


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


def distinct_values(spark: SparkSession, path: str, column: str) -> list[Any]:
    if not delta_exists(spark, path):
        return []
    return sorted(r[0] for r in spark.read.format("delta").load(path).select(column).distinct().collect()
                  if r[0] is not None)


def write_text_file(path: str, text: str) -> None:
    """A small local report file (JSON, HTML) under the data root."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
