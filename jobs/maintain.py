"""Maintain every Delta table under bronze/, silver/, gold/ and ops/: OPTIMIZE (Z-order on lookup
keys), VACUUM, statistics. Settings: ``ops.maintain`` (conf/ops/default.yaml).

    python -m jobs.maintain
    python -m jobs.maintain ops.maintain.retention_hours=336 'ops.maintain.tables=[gold/*]'
    python -m jobs.maintain ops.maintain.vacuum=false          # compaction and statistics only
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.errors import MaintenanceError
from lakehouse.ops.maintain import run_maintenance, summary_table


def body(job: Job) -> None:
    reports = run_maintenance(job.spark, job.cfg, runlog=job.log)
    print(summary_table(reports))
    for r in reports:
        if r.status == "ok":
            job.audit.wrote(r.table)
    failed = [r for r in reports if r.status != "ok"]
    if failed:
        raise MaintenanceError(f"{len(failed)} table(s) failed: " + ", ".join(r.table for r in failed))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "maintain", body)


if __name__ == "__main__":
    main()
