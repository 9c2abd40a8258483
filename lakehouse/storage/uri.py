"""Paths and URIs: which are local, how Spark SQL and Hadoop want them written.

A path is *local* when it has no scheme (``data/bronze``, ``/srv/lake``) or the ``file:`` scheme
(``file:/srv/lake``, ``file:///srv/lake``); anything else (``s3a://``, ``abfss://``, ``hdfs://``,
``viewfs://``) goes through Hadoop's FileSystem API. Pure string functions: no Spark, no I/O.
"""

from __future__ import annotations

import os
import re

# Two or more characters, so that a Windows drive letter ("C:") is not taken for a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")


def scheme(path: str) -> str | None:
    """The URI scheme in lower case (``s3a``, ``file``), or None for a plain path."""
    m = _SCHEME.match(str(path))
    return m.group(1).lower() if m else None


def is_local(path: str) -> bool:
    """True for plain paths and ``file:`` URIs (the local file system)."""
    return scheme(path) in (None, "file")


def qualified(path: str) -> str:
    """What SQL's delta.`path` and Hadoop need: an absolute path; URIs (``file:`` included) pass through."""
    path = str(path)
    return path if scheme(path) is not None or path.startswith("/") else os.path.abspath(path)


def local_path(path: str) -> str:
    """The operating-system path of a local path or ``file:`` URI (absolute for URIs, as given otherwise)."""
    path = str(path)
    if not is_local(path):
        raise ValueError(f"{path} is not on the local file system")
    if path[:7].lower() == "file://":
        rest = path[7:]
        if not rest.startswith("/"):               # file://host/path: the host is ignored
            rest = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        return rest
    if path[:5].lower() == "file:":
        return path[5:]
    return path


def join(base: str, *parts: str) -> str:
    """``base/part/...`` with one slash between parts (works for URIs, unlike os.path.join on Windows)."""
    out = str(base).rstrip("/")
    for part in parts:
        part = str(part).strip("/")
        if part:
            out = f"{out}/{part}"
    return out


def sql_path(path: str) -> str:
    """delta.`<path>` for Spark SQL, with backticks in the path escaped."""
    return "delta.`" + qualified(path).replace("`", "``") + "`"
