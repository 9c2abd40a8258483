"""Maintain every Delta table under bronze/, silver/, gold/ and ops/: OPTIMIZE (Z-order on lookup
keys), VACUUM, statistics. Settings: ``ops.maintain`` (conf/ops/default.yaml).

    python -m jobs.maintain
    python -m jobs.maintain ops.maintain.retention_hours=336 'ops.maintain.tables=[gold/*]'
    python -m jobs.maintain ops.maintain.vacuum=false          # compaction and statistics only
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.ops.maintain import run_maintenance, summary_table
from lakehouse.ops.runlog import RunLog


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    runlog = RunLog.from_config(cfg, job="maintain")
    spark = spark_for(cfg)
    reports = run_maintenance(spark, cfg, runlog=runlog)
    print(summary_table(reports))
    runlog.write_table(spark)
    failed = [r for r in reports if r.status != "ok"]
    if failed:
        print(f"maintain: {len(failed)} table(s) failed: " + ", ".join(r.table for r in failed), file=sys.stderr)
        sys.exit(1)
    print(f"maintain: done, run {runlog.run_id}")


if __name__ == "__main__":
    main()
