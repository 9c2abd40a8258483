"""Landing files: the batch layout (``<landing>/<source>/batch-NNNNN/``), writing extracts the way
an agency delivers them (and the file faults the simulator injects), and bronze's byte-level scan of
each file (content hash, independent record count, the file's own layout) before Spark parses it.

Landing is a local directory (the simulator and the tests write it with the OS; Spark reads it).
"""

from __future__ import annotations

import glob
import hashlib
import json as _json
import os
import re as _re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import SourceSpec
from lakehouse.errors import ConfigError

EXTENSIONS = {"csv": "csv", "json": "jsonl", "xml": "xml", "parquet": "parquet"}
BOM_BYTES = b"\xef\xbb\xbf"
_BATCH_DIR = _re.compile(r"^batch-(\d+)$")


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


# --- bronze's scan of landing files --------------------------------------------------------------

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
