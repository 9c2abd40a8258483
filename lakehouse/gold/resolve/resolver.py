"""The resolver: exact anchors, the guard on identifier groups, the prior, then blocking ->
Splink scoring -> clustering; the public ``resolve_people`` / ``resolve_enterprises`` and the
stats types (see the package docstring for the method).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.errors import OversizeClusterError
from lakehouse.gold.resolve.blocking import _blocked_pairs, _candidates
from lakehouse.gold.resolve.graph import _cluster
from lakehouse.gold.resolve.model import (
    ENTERPRISE_SPEC,
    PERSON_SPEC,
    _Spec,
    enterprise_settings,
    person_settings,
)
from lakehouse.gold.resolve.splink_adapter import _score

log = logging.getLogger(__package__)  # "lakehouse.gold.resolve", as before the split

METHODS = ("cccd", "tax_code", "probabilistic", "singleton")
OUTPUT_COLUMNS = ("source", "record_key", "cluster_id", "match_method", "match_probability")


# --------------------------------------------------------------------------- stats

@dataclass
class ResolveStats:
    """What one resolution did, with throughput figures."""

    entity: str
    records: int = 0
    anchored_records: int = 0
    anchors: int = 0
    unanchored_records: int = 0
    profiles: int = 0
    prior: float = 0.0
    pairs_scored: int = 0
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: list[dict] = field(default_factory=list)
    edges_above_threshold: int = 0
    multi_anchor_records: int = 0       # records scoring above threshold against >= 2 identifiers
    ambiguous_records: int = 0          # ... of which left unattached (runner-up within the margin)
    clusters: int = 0
    probabilistic_records: int = 0
    singleton_records: int = 0
    conflict_components: int = 0        # components that would have merged two identifiers (split)
    oversize_components: list[dict] = field(default_factory=list)
    demoted_anchors: list[dict] = field(default_factory=list)
    unsplittable_components: list[dict] = field(default_factory=list)
    cc_iterations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    records_per_s: float = 0.0
    pairs_scored_per_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Resolution(NamedTuple):
    """``clusters`` (one row per input record; see OUTPUT_COLUMNS) and ``stats``."""

    clusters: DataFrame
    stats: ResolveStats


# --------------------------------------------------------------------------- the resolver

def resolve_people(df: DataFrame, settings: Mapping[str, Any] | None = None) -> Resolution:
    """Resolve person records (``lakehouse.silver.schema.PERSON_IDENTITY``) into citizens.

    Returns ``Resolution(clusters, stats)``; ``clusters`` has one row per input row:
    ``source, record_key, cluster_id, match_method ('cccd' | 'probabilistic' | 'singleton'),
    match_probability`` (1.0 for CCCD links, the best retained edge probability for probabilistic
    links, null for singletons). Settings: see :data:`DEFAULT_PERSON_SETTINGS`.
    """
    return _resolve(df, person_settings(settings), PERSON_SPEC)


def resolve_enterprises(df: DataFrame, settings: Mapping[str, Any] | None = None) -> Resolution:
    """Resolve enterprise records (``ENTERPRISE_IDENTITY``): exact on the 10-digit tax code, then
    Fellegi-Sunter on name, province, address, owner and phone. match_method is 'tax_code' for
    anchored records. Settings: see :data:`DEFAULT_ENTERPRISE_SETTINGS`."""
    return _resolve(df, enterprise_settings(settings), ENTERPRISE_SPEC)


def _resolve(df: DataFrame, s: dict[str, Any], spec: _Spec) -> Resolution:
    stats = ResolveStats(entity=spec.entity)
    cached: list[DataFrame] = []

    def keep(frame: DataFrame) -> DataFrame:
        cached.append(frame.persist())
        return frame

    try:
        return _run(df, s, spec, stats, keep)
    finally:
        for frame in cached:
            frame.unpersist()


def _run(df: DataFrame, s: dict[str, Any], spec: _Spec, stats: ResolveStats,
         keep: Callable[[DataFrame], DataFrame]) -> Resolution:
    spark = df.sparkSession
    t0 = time.perf_counter()
    clock = {"t": t0}

    def lap(name: str) -> None:
        now = time.perf_counter()
        stats.seconds[name] = round(now - clock["t"], 3)
        clock["t"] = now

    max_size = int(s["max_cluster_size"])
    prep = keep(spec.prepare(df, s))
    counts = prep.agg(F.count(F.lit(1)).alias("n"), F.count("anchor").alias("a")).first()
    stats.records, stats.anchored_records = int(counts["n"]), int(counts["a"])

    # ---- step 1: exact anchors (and the guard on the identifier groups themselves)
    anchors = keep(prep.where(F.col("anchor").isNotNull()).groupBy("anchor")
                   .agg(F.min("uid").alias("anchor_uid"), F.count(F.lit(1)).alias("n")))

    def anchor_stats():
        return anchors.agg(F.count(F.lit(1)).alias("k"), F.sum(F.col("n") * (F.col("n") - 1)).alias("pairs"),
                           F.sum("n").alias("n"), F.max("n").alias("max")).first()

    agg = anchor_stats()
    if (agg["max"] or 0) > max_size:
        big = anchors.where(F.col("n") > max_size).orderBy(F.desc("n"), "anchor_uid").limit(1000).collect()
        listing = [{"cluster_id": r["anchor_uid"], "records": int(r["n"]), "anchors": 1} for r in big]
        if s["oversize_action"] == "fail":
            raise OversizeClusterError(
                f"{len(big)} {spec.anchor_method} group(s) exceed max_cluster_size={max_size}: {listing[:5]}",
                listing)
        stats.demoted_anchors = listing
        log.warning("resolver: %d %s groups larger than %d demoted to probabilistic matching",
                    len(big), spec.anchor_method, max_size)
        demote = anchors.where(F.col("n") > max_size).select("anchor", F.lit(True).alias("_demoted"))
        prep = keep(prep.join(demote, "anchor", "left")
                    .withColumn("anchor", F.when(F.col("_demoted").isNull(), F.col("anchor"))).drop("_demoted"))
        anchors = keep(anchors.where(F.col("n") <= max_size))
        stats.anchored_records = prep.where(F.col("anchor").isNotNull()).count()
        agg = anchor_stats()
    stats.anchors = int(agg["k"])
    stats.unanchored_records = stats.records - stats.anchored_records
    population = s["population_records"]
    population = stats.records if population in (None, "auto") else int(population)
    # Prior: d / (N - 1), d = mean number of other records sharing a record's identifier.
    prior = s["probability_two_random_records_match"]
    if prior in (None, "auto"):
        d = (agg["pairs"] or 0) / agg["n"] if agg["n"] else 0.5
        prior = min(max(d, 0.05) / max(population - 1, 1), 0.5)
    stats.prior = float(prior)
    lap("prepare")

    cols = list(spec.compare_columns)
    edges = None
    if stats.unanchored_records > 0 and stats.records > 1:
        # ---- step 2 candidates: unanchored records + distinct profiles of anchored records
        cand = keep(_candidates(prep, cols, s["blocking_rules"], int(s["broadcast_max_rows"])))
        pairs = _blocked_pairs(cand, s["blocking_rules"], int(s["max_block_size"]), stats)
        by_rule = {r["match_key"]: int(r["n"])
                   for r in pairs.groupBy("match_key").agg(F.count(F.lit(1)).alias("n")).collect()}
        stats.pairs_by_rule = {"+".join(rule): by_rule.get(str(i), 0) for i, rule in enumerate(s["blocking_rules"])}
        stats.pairs_scored = sum(by_rule.values())
        lap("blocking")
        if stats.pairs_scored:
            in_pairs = pairs.select(F.col("join_key_l").alias("uid")) \
                .union(pairs.select(F.col("join_key_r").alias("uid"))).distinct()
            splink_input = keep(cand.join(in_pairs, "uid", "left_semi"))
            stats.profiles = splink_input.where(F.col("anchor").isNotNull()).count()
            scored = _score(spark, prep, splink_input, pairs, spec, s, population, stats.prior)
            # map profile uids to anchors: anchor edges (record -> anchor) and record-record edges
            pmap = splink_input.where(F.col("anchor").isNotNull()).select("uid", "anchor")
            sc = (scored.join(pmap.select(F.col("uid").alias("uid_l"), F.col("anchor").alias("anc_l")), "uid_l", "left")
                  .join(pmap.select(F.col("uid").alias("uid_r"), F.col("anchor").alias("anc_r")), "uid_r", "left"))
            edges = sc.select(
                F.when(F.col("anc_l").isNull(), F.col("uid_l")).otherwise(F.col("uid_r")).alias("a"),
                F.coalesce("anc_l", "anc_r").alias("anchor"),
                F.when(F.col("anc_l").isNull() & F.col("anc_r").isNull(), F.col("uid_r")).alias("b"),
                F.col("match_probability").alias("p"),
                F.col("match_weight").alias("w"),
            ).localCheckpoint()
            stats.edges_above_threshold = edges.count()
            lap("scoring")
            stats.pairs_scored_per_s = round(stats.pairs_scored / max(stats.seconds["scoring"], 1e-9), 1)

    clusters = _cluster(spark, prep, anchors, edges, s, spec, stats).localCheckpoint()
    summary = clusters.agg(F.countDistinct("cluster_id").alias("clusters"),
                           F.sum((F.col("match_method") == "probabilistic").cast("int")).alias("prob"),
                           F.sum((F.col("match_method") == "singleton").cast("int")).alias("single")).first()
    stats.clusters = int(summary["clusters"] or 0)
    stats.probabilistic_records = int(summary["prob"] or 0)
    stats.singleton_records = int(summary["single"] or 0)
    lap("clustering")
    total = time.perf_counter() - t0
    stats.seconds["total"] = round(total, 3)
    stats.records_per_s = round(stats.records / max(total, 1e-9), 1)
    log.info("resolver(%s): %s", spec.entity, stats.as_dict())
    return Resolution(clusters, stats)
