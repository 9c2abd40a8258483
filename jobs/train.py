"""Train the analytical models on the gold tables (Dask + XGBoost), track and register them in MLflow.

    python -m jobs.train                                       # every model in models.specs
    python -m jobs.train models.only=[coverage_gap] seed=7
    python -m jobs.train models.gold_versions.dim_citizen=3    # time travel: train on gold v3
    DASK_SCHEDULER_ADDRESS=tcp://scheduler:8786 python -m jobs.train

Like every job it is audited (ops/audit_log: gold versions read, model versions registered) and
logged (one line per model in ops/run_log), which takes a Spark session for those two writes.
"""

from __future__ import annotations

import sys
import time

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse.models import tracking
from lakehouse.models.cluster import dask_client
from lakehouse.models.train import summary, train_models


def body(job: Job) -> None:
    cfg = job.cfg
    started = time.perf_counter()
    with dask_client(cfg) as client:
        results = train_models(client, cfg)
    seconds = (time.perf_counter() - started) / max(len(results), 1)
    for table, version in sorted({(t, v) for r in results for t, v in r.gold_versions.items()}):
        job.audit.read(f"gold/{table}", version)
    for r in results:
        job.log.record("train", source=r.model, rows=r.n_train + r.n_test, seconds=seconds,
                       message=f"{r.registered_name} v{r.version}, AUC {r.metrics['model_auc']:.3f} "
                       f"(+{r.metrics['auc_margin']:.3f} over the baseline)")
        job.audit.count(f"{r.model}.n_train", r.n_train)
        job.audit.count(f"{r.model}.n_test", r.n_test)
        job.audit.note(f"{r.model}.registered", f"{r.registered_name} v{r.version} run {r.run_id}"
                       + (f" alias {r.alias}" if r.alias else ""))
    print(summary(results))
    for r in results:
        if not r.promoted:
            print(f"train: {r.registered_name} v{r.version} does not beat the baseline by "
                  f"models.promote.min_auc_margin; alias '{cfg.models.alias}' left where it was", file=sys.stderr)
    print(f"train: {len(results)} model(s) tracked in {tracking.tracking_uri(cfg)}")


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "train", body)


if __name__ == "__main__":
    main()
