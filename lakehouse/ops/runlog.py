"""Observability for jobs: one structured record per stage, progress lines, a run summary and the
``ops/run_log`` Delta table.

    from lakehouse.ops.runlog import RunLog

    runlog = RunLog.from_config(cfg, job="silver", run_id=run_id)
    progress = runlog.progress(len(specs), "silver")
    for spec in specs:
        with runlog.stage("merge", source=spec.name) as st:   # timed; status failed + re-raise on error
            st.rows = apply(spec)                              # rows for rows/s
        progress.update(spec.name, rows=st.rows)               # "silver [ 3/16] id_card ... ETA 1m05s"
    runlog.record("reconcile", rows=n, seconds=t)              # a stage timed elsewhere
    print(runlog.summary())
    runlog.write_table(spark)                                  # append to ops/run_log (with retry)

Every stage emits one JSON line (``ts, run_id, job, stage, source, rows, seconds, rows_per_s, status,
message``) to stderr and to ``<ops.logs.dir>/<job>/<run_id>.jsonl``. The file is written with Python
file operations, so it is only kept for local or mounted roots; on an object-store root the JSON
lines still go to stderr (where the scheduler collects them) and the records to ``ops/run_log``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Iterator

from lakehouse.runctx import new_run_id
from lakehouse.storage import uri

RUN_LOG_TABLE = "run_log"
RUN_LOG_SCHEMA = ("run_id STRING, job STRING, stage STRING, source STRING, started_at TIMESTAMP, "
                  "ended_at TIMESTAMP, seconds DOUBLE, rows LONG, rows_per_s DOUBLE, status STRING, "
                  "message STRING, env STRING")
STATUSES = ("ok", "failed", "skipped", "warning")


@dataclass
class StageRecord:
    """One stage of one job run (optionally for one source)."""

    run_id: str
    job: str
    stage: str
    source: str | None = None
    started_at: dt.datetime = field(default_factory=dt.datetime.now)
    ended_at: dt.datetime | None = None
    seconds: float = 0.0
    rows: int | None = None
    status: str = "ok"
    message: str | None = None

    @property
    def rows_per_s(self) -> float | None:
        if self.rows is None or self.seconds <= 0:
            return None
        return round(self.rows / self.seconds, 1)

    def as_json(self) -> dict[str, Any]:
        return {"ts": (self.ended_at or dt.datetime.now()).isoformat(timespec="milliseconds"),
                "run_id": self.run_id, "job": self.job, "stage": self.stage, "source": self.source,
                "rows": self.rows, "seconds": round(self.seconds, 3), "rows_per_s": self.rows_per_s,
                "status": self.status, "message": self.message}

    def as_row(self, env: str | None) -> tuple:
        return (self.run_id, self.job, self.stage, self.source, self.started_at, self.ended_at,
                float(self.seconds), None if self.rows is None else int(self.rows), self.rows_per_s,
                self.status, self.message, env)


def _fmt_secs(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


class Progress:
    """A line per finished item: ``label [ i/n] item  rows 1,234  12.3 s  elapsed 1m05s  ETA 2m10s``.
    The ETA is the mean time per item so far times the items left (no weighting: cheap and honest)."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None, clock=time.perf_counter,
                 enabled: bool = True):
        self.total, self.label, self.clock, self.enabled = max(int(total), 0), label, clock, enabled
        self.stream = stream
        self.done = 0
        self.t0 = clock()
        self._last = self.t0

    def eta_seconds(self) -> float | None:
        if self.done == 0:
            return None
        elapsed = self.clock() - self.t0
        return elapsed / self.done * max(self.total - self.done, 0)

    def update(self, item: str, rows: int | None = None, status: str = "ok") -> str:
        now = self.clock()
        self.done += 1
        took, self._last = now - self._last, now
        width = len(str(self.total))
        parts = [f"{self.label} [{self.done:>{width}}/{self.total}] {item:<26}"]
        if rows is not None:
            parts.append(f"rows {rows:>11,}")
        parts.append(f"{took:7.1f} s")
        parts.append(f"elapsed {_fmt_secs(now - self.t0)}")
        eta = self.eta_seconds()
        parts.append("done" if self.done >= self.total else f"ETA {_fmt_secs(eta or 0)}")
        if status != "ok":
            parts.append(status.upper())
        line = "  ".join(parts)
        if self.enabled:
            print(line, file=self.stream or sys.stderr, flush=True)
        return line


