"""Land every source in bronze: new landing files and database increments -> bronze/<source>.

    python -m jobs.bronze                       # all sources
    python -m jobs.bronze only=[id_card] bronze.max_error_rate=0.1
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.bronze import run_bronze


def body(job: Job) -> None:
    result = run_bronze(job.spark, job.cfg, run_id=job.run_id)
    for s in result.sources:
        job.log.record("ingest", source=s.source, rows=s.landing_records, seconds=s.seconds,
                       status="ok" if s.landing_records else "skipped")
        if s.rows or s.quarantined:
            job.audit.wrote(f"bronze/{s.source}", rows=s.rows)
        job.audit.count(f"{s.source}.landing", s.landing_records)
        job.audit.count(f"{s.source}.quarantined", s.quarantined)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "bronze", body)


if __name__ == "__main__":
    main()
