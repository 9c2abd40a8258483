"""Table names for policies, audit and erasure: ``<layer>/<table>`` <-> storage path, and discovery of
the Delta tables under a layer (through Hadoop's FileSystem, so object stores and HDFS work too)."""

from __future__ import annotations

import re
from typing import Any

from pyspark.sql import SparkSession

from lakehouse.config import table_path

LAYERS = ("bronze", "silver", "gold", "ops")
_NAME = re.compile(r"^(?P<layer>[A-Za-z_]+)[./](?P<table>[A-Za-z0-9_\-]+)$")


def split_name(name: str) -> tuple[str, str]:
    """'gold/dim_citizen' or 'gold.dim_citizen' -> ('gold', 'dim_citizen')."""
    m = _NAME.match(name.strip())
    if not m:
        raise ValueError(f"table name '{name}' is not <layer>/<table> (e.g. gold/dim_citizen)")
    return m.group("layer"), m.group("table")


def resolve(cfg: Any, name: str) -> tuple[str, str]:
    """(canonical name 'layer/table', storage path) of a table name."""
    layer, table = split_name(name)
    if layer not in cfg.paths:
        raise ValueError(f"table '{name}': unknown layer '{layer}' (paths has {sorted(cfg.paths)})")
    return f"{layer}/{table}", table_path(cfg, layer, table)


def _fs(spark: SparkSession, path: str):
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath, hpath.getFileSystem(spark._jsc.hadoopConfiguration())


def discover(spark: SparkSession, cfg: Any, layer: str) -> list[str]:
    """Names ('layer/table') of the Delta tables directly under paths.<layer>, sorted."""
    root = str(cfg.paths[layer])
    hpath, fs = _fs(spark, root)
    if not fs.exists(hpath):
        return []
    jvm = spark._jvm
    names = []
    for st in fs.listStatus(hpath):
        if st.isDirectory() and fs.exists(jvm.org.apache.hadoop.fs.Path(st.getPath(), "_delta_log")):
            names.append(f"{layer}/{st.getPath().getName()}")
    return sorted(names)


def version(spark: SparkSession, path: str) -> int | None:
    """Current Delta version of a table, from its log (no Spark job); None if it is not a Delta table."""
    jvm = spark._jvm
    hpath, fs = _fs(spark, path)
    if not fs.exists(jvm.org.apache.hadoop.fs.Path(hpath, "_delta_log")):
        return None
    qualified = path if "://" in path or path.startswith("/") else __import__("os").path.abspath(path)
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, qualified)
    snapshot = delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())
    v = int(snapshot.version())
    return v if v >= 0 else None
