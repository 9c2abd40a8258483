"""One run id per job run, shared by everything the run writes.

    from lakehouse.runctx import RunContext

    run = RunContext.start("silver")      # once, in jobs/_common.run_job
    run.run_id                             # 'silver-20260101T120000.123456Z-1a2b3c'

The same id goes into the audit record (``ops/audit_log.run_id``), the run log (``ops/run_log.run_id``
and ``<ops.logs.dir>/<job>/<run_id>.jsonl``), the ``_run_id`` column of the rows bronze, silver and
gold write, and the ``run_id`` of their ops tables. Library entry points (``run_bronze``,
``run_silver``, ``run_gold``) take it as ``run_id=``; called without one (tests, notebooks) they make
a fresh id with :func:`new_run_id`.

Format: ``<job>-<UTC time, ISO 8601 basic, microseconds>Z-<6 hex>``. Ids of one job sort by time as
plain strings; the random suffix keeps two runs started in the same microsecond apart. The fraction
is written after a dot so that the id never holds a run of 9+ digits (the audit scrubber would mask
it as a possible identifier).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    return now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now.astimezone(dt.timezone.utc)


def new_run_id(job: str, now: dt.datetime | None = None) -> str:
    """``<job>-YYYYMMDDTHHMMSS.ffffffZ-<6 hex>``; ``now`` (UTC; naive means UTC) defaults to the clock.
    Characters of ``job`` that do not belong in a file name become ``_``."""
    name = _UNSAFE.sub("_", str(job)).strip("_") or "run"
    return f"{name}-{_utc(now):%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunContext:
    """Who is running (``job``), under which id, since when (UTC)."""

    job: str
    run_id: str
    started_at: dt.datetime

    @classmethod
    def start(cls, job: str, now: dt.datetime | None = None) -> "RunContext":
        started = _utc(now)
        return cls(job, new_run_id(job, started), started)
