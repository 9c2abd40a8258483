"""Bronze -> silver: standardise, validate, deduplicate, merge with history, reconcile.

    python -m jobs.silver                          # every pending bronze batch of every source
    python -m jobs.silver only=[id_card] silver.reprocess=true
"""

from __future__ import annotations

import sys
import time

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.config import ConfigError
from lakehouse.silver.runner import SilverError, run_silver, summary_table


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    spark = spark_for(cfg)
    try:
        result = run_silver(spark, cfg)
    except (SilverError, ConfigError) as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    if result.batches:
        print(summary_table(result))
    print(f"silver: done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
