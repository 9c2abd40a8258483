"""Generate the dirty source data for the 16 source systems (and the hidden truth).

    python -m jobs.generate scale=0.01 batch=0 seed=42 only=[id_card]
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.simulate.runner import generate, summary_table


def body(job: Job) -> None:
    results = generate(job.spark, job.cfg)
    for r in results:
        job.log.record("generate", source=r.source, rows=r.records, seconds=r.seconds)
        job.audit.count(f"{r.source}.records", r.records)
    print(summary_table(results))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "generate", body)


if __name__ == "__main__":
    main()
