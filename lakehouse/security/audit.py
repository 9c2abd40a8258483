"""The audit log: ``ops/audit_log``, an append-only Delta table (``delta.appendOnly = true``: Delta
itself rejects UPDATE, DELETE and MERGE on it).

One record per job run, privileged or denied read, erasure: who (OS user and principal), role,
action, tables read and written with their Delta versions, counts, outcome, duration, run id, time.
Records never hold secrets or clear identifiers: callers pass table names, versions and counts; free
text (error messages, notes) is scrubbed of quoted literals and long digit runs and cut short.

Jobs wrap their work in :func:`audited_run`::

    with audited_run(spark, cfg, job="silver") as audit:
        audit.read("bronze/id_card")                 # version looked up when omitted
        ...
        audit.wrote("silver/citizen_records", rows=n)
        audit.count("quarantined", q)

A failing job still gets its record (outcome 'failure', error class) and the exception propagates.
If the audit write itself fails after a successful job, the job fails: no run goes unrecorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import re
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

from pyspark.sql import SparkSession

from lakehouse import io
from lakehouse.config import table_path
from lakehouse.runctx import new_run_id
from lakehouse.security import tables as T
from lakehouse.storage import uri

ACTIONS = ("job_run", "read", "denied", "erase", "view")
AUDIT_SCHEMA = (
    "event_id STRING, run_id STRING, at TIMESTAMP, user STRING, principal STRING, role STRING, action STRING, "
    "job STRING, target STRING, outcome STRING, "
    "tables_read ARRAY<STRUCT<table: STRING, version: BIGINT>>, "
    "tables_written ARRAY<STRUCT<table: STRING, version: BIGINT, rows: BIGINT>>, "
    "counts MAP<STRING, BIGINT>, duration_s DOUBLE, error STRING, detail MAP<STRING, STRING>, "
    "host STRING, env STRING"
)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")
_DIGITS = re.compile(r"\d{9,}")
_SECRETISH = re.compile(r"(?i)(secret|password|token|key)\s*[=:]\s*\S+")


def scrub(text: Any, limit: int = 300, quotes: bool = True) -> str | None:
    """Free text made safe for the audit log: first line, 9+-digit runs and secret-looking
    assignments removed, and (quotes=True, for messages that may quote data) quoted literals."""
    if text is None:
        return None
    s = str(text).strip().splitlines()[0] if str(text).strip() else ""
    if quotes:
        s = _QUOTED.sub("'?'", s)
    s = _DIGITS.sub("<digits>", s)
    s = _SECRETISH.sub(r"\1=<redacted>", s)
    return s[:limit]


def audit_path(cfg: Any) -> str:
    sec = cfg.get("security") or {}
    name = (sec.get("audit") or {}).get("table") or "audit_log"
    return table_path(cfg, "ops", str(name))


def whoami(cfg: Any, principal: str | None = None) -> tuple[str, str | None]:
    """(OS user, principal): the principal is the argument, else security.principal, else None."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    sec = cfg.get("security") or {}
    return user, principal or sec.get("principal") or None


_ENSURED: set[tuple[int, str]] = set()


