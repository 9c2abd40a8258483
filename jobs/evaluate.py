"""Compare the entity resolution in gold with the generator's hidden truth -> ops/er_evaluation.

    python -m jobs.evaluate
"""

from __future__ import annotations

import datetime as dt

import hydra
from omegaconf import DictConfig
from pyspark.sql import functions as F

from jobs._common import Job, run_job
from lakehouse import io
from lakehouse.config import table_path
from lakehouse.errors import EvaluateError
from lakehouse.gold.evaluate import evaluate_clusters

SCHEMA = ("run_at TIMESTAMP, entity STRING, records LONG, pairwise_precision DOUBLE, pairwise_recall DOUBLE, "
          "pairwise_f1 DOUBLE, bcubed_precision DOUBLE, bcubed_recall DOUBLE, bcubed_f1 DOUBLE, "
          "wrong_merges LONG, wrong_splits LONG")


def body(job: Job) -> None:
    spark, cfg = job.spark, job.cfg
    truth_root = str(cfg.paths.truth)
    try:
        # Per-source truth only (truth/_file_faults holds file-level faults, not records).
        sources = ",".join(sorted(str(s) for s in cfg.sources))
        truth = spark.read.parquet(f"{truth_root}/{{{sources}}}/batch-*")
    except Exception as exc:  # noqa: BLE001 - no truth is a usage error
        raise EvaluateError(f"no generator truth under {truth_root} ({exc.__class__.__name__}): "
                            "run `make generate`") from None
    # The latest truth row per record (a record may be re-sent in later batches).
    truth = truth.where("op <> 'D'").groupBy("source", "record_key", "entity_type") \
        .agg(F.max_by("entity_id", "batch").alias("entity_id"))
    rows = []
    for entity, xref, key, kind in (("citizen", "xref_citizen", "citizen_key", "person"),
                                    ("enterprise", "xref_enterprise", "enterprise_key", "enterprise")):
        path = table_path(cfg, "gold", xref)
        if not io.delta_exists(spark, path):
            raise EvaluateError(f"gold/{xref} is missing: run `make gold`")
        job.audit.read(f"gold/{xref}")
        pred = io.read_delta(spark, path)
        t = truth.where(F.col("entity_type") == kind).join(pred.select("source", "record_key"), ["source", "record_key"])
        started = dt.datetime.now()
        m = evaluate_clusters(pred, t, pred_col=key, truth_col="entity_id")
        job.log.record("evaluate", source=entity, rows=int(m["records"]),
                       seconds=(dt.datetime.now() - started).total_seconds(), started_at=started)
        rows.append((dt.datetime.now(), entity, int(m["records"]), float(m["pairwise_precision"]),
                     float(m["pairwise_recall"]), float(m["pairwise_f1"]), float(m["bcubed_precision"]),
                     float(m["bcubed_recall"]), float(m["bcubed_f1"]), int(m["wrong_merges"]), int(m["wrong_splits"])))
        print(f"evaluate {entity:<10}: {m['records']:,} records  pairwise P {m['pairwise_precision']:.4f} "
              f"R {m['pairwise_recall']:.4f} F1 {m['pairwise_f1']:.4f}  B-cubed F1 {m['bcubed_f1']:.4f}  "
              f"wrong merges {m['wrong_merges']:,}  wrong splits {m['wrong_splits']:,}")
        job.audit.count(f"{entity}.records", int(m["records"]))
    io.append_delta(spark.createDataFrame(rows, SCHEMA), table_path(cfg, "ops", "er_evaluation"))
    job.audit.wrote("ops/er_evaluation", rows=len(rows))


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run_job(cfg, "evaluate", body)


if __name__ == "__main__":
    main()
