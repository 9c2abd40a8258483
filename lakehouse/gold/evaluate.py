"""Evaluate predicted clusters against the generator's truth, at any scale, without pairs.

Everything comes from the contingency table of (predicted cluster, true entity) cells with their
record counts n: with a_c = records of cluster c and b_e = records of entity e,

* true-positive pairs   TP = sum over cells C(n, 2)
* predicted pairs        P = sum over clusters C(a_c, 2)
* true pairs             T = sum over entities C(b_e, 2)
* pairwise precision TP/P, recall TP/T, F1 their harmonic mean;
* B-cubed (per record, averaged over records): precision = sum n^2 / a_c / N,
  recall = sum n^2 / b_e / N;
* wrong merges = clusters holding more than one entity; wrong splits = entities spread over more
  than one cluster.

Conventions when a denominator is zero: precision = 1.0 when no pair is predicted, recall = 1.0
when no pair is true (nothing to find), F1 = 0.0 when precision + recall = 0.
Only records present in both frames are scored; the others are counted.
"""

from __future__ import annotations

from typing import Any, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def _pairs(name: str):
    """C(n, 2) in exact long arithmetic."""
    return F.expr(f"(cast({name} as long) * (cast({name} as long) - 1)) div 2")


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def evaluate_clusters(pred_df: DataFrame, truth_df: DataFrame, *,
                      keys: Sequence[str] = ("source", "record_key"),
                      pred_col: str = "cluster_id", truth_col: str = "entity_id") -> dict[str, Any]:
    """Compare predicted (record -> ``pred_col``) with truth (record -> ``truth_col``).

    Both frames are keyed by ``keys`` (one row per record; duplicates in either frame are collapsed
    to one row). Returns a dict: records, records_only_in_pred, records_only_in_truth, clusters,
    entities, tp_pairs, pred_pairs, true_pairs, pairwise_precision, pairwise_recall, pairwise_f1,
    bcubed_precision, bcubed_recall, bcubed_f1, wrong_merges, wrong_splits.
    """
    keys = list(keys)
    pred = pred_df.select(*keys, F.col(pred_col).cast("string").alias("_c")).dropDuplicates(keys)
    truth = truth_df.select(*keys, F.col(truth_col).cast("string").alias("_e")).dropDuplicates(keys)
    joined = pred.join(truth, keys, "full_outer")
    side = joined.agg(
        F.sum(F.when(F.col("_c").isNotNull() & F.col("_e").isNotNull(), 1).otherwise(0)).alias("both"),
        F.sum(F.when(F.col("_e").isNull(), 1).otherwise(0)).alias("only_pred"),
        F.sum(F.when(F.col("_c").isNull(), 1).otherwise(0)).alias("only_truth"),
    ).first()
    cells = joined.where(F.col("_c").isNotNull() & F.col("_e").isNotNull()) \
        .groupBy("_c", "_e").agg(F.count(F.lit(1)).cast("long").alias("n")).persist()
    try:
        clusters = cells.groupBy("_c").agg(F.sum("n").alias("a"), F.count(F.lit(1)).alias("k"))
        entities = cells.groupBy("_e").agg(F.sum("n").alias("b"), F.count(F.lit(1)).alias("k"))
        c_stats = clusters.agg(F.count(F.lit(1)).alias("clusters"), F.sum(_pairs("a")).alias("pred_pairs"),
                               F.sum(F.when(F.col("k") > 1, 1).otherwise(0)).alias("wrong_merges")).first()
        e_stats = entities.agg(F.count(F.lit(1)).alias("entities"), F.sum(_pairs("b")).alias("true_pairs"),
                               F.sum(F.when(F.col("k") > 1, 1).otherwise(0)).alias("wrong_splits")).first()
        sq = F.col("n").cast("double") * F.col("n").cast("double")
        cell_stats = (cells.join(clusters.select("_c", "a"), "_c").join(entities.select("_e", "b"), "_e")
                      .agg(F.sum(_pairs("n")).alias("tp"), F.sum(sq / F.col("a")).alias("b3p"),
                           F.sum(sq / F.col("b")).alias("b3r"), F.sum("n").alias("records")).first())
    finally:
        cells.unpersist()
    n = int(cell_stats["records"] or 0)
    tp = int(cell_stats["tp"] or 0)
    pp = int(c_stats["pred_pairs"] or 0)
    tt = int(e_stats["true_pairs"] or 0)
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    b3p = float(cell_stats["b3p"] or 0.0) / n if n else 1.0
    b3r = float(cell_stats["b3r"] or 0.0) / n if n else 1.0
    return {
        "records": n,
        "records_only_in_pred": int(side["only_pred"] or 0),
        "records_only_in_truth": int(side["only_truth"] or 0),
        "clusters": int(c_stats["clusters"] or 0),
        "entities": int(e_stats["entities"] or 0),
        "tp_pairs": tp,
        "pred_pairs": pp,
        "true_pairs": tt,
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": _f1(precision, recall),
        "bcubed_precision": b3p,
        "bcubed_recall": b3r,
        "bcubed_f1": _f1(b3p, b3r),
        "wrong_merges": int(c_stats["wrong_merges"] or 0),
        "wrong_splits": int(e_stats["wrong_splits"] or 0),
    }