class RunLog:
    """Stage records of one job run: JSON lines as they happen, a summary and the Delta table at the end."""

    def __init__(self, job: str, run_id: str | None = None, log_dir: str | None = None, env: str | None = None,
                 stream: IO[str] | None = None, echo: bool = True, table_path: str | None = None,
                 show_progress: bool = True, clock=time.perf_counter):
        self.job = job
        self.run_id = run_id or new_run_id(job)
        self.env = env
        self.stream = stream
        self.echo = echo
        self.table_path = table_path
        self.show_progress = show_progress
        self.clock = clock
        self.records: list[StageRecord] = []
        self.log_file = self._open_log_file(log_dir)
        self.t0 = clock()

    @classmethod
    def from_config(cls, cfg: Any, job: str, run_id: str | None = None, **kwargs: Any) -> "RunLog":
        """Settings from ``ops.logs`` of the root config; the table is ``<paths.ops>/<ops.logs.run_log>``."""
        logs = (cfg.get("ops") or {}).get("logs") or {}
        ops_root = str(cfg.paths.ops)
        kwargs.setdefault("log_dir", logs.get("dir", f"{ops_root}/logs"))
        kwargs.setdefault("echo", bool(logs.get("echo", True)))
        kwargs.setdefault("show_progress", bool(logs.get("progress", True)))
        kwargs.setdefault("table_path", f"{ops_root}/{logs.get('run_log', RUN_LOG_TABLE)}")
        kwargs.setdefault("env", str(cfg.get("env_name", "")) or None)
        return cls(job, run_id=run_id, **kwargs)

    def _open_log_file(self, log_dir: str | None) -> str | None:
        if not log_dir:
            return None
        if not uri.is_local(log_dir):
            return None  # object stores: stderr + ops/run_log only
        directory = os.path.join(uri.local_path(log_dir), self.job)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError:
            return None
        return os.path.join(directory, f"{self.run_id}.jsonl")

    # --- recording --------------------------------------------------------------------------
    def _emit(self, rec: StageRecord) -> None:
        line = json.dumps(rec.as_json(), ensure_ascii=False, default=str)
        if self.echo:
            print(line, file=self.stream or sys.stderr, flush=True)
        if self.log_file:
            with open(self.log_file, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def record(self, stage: str, source: str | None = None, rows: int | None = None, seconds: float = 0.0,
               status: str = "ok", message: str | None = None, started_at: dt.datetime | None = None) -> StageRecord:
        """Log a stage that was timed elsewhere (e.g. from a result object)."""
        if status not in STATUSES:
            raise ValueError(f"status '{status}' is not one of {STATUSES}")
        ended = dt.datetime.now()
        rec = StageRecord(self.run_id, self.job, stage, source,
                          started_at or ended - dt.timedelta(seconds=seconds), ended, float(seconds),
                          rows, status, message)
        self.records.append(rec)
        self._emit(rec)
        return rec

    @contextmanager
    def stage(self, stage: str, source: str | None = None, rows: int | None = None) -> Iterator[StageRecord]:
        """Time a block. Set ``.rows`` / ``.message`` / ``.status`` on the yielded record inside it. An
        exception marks the stage failed (message = the exception) and propagates."""
        rec = StageRecord(self.run_id, self.job, stage, source, dt.datetime.now(), rows=rows)
        t0 = self.clock()
        try:
            yield rec
        except BaseException as exc:
            rec.status = "failed"
            rec.message = f"{type(exc).__name__}: {str(exc).strip()[:2000]}"
            raise
        finally:
            rec.seconds = self.clock() - t0
            rec.ended_at = dt.datetime.now()
            self.records.append(rec)
            self._emit(rec)

    def progress(self, total: int, label: str | None = None) -> Progress:
        return Progress(total, label or self.job, stream=self.stream, clock=self.clock, enabled=self.show_progress)

    # --- results ----------------------------------------------------------------------------
    @property
    def failed(self) -> list[StageRecord]:
        return [r for r in self.records if r.status == "failed"]

    @property
    def status(self) -> str:
        return "failed" if self.failed else "ok"

    def summary(self) -> str:
        """A fixed-width table of every stage, totals and the failures."""
        head = f"{'stage':<18} {'source':<26} {'rows':>12} {'seconds':>9} {'rows/s':>10}  status"
        lines = [f"{self.job} run {self.run_id}:", head, "-" * len(head)]
        for r in self.records:
            rps = f"{r.rows_per_s:,.0f}" if r.rows_per_s is not None else "-"
            rows = f"{r.rows:,}" if r.rows is not None else "-"
            lines.append(f"{r.stage:<18} {(r.source or '-'):<26} {rows:>12} {r.seconds:>9.1f} {rps:>10}  {r.status}")
        wall = self.clock() - self.t0
        lines.append(f"{self.job}: {len(self.records)} stage(s), {len(self.failed)} failed, {wall:.1f} s wall"
                     + (f"; log {self.log_file}" if self.log_file else ""))
        for r in self.failed:
            lines.append(f"FAILED {r.stage}{'/' + r.source if r.source else ''}: {r.message}")
        return "\n".join(lines)

    def rows(self) -> list[tuple]:
        return [r.as_row(self.env) for r in self.records]

    def write_table(self, spark: Any, path: str | None = None, attempts: int = 4) -> int:
        """Append this run's records to the ``ops/run_log`` Delta table; returns the rows written."""
        from lakehouse import io
        from lakehouse.ops.retry import with_retry

        path = path or self.table_path
        if not path or not self.records:
            return 0
        df = spark.createDataFrame(self.rows(), RUN_LOG_SCHEMA)
        with_retry(lambda: io.append_delta(df, path), attempts=attempts, what=f"append to {path}")
        return len(self.records)

    def asdicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]
