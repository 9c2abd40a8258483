"""Batch-score with the registered models (by alias) into gold/<model>_scores (Delta).

    python -m jobs.score                                       # every model, alias models.alias
    python -m jobs.score models.only=[enterprise_risk] models.alias=challenger

Audited (gold versions read, score tables written with their Delta version and rows) and logged
(one line per model in ops/run_log) like every job.
"""

from __future__ import annotations

import time

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.models.cluster import dask_client
from lakehouse.models.score import score_models, summary


def body(job: Job) -> None:
    started = time.perf_counter()
    with dask_client(job.cfg) as client:
        results = score_models(client, job.cfg)
    seconds = (time.perf_counter() - started) / max(len(results), 1)
    for table, version in sorted({(t, v) for r in results for t, v in r.gold_versions.items()}):
        job.audit.read(f"gold/{table}", version)
    for r in results:
        job.log.record("score", source=r.model, rows=r.rows, seconds=seconds,
                       message=f"{r.registered_name} v{r.version} ({r.alias})")
        job.audit.wrote(f"gold/{r.table.rstrip('/').rsplit('/', 1)[-1]}", r.delta_version, r.rows)
        job.audit.note(f"{r.model}.model", f"{r.registered_name} v{r.version} ({r.alias}) run {r.run_id}")
    print(summary(results))
    print(f"score: {sum(r.rows for r in results)} rows")


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "score", body)


if __name__ == "__main__":
    main()
