"""All storage access of the lakehouse, in one package:

* :mod:`~lakehouse.storage.uri`: which paths are local, how SQL and Hadoop want them (``qualified``);
* :mod:`~lakehouse.storage.fs`: files and directories on any Hadoop file system (local paths,
  ``file:``, ``hdfs://``, ``s3a://``, ``abfss://``), ``write_text`` / ``read_text`` included;
* :mod:`~lakehouse.storage.delta`: Delta reads and writes, table facts and the DeltaLog (py4j);
* :mod:`~lakehouse.storage.landing`: landing files (layout, simulator writes, bronze's byte scan);
* :mod:`~lakehouse.storage.jdbc`: the relational source databases.

Which Delta tables exist, and what they hold, is :mod:`lakehouse.catalog`. The URI and file-system
functions are importable from here directly (``from lakehouse import storage; storage.write_text(...)``).
"""

from lakehouse.storage.fs import (StorageUnavailable, data_files, delete, exists, hadoop_fs, is_dir, list_dirs,
                                  list_files, read_bytes, read_text, remove_tree, write_bytes, write_text)
from lakehouse.storage.uri import is_local, join, local_path, qualified, scheme, sql_path

__all__ = [
    "StorageUnavailable", "data_files", "delete", "exists", "hadoop_fs", "is_dir", "list_dirs", "list_files",
    "read_bytes", "read_text", "remove_tree", "write_bytes", "write_text",
    "is_local", "join", "local_path", "qualified", "scheme", "sql_path",
]
