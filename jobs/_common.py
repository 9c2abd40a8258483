"""Shared start-up for the job entry points: one Spark session per job, from config, and one
wrapper that gives every job the same audit record, run log, summary and exit codes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

from omegaconf import DictConfig
from pyspark.sql import SparkSession

from lakehouse.errors import LakehouseError
from lakehouse.ops.runlog import RunLog
from lakehouse.runctx import RunContext
from lakehouse.security.audit import AuditRun, audited_run, describe_error
from lakehouse.session import build_spark


def spark_for(cfg: DictConfig) -> SparkSession:
    return build_spark(cfg.spark, str(cfg.spark_master))


@dataclass
class Job:
    """What a job body gets: the session, its run log (stages), its audit record (tables, counts) and
    its run context (the one run id that the log, the audit record and the rows written share)."""

    cfg: DictConfig
    spark: SparkSession
    log: RunLog
    audit: AuditRun
    run: RunContext

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def wrote(self, layer: str, tables: list[str], rows: dict[str, int] | None = None) -> None:
        for t in tables:
            self.audit.wrote(f"{layer}/{t}", rows=(rows or {}).get(t))

    def read(self, layer: str, tables: list[str]) -> None:
        for t in tables:
            self.audit.read(f"{layer}/{t}")


def run_job(cfg: DictConfig, name: str, body: Callable[[Job], None]) -> None:
    """Run ``body`` audited (``ops/audit_log``) and logged (JSON lines, ``ops/run_log``, a summary),
    under one run id (:class:`lakehouse.runctx.RunContext`) shared by both and by the rows it writes.

    A :class:`lakehouse.errors.LakehouseError` (a data or config problem the message explains) exits
    with code 2 and its message only; anything else exits non-zero with its traceback. Either way the
    audit record and the run log are written first, so a failed run is as visible as a good one."""
    t0 = time.perf_counter()
    run = RunContext.start(name)
    spark = spark_for(cfg)
    log = RunLog.from_config(cfg, job=name, run_id=run.run_id)
    status = 0
    try:
        with audited_run(spark, cfg, name, run_id=run.run_id) as audit:
            body(Job(cfg, spark, log, audit, run))
    except LakehouseError as exc:
        log.record("job", status="failed", message=describe_error(exc), seconds=time.perf_counter() - t0)
        print(f"{name}: {exc}", file=sys.stderr)
        status = 2
    except Exception as exc:
        log.record("job", status="failed", message=describe_error(exc), seconds=time.perf_counter() - t0)
        raise
    finally:
        try:
            log.write_table(spark)
        except Exception as exc:  # noqa: BLE001 - never mask the job's own outcome
            print(f"{name}: could not append to the run log: {describe_error(exc)}", file=sys.stderr)
        if log.records:
            print(log.summary(), file=sys.stderr)
    if status:
        sys.exit(status)
    print(f"{name}: done in {time.perf_counter() - t0:.1f} s")
