"""Dask reads Delta tables through the Delta log (never by globbing Parquet files), and writes the
score tables back with delta-rs.

The file list comes from :class:`deltalake.DeltaTable` at a chosen version, so files that a later
commit removed (but that are not vacuumed yet) are never read, and an old version can be read
again (time travel). Each data file becomes one Dask partition; partition columns are restored from
the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
from omegaconf import DictConfig, OmegaConf

from lakehouse.config import ConfigError, table_path

# Nullable pandas dtypes, so that a partition with nulls and one without have the same dtypes.
_NULLABLE = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
}


@dataclass(frozen=True)
class DeltaRead:
    """A Dask DataFrame over one version of a Delta table, and the version actually read."""

    frame: dd.DataFrame
    version: int
    path: str


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with the dtypes used throughout the models (nullable ints and booleans,
    dates as datetime64)."""
    return table.to_pandas(types_mapper=_NULLABLE.get, date_as_object=False)


def _read_fragment(fragment: Any, schema: pa.Schema) -> pd.DataFrame:
    return to_pandas(fragment.to_table(schema=schema, columns=schema.names))


def delta_rs_uri(path: str) -> str:
    """Spark's Hadoop URI schemes as delta-rs (object_store) spells them: s3a:// -> s3://."""
    return "s3://" + path[len("s3a://"):] if path.startswith("s3a://") else path


def open_delta(path: str, version: int | None = None, storage_options: Mapping[str, str] | None = None):
    """The Delta table at `path` (at `version`, or the latest), with a clear error if it is missing."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(delta_rs_uri(path), version=version, storage_options=dict(storage_options or {}) or None)
    except TableNotFoundError as exc:
        raise ConfigError(f"no Delta table at {path} (run the pipeline that writes it first)") from exc


def read_delta(path: str, version: int | None = None, columns: Iterable[str] | None = None,
               storage_options: Mapping[str, str] | None = None) -> DeltaRead:
    """Read a Delta table into Dask through its log, at `version` (None = latest)."""
    table = open_delta(path, version, storage_options)
    dataset = table.to_pyarrow_dataset()
    schema = dataset.schema
    if columns is not None:
        wanted = list(columns)
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise ConfigError(f"{path}: no column(s) {missing}; the table has {schema.names}")
        schema = pa.schema([schema.field(c) for c in wanted])
    meta = to_pandas(schema.empty_table())
    # One partition per data file, in a stable order (same version -> same partitions).
    fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
    if not fragments:
        frame = dd.from_pandas(meta, npartitions=1)
    else:
        frame = dd.from_map(_read_fragment, fragments, schema=schema, meta=meta, label="read-delta",
                            enforce_metadata=False)
    return DeltaRead(frame=frame, version=int(table.version()), path=path)


def gold_version(cfg: DictConfig, table: str) -> int | None:
    """The gold version pinned in config (models.gold_versions.<table>), or None for the latest."""
    pinned = (cfg.models.get("gold_versions") or {}).get(table)
    return None if pinned is None else int(pinned)


def storage_options(cfg: DictConfig) -> dict[str, str]:
    opts = cfg.models.get("storage_options") or {}
    return {str(k): str(v) for k, v in OmegaConf.to_container(opts, resolve=True).items()} if opts else {}


def check_access(cfg: DictConfig, table: str, columns: Iterable[str] | None) -> None:
    """Hold a Dask read of gold/<table> to the access policy of `models.read_role` (the
    security.access roles): a denied table or column raises AccessDenied, and so does a column the
    role only sees masked or a rule with row filters, since a Dask read cannot apply either.
    No role configured = no check (a pipeline service account)."""
    role = cfg.models.get("read_role")
    if not role or "security" not in cfg:
        return
    import fnmatch

    from lakehouse.security.access import AccessDenied, decide

    name = f"gold/{table}"
    _, rule = decide(cfg, str(role), name)
    if rule.get("rows") or rule.get("where"):
        raise AccessDenied(str(role), name, "row-filtered for this role: read it through access.read_table")
    if columns is None:
        raise AccessDenied(str(role), name, "name the columns to read (models.read_role is set)")
    allowed = list(rule.get("columns") or ["*"])
    denied = list(rule.get("deny_columns") or [])
    masked = list((rule.get("mask") or {}).keys())

    def matches(column: str, patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(column, p) for p in patterns)

    for column in columns:
        if matches(column, denied) or not matches(column, allowed):
            raise AccessDenied(str(role), name, "column denied", column=column)
        if matches(column, masked):
            raise AccessDenied(str(role), name, "column only visible masked", column=column)


def read_gold(cfg: DictConfig, table: str, version: int | None = None,
              columns: Iterable[str] | None = None) -> DeltaRead:
    """Read gold/<table> at `version`, else at the version pinned in config, else the latest,
    within the access policy of `models.read_role`."""
    columns = list(columns) if columns is not None else None
    check_access(cfg, table, columns)
    version = version if version is not None else gold_version(cfg, table)
    return read_delta(table_path(cfg, "gold", table), version, columns, storage_options(cfg))


def delta_history(path: str, storage_options: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per commit: version, timestamp, operation (for notebooks and audits)."""
    rows = open_delta(path, None, storage_options).history()
    out = pd.DataFrame([{k: r.get(k) for k in ("version", "timestamp", "operation")} for r in rows])
    if not out.empty:
        out["timestamp"] = pd.to_datetime(out["timestamp"], unit="ms")
    return out.sort_values("version").reset_index(drop=True) if not out.empty else out


def write_delta(path: str, batches: Iterator[pa.RecordBatch] | pa.Table, schema: pa.Schema,
                mode: str = "overwrite", storage_options: Mapping[str, str] | None = None) -> int:
    """Write (stream) record batches as a Delta table; returns the version committed."""
    from deltalake import write_deltalake

    data = batches if isinstance(batches, pa.Table) else pa.RecordBatchReader.from_batches(schema, batches)
    write_deltalake(delta_rs_uri(path), data, mode=mode, schema_mode="overwrite" if mode == "overwrite" else None,
                    storage_options=dict(storage_options or {}) or None)
    return int(open_delta(path, None, storage_options).version())
