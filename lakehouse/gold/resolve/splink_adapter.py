"""Scoring (and optional m/u re-estimation) through Splink 5 on its Spark backend: the ONLY
module of the project that imports splink. Input: the candidate records, the blocked pairs
(registered with ``register_blocked_pairs_for_predict``) and term-frequency tables over all
records; output: the scored pairs at or above the threshold.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.gold.resolve.blocking import _rule_sql
from lakehouse.gold.resolve.model import _Spec, splink_settings


def _score(spark, prep: DataFrame, splink_input: DataFrame, pairs: DataFrame, spec: _Spec,
           s: Mapping[str, Any], n_records: int, prior: float) -> DataFrame:
    """Score the blocked pairs with Splink (Spark backend). Returns (uid_l, uid_r, match_probability)
    for pairs at or above the threshold (the lowest threshold the guard may need)."""
    from splink import Linker, SparkAPI

    tag = uuid.uuid4().hex[:8]
    db = SparkAPI(spark_session=spark, register_udfs_automatically=False, break_lineage_method="persist")
    settings = splink_settings(spec, s, n_records, prior)
    created: list[str] = []
    try:
        inp = db.register(splink_input, table_name=f"__lh_resolve_{tag}_input")
        created.append(inp.physical_name)
        linker = Linker(inp, settings, log_level=None)
        totals = prep.agg(*[F.count(c).alias(c) for c in spec.tf_columns]).first()
        for col in spec.tf_columns:
            # term frequencies over ALL records (not only the candidates scored here)
            tf = prep.where(F.col(col).isNotNull()).groupBy(col).agg(F.count(F.lit(1)).alias("c"))
            tf = tf.select(col, (F.col("c") / F.lit(max(int(totals[col]), 1))).alias(f"tf_{col}"))
            tf_sdf = db.register(tf, table_name=f"__lh_resolve_{tag}_tf_{col}")
            created.append(tf_sdf.physical_name)
            linker.table_management.register_term_frequency_lookup(tf_sdf, col)
        _train(linker, db, prep, spec, s, settings, tag, created)
        blocked = db.register(pairs, table_name=f"__lh_resolve_{tag}_pairs")
        created.append(blocked.physical_name)
        linker.table_management.register_blocked_pairs_for_predict(blocked)
        pred = linker.inference.predict(threshold_match_probability=float(s["threshold"]), warning_mode="never")
        out = pred.as_spark_dataframe() \
            .localCheckpoint()
        return out
    finally:
        _cleanup_splink(spark, db, created)


def _train(linker, db, prep: DataFrame, spec: _Spec, s: Mapping[str, Any], model: Mapping[str, Any],
           tag: str, created: list) -> None:
    """Optional re-estimation of m/u (settings.train.method); the fixed values are the start."""
    t = s["train"]
    method = t["method"]
    if method == "none":
        return
    linker.training.estimate_u_using_random_sampling(max_pairs=float(t["u_max_pairs"]), seed=int(t["seed"]))
    if method == "em":
        for rule in t["em_blocking_rules"]:
            linker.training.estimate_parameters_using_expectation_maximisation(_rule_sql(rule))
        return
    # method == 'labels': records sharing an identifier are true matches; estimate m from the pairs
    # of a sample of anchored records (Splink's estimate_m_from_label_column), copy m over.
    from splink import Linker

    n = max(int(t["label_sample_records"]), 2)
    anchored = prep.where(F.col("anchor").isNotNull())
    total = anchored.count()
    sample = anchored if total <= n else anchored.sample(False, n / total, seed=int(t["seed"]))
    sample = sample.select("uid", F.col("anchor").alias("_label"), *spec.compare_columns)
    lab = db.register(sample, table_name=f"__lh_resolve_{tag}_labels")  # db is the linker's database API
    created.append(lab.physical_name)
    lab_linker = Linker(lab, {**model, "linker_uid": uuid.uuid4().hex[:8]}, log_level=None)
    lab_linker.training.estimate_m_from_label_column("_label")
    # The estimates are read through the public model dict (a level carries m_probability there
    # exactly when its m is a value, not None / "level not observed").
    trained = lab_linker.misc.save_model_to_json()["comparisons"]
    # Private: Splink 5 has no public setter for one level's m on an existing linker (rebuilding
    # the linker from a dict would drop its registered TF tables and u estimates).
    for comp, new in zip(linker._settings_obj.comparisons, trained):
        for lvl, nlvl in zip(comp.comparison_levels, new["comparison_levels"]):
            m = nlvl.get("m_probability")
            if not lvl.is_null_level and isinstance(m, float):
                lvl.m_probability = m


def _cleanup_splink(spark, db, created: list[str]) -> None:
    """Unpersist what Splink persisted and drop its temp views (best effort)."""
    # Private: the public db.delete_tables_created_by_splink_from_db() runs DROP TABLE, which on
    # Spark 4.1 drops the temp views but leaves their persisted data cached.
    names = list(getattr(db, "_created_tables", set())) + created
    for name in names:
        try:
            spark.catalog.uncacheTable(name)
        except Exception:  # noqa: BLE001 - not cached / already gone
            pass
        try:
            spark.catalog.dropTempView(name)
        except Exception:  # noqa: BLE001
            pass