def ensure_audit_table(spark: SparkSession, path: str) -> None:
    """Create the audit table (append-only) if needed; make an existing one append-only."""
    qualified = uri.qualified(path)
    if (id(spark), qualified) in _ENSURED and io.delta_exists(spark, path):
        return
    if not io.delta_exists(spark, path):
        try:
            spark.sql(f"CREATE TABLE IF NOT EXISTS delta.`{qualified}` ({AUDIT_SCHEMA}) USING delta "
                      "TBLPROPERTIES ('delta.appendOnly' = 'true')")
        except Exception:  # noqa: BLE001 - a concurrent job may have created it first
            if not io.delta_exists(spark, path):
                raise
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{qualified}`").collect()}
    if props.get("delta.appendOnly") != "true":
        spark.sql(f"ALTER TABLE delta.`{qualified}` SET TBLPROPERTIES ('delta.appendOnly' = 'true')")
    _ENSURED.add((id(spark), qualified))


def write_audit(spark: SparkSession, cfg: Any, *, action: str, outcome: str, job: str | None = None,
                target: str | None = None, role: str | None = None, principal: str | None = None,
                run_id: str | None = None, tables_read: list[tuple[str, int | None]] = (),
                tables_written: list[tuple[str, int | None, int | None]] = (), counts: dict[str, int] | None = None,
                duration_s: float | None = None, error: str | None = None,
                detail: dict[str, Any] | None = None) -> str:
    """Append one audit record; returns its event id."""
    if action not in ACTIONS:
        raise ValueError(f"audit action '{action}' is not one of {ACTIONS}")
    user, who = whoami(cfg, principal)
    event_id = uuid.uuid4().hex
    row = (
        event_id, run_id or event_id, dt.datetime.now(dt.timezone.utc), user, who, role, action, job, target, outcome,
        [(str(t), None if v is None else int(v)) for t, v in tables_read],
        [(str(t), None if v is None else int(v), None if n is None else int(n)) for t, v, n in tables_written],
        {str(k): int(v) for k, v in (counts or {}).items() if v is not None},
        None if duration_s is None else float(duration_s), scrub(error, 500),
        {str(k): scrub(v, quotes=False) for k, v in (detail or {}).items() if v is not None},
        socket.gethostname(), str(cfg.get("env_name", "local")),
    )
    path = audit_path(cfg)
    ensure_audit_table(spark, path)
    spark.createDataFrame([row], AUDIT_SCHEMA).write.format("delta").mode("append").save(path)
    return event_id


def describe_error(exc: BaseException) -> str:
    """Exception class (and Spark error class), plus the scrubbed first line of its message."""
    cls = type(exc).__name__
    err_class = None
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            err_class = getter()
    head = f"{cls}[{err_class}]" if err_class else cls
    return f"{head}: {scrub(exc, 400)}"


@dataclass
class AuditRun:
    """What a job declares while it runs; written as one record when the run ends."""

    spark: SparkSession
    cfg: Any
    job: str
    run_id: str
    role: str | None = None
    principal: str | None = None
    action: str = "job_run"
    target: str | None = None
    reads: list[tuple[str, int | None]] = field(default_factory=list)
    writes: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None

    def _version(self, table: str, version: int | None) -> tuple[str, int | None]:
        try:
            name, path = T.resolve(self.cfg, table)
        except ValueError:
            return table, version
        if version is None:
            with contextlib.suppress(Exception):
                version = T.version(self.spark, path)
        return name, version

    def read(self, table: str, version: int | None = None) -> None:
        """Record a table read ('layer/table'); its current Delta version is looked up if omitted."""
        self.reads.append(self._version(table, version))

    def wrote(self, table: str, version: int | None = None, rows: int | None = None) -> None:
        """Record a table written; call after the commit so the looked-up version is the new one."""
        name, v = self._version(table, version)
        self.writes.append((name, v, rows))

    def count(self, name: str, value: int) -> None:
        self.counts[name] = int(value)

    def note(self, key: str, value: Any) -> None:
        """A short free-text note (scrubbed). Never pass identifiers or secrets."""
        self.notes[key] = scrub(value) or ""


@contextlib.contextmanager
def audited_run(spark: SparkSession, cfg: Any, job: str, run_id: str | None = None, role: str | None = None,
                principal: str | None = None, action: str = "job_run", target: str | None = None
                ) -> Iterator[AuditRun]:
    """Audit one job run (see the module docstring). Yields an :class:`AuditRun`."""
    run = AuditRun(spark, cfg, job, run_id or new_run_id(job), role, principal, action, target)
    started = time.monotonic()
    try:
        yield run
    except BaseException as exc:
        try:
            write_audit(spark, cfg, action=run.action, outcome=run.outcome or "failure", job=job, target=run.target,
                        role=role, principal=principal, run_id=run.run_id, tables_read=run.reads,
                        tables_written=run.writes, counts=run.counts, duration_s=time.monotonic() - started,
                        error=describe_error(exc), detail=run.notes)
        except Exception as audit_exc:  # noqa: BLE001 - never mask the job's own failure
            print(f"audit: could not record the failed run {run.run_id}: {describe_error(audit_exc)}",
                  file=sys.stderr)
        raise
    write_audit(spark, cfg, action=run.action, outcome=run.outcome or "success", job=job, target=run.target,
                role=role, principal=principal, run_id=run.run_id, tables_read=run.reads,
                tables_written=run.writes, counts=run.counts, duration_s=time.monotonic() - started,
                detail=run.notes)


def read_audit(spark: SparkSession, cfg: Any, where: str | None = None) -> list[dict[str, Any]]:
    """Audit records as dicts (for tests, the auditor role goes through access.read_table)."""
    return io.read_delta_rows(spark, audit_path(cfg), where)
