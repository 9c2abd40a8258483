"""The entity resolver on small, realistic frames: exact CCCD links, Fellegi-Sunter links for the
rest, the surname trap, cannot-link between CCCDs, the cluster-size guard, determinism."""

from __future__ import annotations

import pytest

from lakehouse.gold import resolve as R

# The tiny frames stand for a large population: identifiers (phone, CMND) and the prior are scaled
# to a million records, as they would be in production. Name / ward frequencies measured on twenty
# records mean nothing (every name is "common"), so term-frequency adjustment is off and the
# average u of each level applies.
# ---------------------------------------------------------------------------- the guard

# ---------------------------------------------------------------------------- building blocks

def test_split_components_on_the_driver():
    thresholds = [0.99, 0.999, 0.9999]
    # A and B are anchors (two CCCDs); r1 -> A, r2 -> B, and r1 -- r2 even more strongly: the
    # conflict survives every threshold, so the last resort drops record-to-record edges.
    edges = [("r1", "A", 0.99999, True), ("r2", "B", 0.99999, True), ("r1", "r2", 0.999999, False)]
    mapping, unsplittable = R.split_components(edges, {"A": (3, 1), "B": (2, 1)}, thresholds, 10)
    assert dict(mapping) == {"r1": "A", "A": "A", "r2": "B", "B": "B"} and unsplittable == []
    # a chain of three unanchored records, oversize for max 2: the weakest edge goes at 0.999
    mapping, _ = R.split_components([("x", "y", 0.9999, False), ("y", "z", 0.995, False)], {}, thresholds, 2)
    assert dict(mapping) == {"x": "x", "y": "x"}  # z lost its only edge: a singleton
    # weaker anchor edges than the record-record edge: keep the strongest edges
    edges = [("r1", "A", 0.995, True), ("r2", "B", 0.995, True), ("r1", "r2", 0.99999, False)]
    mapping, _ = R.split_components(edges, {"A": (1, 1), "B": (1, 1)}, thresholds, 10)
    assert dict(mapping) == {"r1": "r1", "r2": "r1"}
    # a star too big even at the strictest threshold with anchor edges only is kept and reported
    star = [("r1", "A", 0.99999, True), ("r2", "A", 0.99999, True)]
    mapping, unsplittable = R.split_components(star, {"A": (3, 1)}, thresholds, 4)
    assert dict(mapping) == {"A": "A", "r1": "A", "r2": "A"}
    assert unsplittable == [{"cluster_id": "A", "records": 5, "anchors": 1}]
    # ... but weaker anchor edges are dropped by the stricter thresholds: the records go alone
    star = [("r1", "A", 0.995, True), ("r2", "A", 0.995, True)]
    assert R.split_components(star, {"A": (3, 1)}, thresholds, 4) == ([], [])


def test_settings_are_validated_and_build_a_splink_model():
    with pytest.raises(ValueError):
        R.person_settings({"oversize_action": "ignore"})
    with pytest.raises(ValueError):
        R.person_settings({"comparisons": {"name": {"soundex": {"m": 0.1, "u": 0.1}}}})
    with pytest.raises(ValueError, match="surname"):
        R.person_settings({"blocking_rules": [["surname"]]})
    s = R.person_settings({"comparisons": {"phone": {"exact": {"m": 0.8}}}})
    assert s["comparisons"]["phone"]["exact"] == {"m": 0.8, "u_per_record": 0.5}
    model = R.splink_settings(R.PERSON_SPEC, s, 1_000_000, 1e-6)
    phone = next(c for c in model["comparisons"] if c["output_column_name"] == "phone")
    levels = phone["comparison_levels"]
    assert levels[0]["is_null_level"] and levels[-1]["sql_condition"] == "ELSE"
    assert levels[1]["u_probability"] == pytest.approx(0.5e-6)
    assert sum(lv.get("m_probability", 0) for lv in levels) == pytest.approx(1.0)


# ---------------------------------------------------------------------------- enterprises

