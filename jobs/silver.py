"""Bronze -> silver: standardise, validate, deduplicate, merge with history, reconcile.

    python -m jobs.silver                          # every pending bronze batch of every source
    python -m jobs.silver only=[id_card] silver.reprocess=true
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.silver.runner import run_silver, summary_table


def body(job: Job) -> None:
    result = run_silver(job.spark, job.cfg, run_id=job.run_id)
    written: dict[str, int] = {}
    for b in result.batches:
        job.log.record("apply_batch", source=f"{b.source}#{b.batch}", rows=b.bronze_rows, seconds=b.seconds)
        job.audit.read(f"bronze/{b.source}")
        for t in b.tables:
            written[t] = written.get(t, 0) + (b.fact_rows if t.startswith("fact_") else b.accepted)
        job.audit.count(f"{b.source}.bronze", b.bronze_rows)
        job.audit.count(f"{b.source}.quarantined", b.quarantined)
    job.wrote("silver", sorted(written), written)
    if result.batches:
        print(summary_table(result))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "silver", body)


if __name__ == "__main__":
    main()
