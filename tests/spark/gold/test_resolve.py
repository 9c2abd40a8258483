"""The entity resolver on small, realistic frames: exact CCCD links, Fellegi-Sunter links for the
rest, the surname trap, cannot-link between CCCDs, the cluster-size guard, determinism."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from lakehouse.gold import resolve as R
from lakehouse.gold.resolve import (
    OversizeClusterError,
    resolve_enterprises,
    resolve_people,
)
from lakehouse.gold.resolve.blocking import _blocked_pairs
from lakehouse.silver.schema import PERSON_IDENTITY
from tests.support.people_data import (
    D,
    firm_frame,
    firm_truth,
    people_frame,
    people_rows,
    people_truth,
)

# The tiny frames stand for a large population: identifiers (phone, CMND) and the prior are scaled
# to a million records, as they would be in production. Name / ward frequencies measured on twenty
# records mean nothing (every name is "common"), so term-frequency adjustment is off and the
# average u of each level applies.
POP = {"population_records": 1_000_000, "tf_adjustment_weight": 0.0}


@pytest.fixture(scope="module")
def people(spark):
    res = resolve_people(people_frame(spark), POP)
    rows = {(r.source, r.record_key): r for r in res.clusters.collect()}
    return res, rows


def _cluster_of(rows, key):
    return rows[key].cluster_id


def _same(rows, *keys):
    return len({_cluster_of(rows, k) for k in keys}) == 1


def test_output_contract(people):
    res, rows = people
    assert tuple(res.clusters.columns) == R.OUTPUT_COLUMNS
    assert dict(res.clusters.dtypes)["match_probability"] == "double"
    assert len(rows) == len(people_truth())  # one row per input row
    for r in rows.values():
        assert r.match_method in ("cccd", "probabilistic", "singleton")
        if r.match_method == "cccd":
            assert r.match_probability == 1.0
        elif r.match_method == "probabilistic":
            assert 0.95 <= r.match_probability <= 1.0
        else:
            assert r.match_probability is None
    # cluster_id = smallest "<source>|<record_key>" of its members
    members: dict[str, list[str]] = {}
    for (src, key), r in rows.items():
        members.setdefault(r.cluster_id, []).append(f"{src}|{key}")
    assert all(cid == min(m) for cid, m in members.items())


def test_links_without_cccd(people):
    _, rows = people
    # swapped day/month + typo'd given name with only a CMND
    assert _same(rows, ("population_registry", "PR1"), ("health_insurance", "HI1"), ("social_welfare", "SW1"))
    assert rows[("health_insurance", "HI1")].match_method == "probabilistic"
    # year-only birth date; birth year off by one
    assert _same(rows, ("population_registry", "PR2"), ("health_vaccination", "HV2"), ("education", "ED2"))
    # two records, neither with a CCCD (dropped middle name)
    assert _same(rows, ("health_insurance", "HI11"), ("health_vaccination", "HV11"))
    # name written given name first
    assert _same(rows, ("population_registry", "PR12"), ("immigration", "IM12"))
    # plain CCCD link
    assert _same(rows, ("population_registry", "PR3"), ("id_card", "IC3"))
    assert rows[("id_card", "IC3")].match_method == "cccd"


def test_common_surname_and_shared_cmnd_do_not_merge(people):
    _, rows = people
    hung = [("land_parcels", "LP4"), ("vehicle_registration", "VR5"), ("driving_licences", "DL6")]
    assert len({_cluster_of(rows, k) for k in hung}) == 3
    assert all(rows[k].match_method == "singleton" for k in hung)
    # the same CMND on two different people is not enough
    assert not _same(rows, ("social_insurance", "SI9"), ("civil_status", "CS10"))


def test_two_valid_cccds_never_share_a_cluster(people):
    res, rows = people
    truth = people_truth()
    cccd_of = {(src, key): cccd for (_e, src, key, _f, _n, _b, _p, _s, cccd, *_r) in
               __import__("tests.support.people_data", fromlist=["PEOPLE"]).PEOPLE}
    by_cluster: dict[str, set[str]] = {}
    for k, r in rows.items():
        if cccd_of[k]:
            by_cluster.setdefault(r.cluster_id, set()).add(cccd_of[k])
    assert all(len(v) == 1 for v in by_cluster.values())
    # twins: the record matching both equally well is attached to neither
    assert not _same(rows, ("population_registry", "PR7"), ("population_registry", "PR8"))
    assert not _same(rows, ("education", "ED7"), ("population_registry", "PR8"))
    assert res.stats.ambiguous_records >= 1
    # HI13 -- SI14 link strongly, but HI13 belongs with PR13 and SI14 with PR14: split, not merged
    assert res.stats.conflict_components >= 1
    assert not _same(rows, ("population_registry", "PR13"), ("population_registry", "PR14"))
    assert _same(rows, ("population_registry", "PR13"), ("health_insurance", "HI13"))
    assert _same(rows, ("population_registry", "PR14"), ("social_insurance", "SI14"))
    # and nothing else is wrong: every predicted cluster is pure
    for cid in {r.cluster_id for r in rows.values()}:
        assert len({truth[k] for k, r in rows.items() if r.cluster_id == cid}) == 1


def test_stats(people):
    res, _ = people
    st = res.stats
    assert st.records == len(people_truth())
    assert st.anchored_records == 9 and st.anchors == 8
    assert st.pairs_scored > 0 and st.pairs_scored == sum(st.pairs_by_rule.values())
    assert st.records_per_s > 0 and st.pairs_scored_per_s > 0
    assert st.probabilistic_records + st.singleton_records == st.unanchored_records
    assert st.oversize_components == [] and st.demoted_anchors == []


def test_rerun_on_reshuffled_input_is_identical(spark, people):
    _, rows = people
    shuffled = people_frame(spark, list(reversed(people_rows()))).repartition(3)
    again = {(r.source, r.record_key): r for r in resolve_people(shuffled, POP).clusters.collect()}
    assert {k: (r.cluster_id, r.match_method) for k, r in again.items()} == \
        {k: (r.cluster_id, r.match_method) for k, r in rows.items()}


# ---------------------------------------------------------------------------- the guard

def _twins(source: str, n: int, cccd: str | None, name: str, ward: str, phone: str | None):
    return [(source, f"{source[:2].upper()}{i}", name.title(), name, D(1960, 1, 20), "day", "F", cccd,
             None, phone, "01", ward, None) for i in range(n)]


def test_guard_fail_raises_on_oversize_probabilistic_component(spark):
    rows = _twins("health_vaccination", 4, None, "NGO THI NGA", "00555", "0900000999")
    with pytest.raises(OversizeClusterError) as err:
        resolve_people(spark.createDataFrame(rows, PERSON_IDENTITY),
                       {**POP, "max_cluster_size": 3, "oversize_action": "fail"})
    assert err.value.components[0]["records"] == 4


def test_guard_fail_raises_on_oversize_cccd_group(spark):
    rows = _twins("education", 4, "001160000999", "TO THI HA", "00777", None)
    with pytest.raises(OversizeClusterError):
        resolve_people(spark.createDataFrame(rows, PERSON_IDENTITY),
                       {**POP, "max_cluster_size": 3, "oversize_action": "fail"})


def test_guard_split_keeps_every_cluster_small_and_reports(spark):
    rows = (_twins("health_vaccination", 4, None, "NGO THI NGA", "00555", "0900000999")
            + _twins("education", 4, "001160000999", "TO THI HA", "00777", None))
    res = resolve_people(spark.createDataFrame(rows, PERSON_IDENTITY),
                         {**POP, "max_cluster_size": 3, "oversize_action": "split"})
    sizes = [r["n"] for r in res.clusters.groupBy("cluster_id").agg(F.count("*").alias("n")).collect()]
    assert max(sizes) <= 3 and sum(sizes) == 8
    assert [d["records"] for d in res.stats.demoted_anchors] == [4]
    assert any(c["records"] == 4 for c in res.stats.oversize_components)
    # the demoted CCCD no longer counts as an exact link
    assert res.clusters.where(F.col("match_method") == "cccd").count() == 0


# ---------------------------------------------------------------------------- building blocks

def test_blocking_skips_giant_blocks_and_settled_pairs(spark):
    cand = spark.createDataFrame([
        ("a", None, "k", "x"), ("b", None, "k", "y"), ("c", "C1", "k", "y"), ("d", "C2", "k", None),
        ("e", "C3", "z", "y"), ("f", "C4", "z", "w"),
    ], "uid string, anchor string, k1 string, k2 string")
    stats = R.ResolveStats(entity="person")
    pairs = {(r.join_key_l, r.join_key_r): r.match_key
             for r in _blocked_pairs(cand, [["k1"], ["k2"]], 3, stats).collect()}
    # block k1=k has 4 records > 3: skipped and reported; k1=z has only anchored records: no pairs
    assert stats.skipped_blocks == [{"rule": "k1", "records": 4}]
    # k2=y: b (unanchored) with c and e (anchored); c-e are both anchored: never a pair
    assert pairs == {("b", "c"): "1", ("b", "e"): "1"}


def test_connected_components(spark):
    edges = spark.createDataFrame([("b", "c"), ("d", "c"), ("a", "b"), ("y", "x"), ("q", "q")], "a string, b string")
    comps, iters = R.connected_components(edges)
    got = {r.node: r.comp for r in comps.collect()}
    assert got == {"a": "a", "b": "a", "c": "a", "d": "a", "x": "x", "y": "x"}
    assert iters >= 1


# ---------------------------------------------------------------------------- enterprises

def test_enterprises(spark):
    res = resolve_enterprises(firm_frame(spark), POP)
    rows = {(r.source, r.record_key): r for r in res.clusters.collect()}
    truth = firm_truth()
    assert rows[("enterprise_tax", "ET1a")].match_method == "tax_code"
    assert rows[("enterprise_tax", "ET1a")].cluster_id == rows[("enterprise_registration", "ER1")].cluster_id
    # no tax code: same trade name, province and legal representative -> linked
    assert rows[("enterprise_tax", "ET1b")].cluster_id == rows[("enterprise_registration", "ER1")].cluster_id
    assert rows[("enterprise_tax", "ET1b")].match_method == "probabilistic"
    # the same trade name in another province with another owner is another firm
    assert rows[("enterprise_tax", "ET2")].match_method == "singleton"
    for cid in {r.cluster_id for r in rows.values()}:
        assert len({truth[k] for k, r in rows.items() if r.cluster_id == cid}) == 1


def test_silver_superset_with_unverified_cccd_and_split_ward(spark):
    """Silver rows carry more columns: a CCCD that failed its cross-check (cccd_reason) is evidence,
    not an anchor; a structurally bad one is ignored; ward_candidates of a split ward can match."""
    schema = PERSON_IDENTITY + ", cccd_reason STRING, ward_candidates ARRAY<STRING>, dq_flags ARRAY<STRING>"
    rows = [
        # registry: valid CCCD
        ("population_registry", "PR1", "Lý Thị Thu", "LY THI THU", D(1988, 2, 14), "day", "F", "001188000111",
         None, None, "01", "00301", None, None, None, []),
        # birth year off by one -> the CCCD fails the year cross-check; no ward, no phone
        ("social_welfare", "SW1", "Lý Thị Thu", "LY THI THU", D(1989, 2, 14), "day", "F", "001188000111",
         None, None, "01", None, None, "birth_year_mismatch", None, []),
        # a split old ward: ward unknown, but 00301 is one of its candidates
        ("land_parcels", "LP1", "Lý Thị Thu", "LY THI THU", D(1988, 2, 14), "day", "F", None,
         None, None, "01", None, None, None, ["00299", "00301"], []),
        # a structurally invalid CCCD (bad province 003) on another person: neither anchor nor evidence
        ("education", "ED9", "Ông Văn Khải", "ONG VAN KHAI", D(2010, 9, 9), "day", "M", "003210000999",
         None, None, "79", "26740", None, "bad_province", None, []),
    ]
    res = resolve_people(spark.createDataFrame(rows, schema), POP)
    got = {r.record_key: r for r in res.clusters.collect()}
    assert got["SW1"].match_method == "probabilistic" and got["SW1"].cluster_id == got["PR1"].cluster_id
    assert got["LP1"].match_method == "probabilistic" and got["LP1"].cluster_id == got["PR1"].cluster_id
    assert got["ED9"].match_method == "singleton"
    assert res.stats.anchored_records == 1
