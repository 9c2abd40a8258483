"""Generate the dirty source data for the 16 source systems (and the hidden truth).

    python -m jobs.generate scale=0.01 batch=0 seed=42 only=[id_card]
"""

from __future__ import annotations

import time

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.simulate.runner import generate, summary_table


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    spark = spark_for(cfg)
    results = generate(spark, cfg)
    print(summary_table(results))
    print(f"generate: done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
