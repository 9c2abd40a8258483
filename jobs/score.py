"""Batch-score with the registered models (by alias) into gold/<model>_scores (Delta).

    python -m jobs.score                                       # every model, alias models.alias
    python -m jobs.score models.only=[enterprise_risk] models.alias=challenger

With models.audit=true (default) the run is recorded in ops/audit_log (gold versions read, score
tables written with their Delta version and rows).
"""

from __future__ import annotations

import sys
import time

import hydra
from omegaconf import DictConfig

from jobs.train import audit
from lakehouse.config import ConfigError
from lakehouse.models.cluster import dask_client
from lakehouse.models.score import score_models, summary


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    try:
        with audit(cfg, "score") as run, dask_client(cfg) as client:
            results = score_models(client, cfg)
            if run is not None:
                for table, version in sorted({(t, v) for r in results for t, v in r.gold_versions.items()}):
                    run.read(f"gold/{table}", version)
                for r in results:
                    run.wrote(f"gold/{r.table.rstrip('/').rsplit('/', 1)[-1]}", r.delta_version, r.rows)
                    run.note(f"{r.model}.model", f"{r.registered_name} v{r.version} ({r.alias}) run {r.run_id}")
    except ConfigError as exc:
        print(f"score: {exc}", file=sys.stderr)
        sys.exit(2)
    print(summary(results))
    print(f"score: {sum(r.rows for r in results)} rows in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
