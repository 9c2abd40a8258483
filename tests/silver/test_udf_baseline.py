"""The Python oracle / UDF baseline agrees with the native standardisers on the benchmark's own
sample values, field for field, and the benchmark runs end to end."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from lakehouse.silver import udf_baseline as B

SAMPLES = B.sample_values()


@pytest.mark.parametrize("rule", [r for r in B.RULES if r != "address"])
def test_native_matches_python_rules_on_samples(spark, rule):
    values = sorted(set(SAMPLES[rule])) + [None, "", "   "]
    df = spark.createDataFrame([(v,) for v in values], "v string")
    out = df.select("v", B.RULES[rule](F.col("v")).alias("o")).collect()
    py = B._PY[rule]
    bad = [(r.v, r.o, py(r.v)) for r in out
           if (tuple(r.o) if r.o is not None and not isinstance(r.o, str) else r.o) != py(r.v)]
    assert not bad, bad[:5]


def test_native_address_matches_python_rules_on_samples(spark):
    values = sorted(set(SAMPLES["address"]))[:150]
    df = spark.createDataFrame([(v,) for v in values], "v string")
    out = B._native_address(df, "v").collect()
    bad = [(r.v, tuple(r)[1:], B.py_address(r.v)) for r in out if tuple(r)[1:] != B.py_address(r.v)]
    assert len(out) == len(values)
    assert not bad, bad[:5]


def test_udfs_return_the_native_fields(spark):
    df = spark.createDataFrame([("x",)], "v string")
    for rule, udf in B.udfs().items():
        native = B._frames(rule, df)[0]
        udf_type = df.select(udf(F.col("v")).alias("o")).schema["o"].dataType
        native_type = (native.schema["o"].dataType if rule != "address" else None)
        if native_type is not None:
            assert [f.name for f in getattr(udf_type, "fields", [])] == \
                [f.name for f in getattr(native_type, "fields", [])], rule


def test_compare_runs_and_reports_every_rule(spark):
    rows = B.compare(spark, n_rows=500, repeats=1, rules=["sex", "cmnd"])
    assert [r["rule"] for r in rows] == ["sex", "cmnd"]
    assert all(r["native_rows_per_s"] > 0 and r["udf_rows_per_s"] > 0 and r["ratio"] > 0 for r in rows)
