"""The synthetic population: unique, valid CCCDs that agree with birth data; bijective sampling."""

from __future__ import annotations

from lakehouse.simulate.rng import urn


def test_urn_is_weighted_and_complete():
    table = urn(["a", "b", "c"], [0.7, 0.2, 0.1], 100)
    assert len(table) == 100 and table.count("a") == 70 and table.count("c") == 10


