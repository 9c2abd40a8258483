"""File-system access for every root the lake can live on: local paths, ``file:``, ``hdfs://``,
``s3a://``, ``abfss://``, ... through Hadoop's FileSystem API.

Which file system answers:

* **with a SparkSession**, directory listings, existence checks and deletes go through Hadoop's
  FileSystem for the path's scheme (the same view Delta has: e.g. local ``.crc`` checksum files are
  hidden and deleted along with their file);
* **without one** (tools, unit tests), local paths use the operating system; any other URI raises
  :class:`StorageUnavailable`;
* :func:`write_text` and :func:`read_text` take the local fast path for local paths either way
  (an atomic ``os.replace`` for writes) and Hadoop for everything else.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from lakehouse.errors import StorageError
from lakehouse.storage.uri import is_local, local_path, qualified


class StorageUnavailable(StorageError, ValueError):
    """The path needs Hadoop's FileSystem (an object store or HDFS URI) and no SparkSession was given."""


def _needs_spark(spark: Any, path: str, what: str) -> None:
    if spark is None:
        raise StorageUnavailable(f"{what} {path} needs a SparkSession (Hadoop FileSystem)")


def hadoop_fs(spark: Any, path: str) -> tuple[Any, Any]:
    """(Hadoop FileSystem, Hadoop Path) for a path or URI, from the session's Hadoop configuration."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(qualified(path))
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def _use_os(spark: Any, path: str, what: str) -> bool:
    if spark is None:
        if not is_local(path):
            _needs_spark(spark, path, what)
        return True
    return False


def exists(spark: Any, path: str) -> bool:
    if _use_os(spark, path, "checking"):
        return os.path.exists(local_path(path))
    fs, p = hadoop_fs(spark, path)
    return bool(fs.exists(p))


def is_dir(spark: Any, path: str) -> bool:
    if _use_os(spark, path, "checking"):
        return os.path.isdir(local_path(path))
    fs, p = hadoop_fs(spark, path)
    return bool(fs.exists(p) and fs.getFileStatus(p).isDirectory())


def _entries(spark: Any, path: str, dirs: bool) -> list[str]:
    if _use_os(spark, path, "listing"):
        local = local_path(path)
        if not os.path.isdir(local):
            return []
        with os.scandir(local) as it:
            return sorted(e.name for e in it if e.is_dir() == dirs)
    fs, p = hadoop_fs(spark, path)
    if not fs.exists(p):
        return []
    return sorted(st.getPath().getName() for st in fs.listStatus(p) if bool(st.isDirectory()) == dirs)


def list_dirs(spark: Any, path: str) -> list[str]:
    """Names of the sub-directories of ``path``, sorted (empty if it does not exist)."""
    return _entries(spark, path, dirs=True)


def list_files(spark: Any, path: str) -> list[str]:
    """Names of the files directly in ``path``, sorted (empty if it does not exist)."""
    return _entries(spark, path, dirs=False)


def delete(spark: Any, path: str, recursive: bool = False) -> bool:
    """Delete a file (or, recursive, a tree); True if something was deleted."""
    if _use_os(spark, path, "deleting"):
        local = local_path(path)
        if os.path.isdir(local) and not os.path.islink(local):
            if not recursive:
                os.rmdir(local)
            else:
                import shutil

                shutil.rmtree(local)
            return True
        if os.path.lexists(local):
            os.remove(local)
            return True
        return False
    fs, p = hadoop_fs(spark, path)
    return bool(fs.delete(p, recursive))


def remove_tree(spark: Any, path: str) -> bool:
    """Delete a directory tree on any file system (silver's staging tables after a batch)."""
    if _use_os(spark, path, "deleting"):
        return exists(spark, path) and delete(spark, path, recursive=True)
    fs, p = hadoop_fs(spark, path)
    return bool(fs.exists(p) and fs.delete(p, True))


def data_files(spark: Any, path: str) -> Iterator[tuple[str, int]]:
    """(relative path, size) of every data file stored under a table (live or not yet vacuumed),
    skipping the log and hidden/underscore entries the way Delta's VACUUM does."""
    if _use_os(spark, path, "listing"):
        base = local_path(path)
        for top, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
            for name in sorted(files):
                if not name.startswith(("_", ".")):
                    full = os.path.join(top, name)
                    yield os.path.relpath(full, base).replace(os.sep, "/"), os.path.getsize(full)
        return
    fs, p = hadoop_fs(spark, path)
    if not fs.exists(p):
        return
    it = fs.listFiles(p, True)
    base = fs.makeQualified(p).toString().rstrip("/") + "/"
    while it.hasNext():
        st = it.next()
        rel = st.getPath().toString().removeprefix(base)
        if any(x.startswith(("_", ".")) for x in rel.split("/")):
            continue
        yield rel, int(st.getLen())


def write_bytes(spark: Any, path: str, data: bytes) -> str:
    """Write a file, creating parent directories and replacing an existing one; returns where it went
    (the OS path for local paths, the URI otherwise). Local writes are atomic (temp file + rename);
    object stores make a file visible only once it is closed."""
    if is_local(path):
        local = local_path(path)
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        tmp = f"{local}.tmp-{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, local)
        return local
    _needs_spark(spark, path, "writing")
    fs, p = hadoop_fs(spark, path)
    out = fs.create(p, True)
    try:
        out.write(bytearray(data))
    finally:
        out.close()
    return path


def read_bytes(spark: Any, path: str) -> bytes:
    if is_local(path):
        with open(local_path(path), "rb") as fh:
            return fh.read()
    _needs_spark(spark, path, "reading")
    fs, p = hadoop_fs(spark, path)
    stream = fs.open(p)
    try:
        return bytes(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


def write_text(spark: Any, path: str, text: str) -> str:
    """Write a UTF-8 text file (report, JSON stats) on any file system; see :func:`write_bytes`."""
    return write_bytes(spark, path, text.encode("utf-8"))


def read_text(spark: Any, path: str) -> str:
    return read_bytes(spark, path).decode("utf-8")
