"""Silver -> gold: entity resolution, golden records, aggregates, insights and the scorecard.

    python -m jobs.gold
    python -m jobs.gold gold.resolve_people.threshold=0.9
"""

from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig

from jobs._common import Job, run_job
from lakehouse import storage
from lakehouse.config import table_path
from lakehouse.gold.runner import run_gold, scorecard_table


def body(job: Job) -> None:
    job.read("silver", ["citizen_records", "enterprise_records"])
    result = run_gold(job.spark, job.cfg, run_id=job.run_id)
    for name, rows in sorted(result.tables.items()):
        print(f"  gold/{name:<32}{rows:>12,} rows")
    job.wrote("gold", sorted(result.tables), result.tables)
    job.log.record("build_gold", rows=result.source_records, seconds=result.seconds)
    job.audit.count("source_records", result.source_records)
    if result.scorecard:
        print(scorecard_table(result.scorecard))
    stats_path = table_path(job.cfg, "ops", f"gold_stats/{result.run_id}.json")
    storage.write_text(job.spark, stats_path, json.dumps(result.stats, default=str, indent=1))
    rate = result.source_records / result.seconds if result.seconds else 0.0
    print(f"gold: {result.source_records:,} source records in {result.seconds:.1f} s ({rate:,.0f} records/s)")


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "gold", body)


if __name__ == "__main__":
    main()
