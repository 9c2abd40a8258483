"""Land every source in bronze: new landing files and database increments -> bronze/<source>.

    python -m jobs.bronze                       # all sources
    python -m jobs.bronze only=[id_card] bronze.max_error_rate=0.1
"""

from __future__ import annotations

import sys
import time

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse.bronze import BronzeError, run_bronze


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    spark = spark_for(cfg)
    try:
        run_bronze(spark, cfg)
    except BronzeError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    print(f"bronze: done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
