"""Write the ops report: one offline HTML file (inline SVG) from whatever ops tables exist.

    python -m jobs.report                     # -> <paths.ops>/report/index.html
    python -m jobs.report ops.report.output=/srv/www/lakehouse/index.html ops.report.max_runs=10
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.ops.report import run_report
from lakehouse.ops.runlog import RunLog


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    runlog = RunLog.from_config(cfg, job="report")
    spark = spark_for(cfg)
    with runlog.stage("render"):
        run_report(spark, cfg)
    runlog.write_table(spark)


if __name__ == "__main__":
    main()
