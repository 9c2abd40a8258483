"""Silver -> gold: entity resolution, golden records, aggregates, insights and the scorecard.

    python -m jobs.gold
    python -m jobs.gold gold.resolve_people.threshold=0.9
"""

from __future__ import annotations

import json
import sys
import time

import hydra
from omegaconf import DictConfig

from jobs._common import spark_for
from lakehouse import io
from lakehouse.config import table_path
from lakehouse.gold.resolve import OversizeClusterError
from lakehouse.gold.runner import GoldError, run_gold, scorecard_table


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    t0 = time.perf_counter()
    spark = spark_for(cfg)
    try:
        result = run_gold(spark, cfg)
    except (GoldError, OversizeClusterError) as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    for name, rows in sorted(result.tables.items()):
        print(f"  gold/{name:<32}{rows:>12,} rows")
    if result.scorecard:
        print(scorecard_table(result.scorecard))
    stats_path = table_path(cfg, "ops", f"gold_stats/{result.run_id}.json")
    io.write_text_file(stats_path, json.dumps(result.stats, default=str, indent=1))
    rate = result.source_records / result.seconds if result.seconds else 0.0
    print(f"gold: {result.source_records:,} source records in {result.seconds:.1f} s ({rate:,.0f} records/s); "
          f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
