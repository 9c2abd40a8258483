"""The UDF benchmark (benchmarks/udf_baseline.py): its Python UDFs return the native standardisers'
fields, and the comparison runs end to end. (Oracle-vs-native agreement, field for field, is
tests/spark/silver/test_oracle_agreement.py: the UDFs wrap those oracles.)"""

from __future__ import annotations

from pyspark.sql import functions as F

from benchmarks import udf_baseline as B


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
