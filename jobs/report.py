"""Write the ops report: one offline HTML file (inline SVG) from whatever ops tables exist.

    python -m jobs.report                     # -> <paths.ops>/report/index.html
    python -m jobs.report ops.report.output=/srv/www/lakehouse/index.html ops.report.max_runs=10
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.ops.report import run_report


def body(job: Job) -> None:
    with job.log.stage("render"):
        run_report(job.spark, job.cfg)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "report", body)


if __name__ == "__main__":
    main()
