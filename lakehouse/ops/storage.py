"""Compatibility names: storage helpers now live in :mod:`lakehouse.storage` and table discovery in
:mod:`lakehouse.catalog`. Kept for callers and tests that still import ``lakehouse.ops.storage``."""

from __future__ import annotations

from typing import Any

from lakehouse.catalog import DELTA_LOG, Table, scan
from lakehouse.storage import data_files, exists, list_dirs, qualified, sql_path, write_text

TableRef = Table

__all__ = ["DELTA_LOG", "TableRef", "data_files", "exists", "find_delta_tables", "list_dirs", "qualified",
           "sql_path", "write_text"]


def find_delta_tables(spark: Any, layer: str, root: str, max_depth: int | None = None) -> list[Table]:
    """Every Delta table under ``root``, at any depth (``max_depth`` is ignored: see lakehouse.catalog.scan)."""
    return scan(root, layer, spark)
