"""The pinned Spark + Delta pair works: write, merge and read back a real Delta table."""

from delta.tables import DeltaTable
from pyspark.sql import functions as F


def test_delta_write_merge_read(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.range(5).withColumn("v", F.lit("a")).write.format("delta").save(path)
    updates = spark.range(3, 8).withColumn("v", F.lit("b"))
    (DeltaTable.forPath(spark, path).alias("t").merge(updates.alias("s"), "t.id = s.id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    rows = {r["id"]: r["v"] for r in spark.read.format("delta").load(path).collect()}
    assert rows == {0: "a", 1: "a", 2: "a", 3: "b", 4: "b", 5: "b", 6: "b", 7: "b"}
    assert DeltaTable.forPath(spark, path).history().count() == 2
