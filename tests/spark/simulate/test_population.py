"""The synthetic population: unique, valid CCCDs that agree with birth data; bijective sampling."""

from __future__ import annotations

from pyspark.sql import functions as F

from lakehouse.simulate.population import World, with_citizen, with_enterprise
from lakehouse.simulate.rng import permute

GSO_CODES = {int(c) for c in (
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 "
    "038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 "
    "080 082 083 084 086 087 089 091 092 093 094 095 096").split()}


def _world(n=20_000, batch=0):
    import datetime as dt
    return World(seed=7, citizens=n, enterprises=500, batch=batch, snapshot_date=dt.date(2026, 1, 1),
                 batch_days=7, rates={"move_rate": 0.1, "death_rate": 0.01, "dissolve_rate": 0.01})


def test_permute_is_a_bijection(spark):
    n = 1013
    out = spark.range(n).select(permute(F.col("id"), n, 3, "x").alias("p")).distinct().count()
    assert out == n


def test_citizens_have_unique_valid_cccds(spark):
    world = _world()
    df, c = with_citizen(spark.range(world.citizens), world, F.col("id"), "p_")
    rows = df.select(c["cccd"].alias("cccd"), c["female"].alias("female"), c["birth_date"].alias("dob"),
                     c["employed"].alias("employed"), c["age"].alias("age"))
    stats = rows.agg(F.count("*").alias("n"), F.countDistinct("cccd").alias("distinct")).first()
    assert stats["n"] == stats["distinct"] == world.citizens
    sample = rows.limit(3000).collect()
    for r in sample:
        cccd = r["cccd"]
        assert len(cccd) == 12 and cccd.isdigit()
        assert int(cccd[:3]) in GSO_CODES
        g = int(cccd[3])
        assert g % 2 == (1 if r["female"] else 0)
        assert 1900 + 100 * (g // 2) + int(cccd[4:6]) == r["dob"].year
    assert any(r["employed"] for r in sample) and not any(r["employed"] and r["age"] < 18 for r in sample)


def test_enterprises_have_valid_tax_codes(spark):
    from stdnum.vn import mst

    world = _world()
    df, e = with_enterprise(spark.range(500), world, F.col("id"), "e_")
    codes = [r[0] for r in df.select(e["tax_code"]).collect()]
    assert len(set(codes)) == 500
    assert all(mst.is_valid(c) for c in codes), [c for c in codes if not mst.is_valid(c)][:5]


def test_batches_change_people(spark):
    base, later = _world(batch=0), _world(batch=3)
    d0, c0 = with_citizen(spark.range(2000), base, F.col("id"), "a_")
    d3, c3 = with_citizen(spark.range(2000), later, F.col("id"), "a_")
    w0 = {r[0]: r[1] for r in d0.select("id", c0["ward_idx"]).collect()}
    w3 = {r[0]: r[1] for r in d3.select("id", c3["ward_idx"]).collect()}
    moved = sum(w0[i] != w3[i] for i in w0)
    assert 100 < moved < 1200  # about 1-(0.9^3) of people moved, most to another ward
