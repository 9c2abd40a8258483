"""Clustering: the graph of record -> anchor and record -> record edges, its connected components
(min-label propagation in Spark), the cluster-size / conflict guard and the split of bad
components (on the driver when they are small, in Spark otherwise).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.errors import OversizeClusterError

if TYPE_CHECKING:
    from lakehouse.gold.resolve.model import _Spec
    from lakehouse.gold.resolve.resolver import ResolveStats

log = logging.getLogger(__package__)  # "lakehouse.gold.resolve", as before the split


def connected_components(edges: DataFrame, max_iter: int = 50) -> tuple[DataFrame, int]:
    """Components of the undirected graph `edges(a, b)` (string node ids) by min-label propagation
    with pointer jumping. Returns (node, comp) with comp = smallest node id in the component, and
    the number of iterations. Only nodes that appear in an edge are returned."""
    e = edges.select("a", "b").union(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
    e = e.where(F.col("a") != F.col("b")).distinct().localCheckpoint()
    labels = e.groupBy("a").agg(F.least(F.col("a"), F.min("b")).alias("comp")) \
        .withColumnRenamed("a", "node").localCheckpoint()
    for i in range(1, max_iter + 1):
        nb = (e.join(labels.select(F.col("node").alias("b"), F.col("comp").alias("cb")), "b")
              .groupBy("a").agg(F.min("cb").alias("m")).withColumnRenamed("a", "node"))
        step = labels.join(nb, "node").select("node", F.least("comp", "m").alias("comp"),
                                              F.col("comp").alias("old")).localCheckpoint()
        # pointer jumping: adopt the label of my label (halves the iterations on long chains)
        hop = step.join(step.select(F.col("node").alias("comp"), F.col("comp").alias("cc")), "comp", "left") \
            .select("node", F.least("comp", F.coalesce("cc", "comp")).alias("comp"), "old").localCheckpoint()
        changed = hop.where(F.col("comp") != F.col("old")).limit(1).count()
        labels = hop.select("node", "comp")
        if not changed:
            return labels, i
    raise RuntimeError(f"connected components did not converge in {max_iter} iterations")


# --------------------------------------------------------------------------- clustering

def _cluster(spark, prep: DataFrame, anchors: DataFrame, edges: DataFrame | None, s: Mapping[str, Any],
             spec: _Spec, stats: ResolveStats) -> DataFrame:
    """Build the graph (unanchored records + anchors), apply the guard, assign cluster ids."""
    rec = prep.select("source", "record_key", "uid", "anchor")
    if edges is None or stats.edges_above_threshold == 0:
        assign = None
    else:
        # anchor edges: each record keeps only its best anchor (ties: smallest anchor uid)
        ae = edges.where(F.col("anchor").isNotNull()).join(anchors.select("anchor", "anchor_uid"), "anchor") \
            .groupBy("a", "anchor_uid").agg(F.max("p").alias("p"), F.max("w").alias("w"))
        w = Window.partitionBy("a").orderBy(F.desc("w"), F.asc("anchor_uid"))
        ae = ae.select("*", F.row_number().over(w).alias("rk"), F.lead("w").over(w).alias("w2"),
                       F.count(F.lit(1)).over(Window.partitionBy("a")).alias("na"))
        margin = float(s["anchor_ambiguity_margin"])
        ae = ae.where(F.col("rk") == 1).withColumn(
            "ambiguous", F.coalesce(F.col("w") - F.col("w2") < F.lit(margin), F.lit(False))).localCheckpoint()
        amb = ae.agg(F.sum(F.when(F.col("na") > 1, 1).otherwise(0)).alias("multi"),
                     F.sum(F.col("ambiguous").cast("int")).alias("amb")).first()
        stats.multi_anchor_records, stats.ambiguous_records = int(amb["multi"] or 0), int(amb["amb"] or 0)
        graph = (ae.where(~F.col("ambiguous")).select("a", F.col("anchor_uid").alias("b"), "p", F.lit(True).alias("to_anchor"))
                 .unionByName(edges.where(F.col("b").isNotNull()).select("a", "b", "p", F.lit(False).alias("to_anchor"))))
        graph = graph.localCheckpoint()
        # node weights: anchors count their identifier group, records count 1
        weights = anchors.select(F.col("anchor_uid").alias("node"), F.col("n").alias("w"), F.lit(1).alias("is_anchor"))
        assign = _guarded_components(graph, weights, s, stats)
    # assign: node -> comp for every node of the (split) graph
    out = rec.join(anchors.select("anchor", "anchor_uid"), "anchor", "left")
    if assign is None:
        out = out.select("source", "record_key", "uid", "anchor",
                         F.coalesce("anchor_uid", "uid").alias("cluster_id"), F.lit(None).cast("double").alias("p"))
    else:
        a_comp = assign.select(F.col("node").alias("anchor_uid"), F.col("comp").alias("a_comp"))
        r_comp = assign.select(F.col("node").alias("uid"), F.col("comp").alias("r_comp"), F.col("p").alias("p"))
        out = (out.join(a_comp, "anchor_uid", "left").join(r_comp, "uid", "left")
               .select("source", "record_key", "uid", "anchor",
                       F.when(F.col("anchor").isNotNull(), F.coalesce("a_comp", "anchor_uid"))
                       .otherwise(F.coalesce("r_comp", "uid")).alias("cluster_id"),
                       F.when(F.col("anchor").isNull(), F.col("p")).alias("p")))
    method = (F.when(F.col("anchor").isNotNull(), F.lit(spec.anchor_method))
              .when(F.col("p").isNotNull(), F.lit("probabilistic")).otherwise(F.lit("singleton")))
    prob = F.when(F.col("anchor").isNotNull(), F.lit(1.0)).otherwise(F.col("p"))
    return out.select("source", "record_key", "cluster_id", method.alias("match_method"),
                      prob.cast("double").alias("match_probability"))


def _components_with_stats(graph: DataFrame, weights: DataFrame, max_size: int, max_iter: int,
                           stats: ResolveStats) -> tuple[DataFrame, DataFrame]:
    """Components of `graph`: (node, comp) and (comp, size, anchors, conflict, oversize)."""
    labels, iters = connected_components(graph, max_iter)
    stats.cc_iterations += iters
    nodes = labels.join(weights, "node", "left").select(
        "node", "comp", F.coalesce("w", F.lit(1)).alias("w"), F.coalesce("is_anchor", F.lit(0)).alias("is_anchor"))
    comps = nodes.groupBy("comp").agg(F.sum("w").alias("size"), F.sum("is_anchor").alias("anchors")) \
        .withColumn("conflict", F.col("anchors") > 1).withColumn("oversize", F.col("size") > max_size)
    return labels, comps.localCheckpoint()


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # keep the smaller id as the root: the component label is its minimum
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


def split_components(edges: Sequence[tuple[str, str, float, bool]], weights: Mapping[str, tuple[int, int]],
                     thresholds: Sequence[float], max_size: int) -> tuple[list[tuple[str, str]], list[dict]]:
    """Split bad components (driver side, for the few the guard finds).

    edges: (a, b, p, to_anchor); weights: node -> (records, is_anchor) for anchor nodes (others
    count 1 record, 0 anchors). At each threshold only edges with p >= threshold are kept;
    components that are fine are final, the others go on to the next threshold; the last resort
    keeps only record -> anchor edges (each record has at most one), so no conflict can remain.
    Returns ((node, comp) for nodes still linked to something, unsplittable oversize components).
    Nodes not returned lost every edge: singletons.
    """
    out: list[tuple[str, str]] = []
    pending = list(edges)
    unsplittable: list[dict] = []
    for thr in [*thresholds, None]:
        keep = [e for e in pending if (e[3] if thr is None else e[2] >= thr)]
        uf = _UnionFind()
        for a, b, _p, _t in keep:
            uf.union(a, b)
        comps: dict[str, list[str]] = {}
        for node in list(uf.parent):
            comps.setdefault(uf.find(node), []).append(node)
        still: set[str] = set()
        for root, nodes in comps.items():
            size = sum(weights.get(n, (1, 0))[0] for n in nodes)
            anchors = sum(weights.get(n, (1, 0))[1] for n in nodes)
            if (anchors > 1 or size > max_size) and thr is not None:
                still.update(nodes)
            else:
                out.extend((n, root) for n in nodes)
                if size > max_size:
                    unsplittable.append({"cluster_id": root, "records": size, "anchors": anchors})
        pending = [e for e in pending if e[0] in still]
        if not pending:
            break
    return out, sorted(unsplittable, key=lambda c: (-c["records"], c["cluster_id"]))[:100]


def _split_in_spark(sub: DataFrame, weights: DataFrame, thresholds: Sequence[float], max_size: int,
                    max_iter: int, stats: ResolveStats) -> list[DataFrame]:
    """The same as :func:`split_components`, in Spark, for when the bad components are large."""
    parts = []
    for thr in [*thresholds, None]:
        # last resort (None): no record-to-record edges; every record keeps only its best anchor
        cur = (sub.where(F.col("to_anchor")) if thr is None else sub.where(F.col("p") >= thr)).localCheckpoint()
        if cur.limit(1).count() == 0:
            if thr is None:
                break
            continue
        lab, cmp_ = _components_with_stats(cur, weights, max_size, max_iter, stats)
        still = cmp_.where(F.col("conflict") | F.col("oversize"))
        if thr is None or still.limit(1).count() == 0:
            parts.append(lab.select("node", "comp"))
            if thr is None:
                stats.unsplittable_components = [
                    {"cluster_id": r["comp"], "records": int(r["size"]), "anchors": int(r["anchors"])}
                    for r in still.orderBy(F.desc("size"), "comp").limit(100).collect()]
            break
        parts.append(lab.join(still.select("comp"), "comp", "left_anti").select("node", "comp"))
        still_nodes = lab.join(still.select("comp"), "comp", "left_semi").select(F.col("node").alias("a"))
        # nodes of `sub` outside `lab` lost all their edges at this level: singletons, dropped here
        sub = sub.join(still_nodes, "a", "left_semi").localCheckpoint()
    return parts


def _guarded_components(graph: DataFrame, weights: DataFrame, s: Mapping[str, Any],
                        stats: ResolveStats) -> DataFrame:
    """node -> comp after the guard, with p = best probability of an edge kept inside the comp."""
    max_size, max_iter = int(s["max_cluster_size"]), int(s["max_cc_iterations"])
    labels, comps = _components_with_stats(graph, weights, max_size, max_iter, stats)
    bad = comps.where(F.col("conflict") | F.col("oversize"))
    n_bad = bad.count()
    final = labels
    if n_bad:
        stats.conflict_components = bad.where("conflict").count()
        over = bad.where("oversize").orderBy(F.desc("size"), "comp").limit(1000).collect()
        stats.oversize_components = [{"cluster_id": r["comp"], "records": int(r["size"]), "anchors": int(r["anchors"])}
                                     for r in over]
        if over and s["oversize_action"] == "fail":
            raise OversizeClusterError(
                f"{len(over)} cluster(s) exceed max_cluster_size={max_size}: {stats.oversize_components[:5]}",
                stats.oversize_components)
        if over:
            log.warning("resolver: %d oversize components split: %s", len(over), stats.oversize_components[:5])
        good = labels.join(bad.select("comp"), "comp", "left_anti").select("node", "comp")
        bad_nodes = labels.join(bad.select("comp"), "comp", "left_semi").select("node").localCheckpoint()
        sub = graph.join(bad_nodes.withColumnRenamed("node", "a"), "a", "left_semi").localCheckpoint()
        parts = [good]
        thresholds = [float(t) for t in s["split_thresholds"]]
        if sub.count() <= int(s["local_split_max_edges"]):
            # bad components are few and small: split them on the driver (union-find)
            w = {r["node"]: (int(r["w"]), int(r["is_anchor"]))
                 for r in weights.join(bad_nodes, "node", "left_semi").collect()}
            edges = [(r["a"], r["b"], float(r["p"]), bool(r["to_anchor"])) for r in sub.collect()]
            mapping, unsplittable = split_components(edges, w, thresholds, max_size)
            stats.unsplittable_components = unsplittable
            if mapping:
                parts.append(graph.sparkSession.createDataFrame(mapping, "node string, comp string"))
        else:
            parts.extend(_split_in_spark(sub, weights, thresholds, max_size, max_iter, stats))
        final = parts[0]
        for p in parts[1:]:
            final = final.unionByName(p)
        # nodes of bad components that lost every edge are not in `final`: they become singletons
    final = final.localCheckpoint()
    # best probability of a kept edge (both ends in the same final component), per node
    comp_of = final.select(F.col("node"), F.col("comp"))
    g = (graph.join(comp_of.select(F.col("node").alias("a"), F.col("comp").alias("ca")), "a")
         .join(comp_of.select(F.col("node").alias("b"), F.col("comp").alias("cb")), "b")
         .where(F.col("ca") == F.col("cb")))
    best = g.select(F.col("a").alias("node"), "p").unionByName(g.select(F.col("b").alias("node"), "p")) \
        .groupBy("node").agg(F.max("p").alias("p"))
    return final.join(best, "node", "left")
