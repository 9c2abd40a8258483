"""Blocking: the keys of the configured blocking rules, the candidate records (unanchored
records + distinct profiles of the anchored ones they can meet) and the blocked pairs Splink
scores. Only pairs with at least one unanchored side are generated; blocks larger than
``max_block_size`` are skipped and reported. Rules never use a surname alone
(docs/domain.md#surnames-and-blocking).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from lakehouse.gold.resolve.resolver import ResolveStats

KEY_SEP = "\u001f"


def _rule_sql(rule: Sequence[str]) -> str:
    """A blocking rule as SQL over Splink's l. / r. sides (EM training rules)."""
    return " AND ".join(f"l.{c} = r.{c}" for c in rule)


def _key(rule: Sequence[str]) -> Column:
    cols = [F.col(c).cast("string") for c in rule]
    present = cols[0].isNotNull()
    for c in cols[1:]:
        present = present & c.isNotNull()
    return F.when(present, F.concat_ws(KEY_SEP, *cols))


def _explode_keys(df: DataFrame, rules: Sequence[Sequence[str]]) -> DataFrame:
    """(uid, anchored, rule, key): one row per record and blocking rule whose columns are all set."""
    return df.select(
        "uid", F.col("anchor").isNotNull().alias("anchored"),
        F.explode(F.array(*[F.struct(F.lit(i).alias("rule"), _key(r).alias("key"))
                            for i, r in enumerate(rules)])).alias("k"),
    ).select("uid", "anchored", "k.rule", "k.key").where(F.col("key").isNotNull())


def _candidates(prep: DataFrame, cols: Sequence[str], rules: Sequence[Sequence[str]],
                broadcast_max: int) -> DataFrame:
    """Unanchored records + the distinct profiles of those anchored records that share at least one
    blocking key with an unanchored record (the others can never be paired: no wide shuffle of
    every anchored record). Profile = one row per distinct (anchor, compared values), min uid."""
    free = prep.where(F.col("anchor").isNull()).select("uid", "anchor", *cols)
    live = _explode_keys(free, rules).select("rule", "key").distinct().localCheckpoint()
    small = live.count() <= broadcast_max
    anchored = prep.where(F.col("anchor").isNotNull())
    rel = _explode_keys(anchored.select("uid", "anchor", *cols), rules) \
        .join(F.broadcast(live) if small else live, ["rule", "key"], "left_semi").select("uid").distinct()
    rel = rel.localCheckpoint()
    small = rel.count() <= broadcast_max
    profiles = anchored.join(F.broadcast(rel) if small else rel, "uid", "left_semi") \
        .groupBy("anchor", *cols).agg(F.min("uid").alias("uid")).select("uid", "anchor", *cols)
    return free.unionByName(profiles)


def _blocked_pairs(cand: DataFrame, rules: Sequence[Sequence[str]], max_block: int,
                   stats: ResolveStats) -> DataFrame:
    """(match_key, join_key_l, join_key_r) for every pair sharing a blocking key, with at least one
    unanchored side; join_key_l < join_key_r; blocks larger than `max_block` are skipped."""
    keyed = _explode_keys(cand, rules)
    w = Window.partitionBy("rule", "key")
    # only blocks holding an unanchored record can produce a pair: keep those (small), once
    keyed = (keyed.select("*", F.count(F.lit(1)).over(w).alias("n"),
                          F.sum(F.when(~F.col("anchored"), 1).otherwise(0)).over(w).alias("n_free"))
             .where(F.col("n_free") > 0)).persist()
    try:
        big = keyed.where(F.col("n") > max_block).groupBy("rule", "key").agg(F.first("n").alias("n"))
        for row in big.orderBy(F.desc("n"), "rule").limit(20).collect():
            stats.skipped_blocks.append({"rule": "+".join(rules[row["rule"]]), "records": int(row["n"])})
        ok = keyed.where(F.col("n") <= max_block).select("uid", "anchored", "rule", "key")
        left = ok.where(~F.col("anchored")).select(F.col("uid").alias("a"), "rule", "key")
        right = ok.select(F.col("uid").alias("b"), F.col("anchored").alias("b_anchored"), "rule", "key")
        pairs = (left.join(right, ["rule", "key"])
                 .where((F.col("a") != F.col("b")) & (F.col("b_anchored") | (F.col("a") < F.col("b")))))
        return (pairs.select(F.least("a", "b").alias("join_key_l"), F.greatest("a", "b").alias("join_key_r"), "rule")
                .groupBy("join_key_l", "join_key_r").agg(F.min("rule").alias("rule"))
                .select(F.col("rule").cast("string").alias("match_key"), "join_key_l", "join_key_r")
                .localCheckpoint())
    finally:
        keyed.unpersist()
