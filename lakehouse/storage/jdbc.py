"""Relational source databases over JDBC (SQLite locally, PostgreSQL on a cluster): where they are,
the simulator's batch upserts, bronze's parallel reads and incremental (watermark) plans."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import SourceSpec
from lakehouse.errors import ConfigError


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
