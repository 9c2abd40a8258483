"""Train the analytical models on the gold tables (Dask + XGBoost), track and register them in MLflow.

    python -m jobs.train                                       # every model in models.specs
    python -m jobs.train models.only=[coverage_gap] seed=7
    python -m jobs.train models.gold_versions.dim_citizen=3    # time travel: train on gold v3
    DASK_SCHEDULER_ADDRESS=tcp://scheduler:8786 python -m jobs.train

With models.audit=true (default) the run is recorded in ops/audit_log (gold versions read, model
versions registered), which takes a Spark session for that one write.
"""

from __future__ import annotations

import contextlib
import sys
import time

import hydra
from omegaconf import DictConfig

from lakehouse.config import ConfigError
from lakehouse.models import tracking
from lakehouse.models.cluster import dask_client
from lakehouse.models.train import summary, train_models


def audit(cfg: DictConfig, job: str):
    """security.audit.audited_run for this job, or a no-op context when models.audit is false."""
    if not cfg.models.get("audit", True):
        return contextlib.nullcontext(None)
    from jobs._common import spark_for
    from lakehouse.security.audit import audited_run

    return audited_run(spark_for(cfg), cfg, job, action="job_run", target=f"models/{job}")


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    try:
        with audit(cfg, "train") as run, dask_client(cfg) as client:
            results = train_models(client, cfg)
            if run is not None:
                for table, version in sorted({(t, v) for r in results for t, v in r.gold_versions.items()}):
                    run.read(f"gold/{table}", version)
                for r in results:
                    run.count(f"{r.model}.n_train", r.n_train)
                    run.count(f"{r.model}.n_test", r.n_test)
                    run.note(f"{r.model}.registered", f"{r.registered_name} v{r.version} run {r.run_id}"
                             + (f" alias {r.alias}" if r.alias else ""))
    except (ConfigError, ValueError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        sys.exit(2)
    print(summary(results))
    for r in results:
        if not r.promoted:
            print(f"train: {r.registered_name} v{r.version} does not beat the baseline by "
                  f"models.promote.min_auc_margin; alias '{cfg.models.alias}' left where it was", file=sys.stderr)
    print(f"train: {len(results)} model(s) tracked in {tracking.tracking_uri(cfg)} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
