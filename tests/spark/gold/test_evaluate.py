"""Cluster metrics from contingency counts, checked against hand-computed values."""

from __future__ import annotations

import pytest

from lakehouse.gold.evaluate import evaluate_clusters

SCHEMA_P = "source STRING, record_key STRING, cluster_id STRING"
SCHEMA_T = "source STRING, record_key STRING, entity_id LONG"


def _frames(spark, pred: dict[str, str], truth: dict[str, int]):
    p = spark.createDataFrame([("s", k, c) for k, c in pred.items()], SCHEMA_P)
    t = spark.createDataFrame([("s", k, e) for k, e in truth.items()], SCHEMA_T)
    return p, t


def test_merge_and_split_hand_computed(spark):
    # truth A={1,2,3}, B={4,5}, C={6}; predicted X={1,2}, Y={3,4,5}, Z={6}
    # cells (X,A)=2 (Y,A)=1 (Y,B)=2 (Z,C)=1 -> TP = 1+0+1 = 2; predicted pairs 1+3 = 4; true 3+1 = 4
    # B3 precision = (4/2 + 1/3 + 4/3 + 1/1) / 6; recall = (4/3 + 1/3 + 4/2 + 1/1) / 6
    pred = {"1": "X", "2": "X", "3": "Y", "4": "Y", "5": "Y", "6": "Z"}
    truth = {"1": 1, "2": 1, "3": 1, "4": 2, "5": 2, "6": 3}
    m = evaluate_clusters(*_frames(spark, pred, truth))
    assert (m["tp_pairs"], m["pred_pairs"], m["true_pairs"]) == (2, 4, 4)
    assert m["pairwise_precision"] == pytest.approx(0.5)
    assert m["pairwise_recall"] == pytest.approx(0.5)
    assert m["pairwise_f1"] == pytest.approx(0.5)
    assert m["bcubed_precision"] == pytest.approx((2 + 1 / 3 + 4 / 3 + 1) / 6)
    assert m["bcubed_recall"] == pytest.approx((4 / 3 + 1 / 3 + 2 + 1) / 6)
    assert (m["wrong_merges"], m["wrong_splits"]) == (1, 1)
    assert (m["records"], m["clusters"], m["entities"]) == (6, 3, 3)


def test_over_merge_is_precision_loss_only(spark):
    # truth A={1,2,3,4}, B={5}; everything predicted in one cluster
    # TP = C(4,2) = 6, predicted C(5,2) = 10, true 6 -> P 0.6, R 1, F1 0.75
    # B3 precision = (16/5 + 1/5) / 5 = 0.68; recall = (16/4 + 1/1) / 5 = 1
    pred = {k: "X" for k in "12345"}
    truth = {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2}
    m = evaluate_clusters(*_frames(spark, pred, truth))
    assert m["pairwise_precision"] == pytest.approx(0.6)
    assert m["pairwise_recall"] == pytest.approx(1.0)
    assert m["pairwise_f1"] == pytest.approx(0.75)
    assert m["bcubed_precision"] == pytest.approx(0.68)
    assert m["bcubed_recall"] == pytest.approx(1.0)
    assert m["bcubed_f1"] == pytest.approx(2 * 0.68 / 1.68)
    assert (m["wrong_merges"], m["wrong_splits"]) == (1, 0)


def test_all_singletons_and_unmatched_records(spark):
    # nothing predicted together: precision 1 by convention, recall 0, F1 0; records present on
    # one side only are counted and left out of the metrics
    pred = {"1": "a", "2": "b", "3": "c", "9": "z"}
    truth = {"1": 1, "2": 1, "3": 1, "8": 5}
    m = evaluate_clusters(*_frames(spark, pred, truth))
    assert (m["records"], m["records_only_in_pred"], m["records_only_in_truth"]) == (3, 1, 1)
    assert (m["tp_pairs"], m["pred_pairs"], m["true_pairs"]) == (0, 0, 3)
    assert m["pairwise_precision"] == 1.0
    assert m["pairwise_recall"] == 0.0
    assert m["pairwise_f1"] == 0.0
    assert m["bcubed_precision"] == pytest.approx(1.0)
    assert m["bcubed_recall"] == pytest.approx(1 / 3)
    assert (m["wrong_merges"], m["wrong_splits"]) == (0, 1)


def test_perfect_clustering_with_relabelled_ids(spark):
    pred = {"1": "p", "2": "p", "3": "q"}
    truth = {"1": 7, "2": 7, "3": 8}
    m = evaluate_clusters(*_frames(spark, pred, truth))
    assert m["pairwise_f1"] == 1.0 and m["bcubed_f1"] == pytest.approx(1.0)
    assert (m["wrong_merges"], m["wrong_splits"]) == (0, 0)
