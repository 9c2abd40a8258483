"""Storage helpers for operations, through Hadoop's FileSystem API (any URI Spark can write: local
paths, file:, hdfs://, s3a://, abfss://), so maintenance and the report work on every root that the
Delta tables live on. Everything here needs a SparkSession (its JVM and Hadoop configuration)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

from pyspark.sql import SparkSession

DELTA_LOG = "_delta_log"


def qualified(path: str) -> str:
    """What SQL's delta.`path` needs: an absolute path; URIs pass through."""
    return path if "://" in path or path.startswith(("/", "file:")) else os.path.abspath(path)


def sql_path(path: str) -> str:
    """delta.`<path>` with backticks in the path escaped."""
    return "delta.`" + qualified(path).replace("`", "``") + "`"


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(qualified(path))
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def exists(spark: SparkSession, path: str) -> bool:
    fs, p = _fs(spark, path)
    return bool(fs.exists(p))


def list_dirs(spark: SparkSession, path: str) -> list[str]:
    """Names of the sub-directories of ``path`` (empty if it does not exist)."""
    fs, p = _fs(spark, path)
    if not fs.exists(p):
        return []
    return sorted(st.getPath().getName() for st in fs.listStatus(p) if st.isDirectory())


@dataclass(frozen=True)
class TableRef:
    """A Delta table found under a layer: ``name`` is its path under the layer (``_staging/id_card``)."""

    layer: str
    name: str
    path: str

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}/{self.name}"


def find_delta_tables(spark: SparkSession, layer: str, root: str, max_depth: int = 3) -> list[TableRef]:
    """Every directory under ``root`` that holds a ``_delta_log`` (not descending into tables)."""
    found: list[TableRef] = []

    def walk(path: str, rel: str, depth: int) -> None:
        children = list_dirs(spark, path)
        if DELTA_LOG in children:
            if rel:
                found.append(TableRef(layer, rel, path))
            return
        if depth >= max_depth:
            return
        for child in children:
            if child.startswith("."):
                continue
            walk(f"{path}/{child}", f"{rel}/{child}" if rel else child, depth + 1)

    walk(root.rstrip("/"), "", 0)
    return found


def data_files(spark: SparkSession, path: str) -> Iterator[tuple[str, int]]:
    """(relative path, size) of every data file stored under a table (live or not yet vacuumed),
    skipping the log and hidden/underscore entries the way Delta's VACUUM does."""
    fs, p = _fs(spark, path)
    if not fs.exists(p):
        return
    it = fs.listFiles(p, True)
    base = fs.makeQualified(p).toString().rstrip("/") + "/"
    while it.hasNext():
        st = it.next()
        rel = st.getPath().toString().removeprefix(base)
        parts = rel.split("/")
        if any(x.startswith(("_", ".")) for x in parts):
            continue
        yield rel, int(st.getLen())


def write_text(spark: SparkSession | None, path: str, text: str) -> str:
    """Write a text file (UTF-8), creating parent directories; local paths without Spark."""
    if "://" not in path or path.startswith("file:"):
        local = path.removeprefix("file://").removeprefix("file:")
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        tmp = f"{local}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, local)
        return local
    if spark is None:
        raise ValueError(f"writing {path} needs a SparkSession (Hadoop FileSystem)")
    fs, p = _fs(spark, path)
    out = fs.create(p, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()
    return path
