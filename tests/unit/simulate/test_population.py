"""The synthetic population: unique, valid CCCDs that agree with birth data; bijective sampling."""

from __future__ import annotations

from lakehouse.simulate.population import World
from lakehouse.simulate.rng import urn

GSO_CODES = {int(c) for c in (
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 "
    "038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 "
    "080 082 083 084 086 087 089 091 092 093 094 095 096").split()}


def _world(n=20_000, batch=0):
    import datetime as dt
    return World(seed=7, citizens=n, enterprises=500, batch=batch, snapshot_date=dt.date(2026, 1, 1),
                 batch_days=7, rates={"move_rate": 0.1, "death_rate": 0.01, "dissolve_rate": 0.01})


def test_urn_is_weighted_and_complete():
    table = urn(["a", "b", "c"], [0.7, 0.2, 0.1], 100)
    assert len(table) == 100 and table.count("a") == 70 and table.count("c") == 10


