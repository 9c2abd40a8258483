"""Content fingerprints of tables, to show that two runs (a cluster and a local run, two seeds'
replays, before and after a refactor) produced the same data.

A fingerprint is the row count, per-group counts and a SHA-256 over the sorted rows of the business
columns: run ids, timestamps of the run and durations are left out (:data:`VOLATILE_COLUMNS`), and
so are ciphertext columns (``*_enc``: AES-GCM uses a random nonce, so equal plaintexts never give
equal ciphertexts). Floats are rounded to 9 significant digits (the summation order of a distributed
aggregate may differ in the last bits). Row order never matters.

Delta tables are read through the Delta log with delta-rs (``deltalake``), without Spark: the same
reader Dask uses, so a fingerprint also proves a table is readable outside Spark.
"""

from __future__ import annotations

import datetime as dt
import decimal
import fnmatch
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

VOLATILE_COLUMNS: frozenset[str] = frozenset({
    "_run_id", "_ingested_at", "run_id", "run_at", "checked_at", "logged_at", "measured_at", "applied_at",
    "started_at", "ended_at", "evaluated_at", "seconds", "rows_per_s", "*_enc",
})


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    columns: tuple[str, ...]
    digest: str
    groups: dict[str, int] = field(default_factory=dict)

    def short(self) -> str:
        return f"{self.rows} rows, {len(self.columns)} columns, sha256 {self.digest[:16]}"


def _norm(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else float(f"{v:.9g}")
    if isinstance(v, decimal.Decimal):
        return str(v.normalize())
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if hasattr(v, "tolist"):           # numpy scalars and arrays
        return _norm(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def kept_columns(columns: Iterable[str], ignore: Iterable[str] = VOLATILE_COLUMNS) -> list[str]:
    patterns = list(ignore)
    return sorted(c for c in columns if not any(fnmatch.fnmatchcase(c, p) for p in patterns))


def frame_fingerprint(df: pd.DataFrame, ignore: Iterable[str] = VOLATILE_COLUMNS,
                      group_by: str | None = None) -> Fingerprint:
    cols = kept_columns(df.columns, ignore)
    lines = sorted(json.dumps([_norm(v) for v in rec], ensure_ascii=False, default=str, sort_keys=True)
                   for rec in df[cols].itertuples(index=False, name=None))
    h = hashlib.sha256()
    h.update(json.dumps(cols).encode())
    for line in lines:
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    groups = {}
    if group_by and group_by in df.columns:
        groups = {str(k): int(v) for k, v in df[group_by].astype(str).value_counts().sort_index().items()}
    return Fingerprint(len(df), tuple(cols), h.hexdigest(), groups)


def delta_fingerprint(path: str, ignore: Iterable[str] = VOLATILE_COLUMNS, group_by: str | None = None,
                      storage_options: dict[str, str] | None = None) -> Fingerprint:
    from deltalake import DeltaTable

    return frame_fingerprint(DeltaTable(path, storage_options=storage_options).to_pandas(), ignore, group_by)


def files_fingerprint(root: str, pattern: str = "**/*") -> dict[str, str]:
    """relative path -> SHA-256 of every file under a local directory (hidden and .crc files skipped)."""
    import glob
    import os

    out = {}
    for p in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
        name = os.path.basename(p)
        if os.path.isfile(p) and not name.startswith(".") and not name.endswith(".crc"):
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out
