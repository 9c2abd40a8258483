"""Compatibility facade: storage access lives in :mod:`lakehouse.storage` (URIs, file systems, Delta,
landing files, JDBC) and the list of tables in :mod:`lakehouse.catalog`.

The names below are re-exported because modules and tests outside the storage package still call
them as ``io.<name>`` (bronze, silver and gold runners, the simulator, audit, run log, jobs; tests
also monkeypatch ``io.scan_landing_file``, which bronze calls through this module). New code
imports from :mod:`lakehouse.storage` directly. Text files go through
:func:`lakehouse.storage.write_text`, which works on every URI (the old local-only
``write_text_file`` is gone).
"""

from __future__ import annotations

from lakehouse.storage.delta import (append_delta, count_by_file, delta_exists, delta_version, distinct_values,
                                     last_commit_metrics, merge_current, merge_history, overwrite_delta,
                                     read_delta, read_delta_rows, replace_delta, sql_in, sql_str, write_parquet)
from lakehouse.storage.fs import remove_tree
from lakehouse.storage.jdbc import Database, database_increment, read_database, write_database_batch
from lakehouse.storage.landing import (BOM_BYTES, EXTENSIONS, FileFault, LandingFile, batch_dir, dir_bytes,
                                       duplicate_file, empty_file, landing_files, landing_inventory,
                                       read_landing_bytes, read_landing_parquet, scan_landing_file,
                                       truncate_file, write_landing)

__all__ = [
    "append_delta", "count_by_file", "delta_exists", "delta_version", "distinct_values", "last_commit_metrics",
    "merge_current", "merge_history", "overwrite_delta", "read_delta", "read_delta_rows", "replace_delta", "sql_in",
    "sql_str", "write_parquet", "remove_tree", "Database", "database_increment", "read_database",
    "write_database_batch", "BOM_BYTES", "EXTENSIONS", "FileFault", "LandingFile", "batch_dir", "dir_bytes",
    "duplicate_file", "empty_file", "landing_files", "landing_inventory", "read_landing_bytes",
    "read_landing_parquet", "scan_landing_file", "truncate_file", "write_landing",
]
