"""Two writers on one Delta table at the same time (threads sharing the SparkSession).

The race is made deterministic with a gate: writer B's source rows pass through a UDF that blocks
until a release file exists, so B has started its transaction (read its snapshot) but not committed
when writer A runs and commits. B's commit then conflicts (or, for blind appends, does not).
Afterwards the table must be readable with consistent counts, and the loser must either have retried
cleanly (with_retry) or failed with a clear ConcurrentWriteConflict."""

from __future__ import annotations

import os
import threading
import time

from delta.tables import DeltaTable
from pyspark.sql import functions as F

from lakehouse.ops.retry import ConcurrentWriteConflict, is_conflict, with_retry


def gate(started: str, release: str):
    def wait(x):
        import os as _os
        import time as _time

        open(started, "a").close()
        t0 = _time.time()
        while not _os.path.exists(release) and _time.time() - t0 < 180:
            _time.sleep(0.05)
        return x
    return F.udf(wait, "long").asNondeterministic()


def rows(spark, lo, hi, tag, gated=None):
    df = spark.range(lo, hi, numPartitions=1)
    if gated is not None:
        df = df.withColumn("id", gated(F.col("id")))
    return df.select("id", F.lit(tag).alias("v"))


def race(tmp_path, blocked, other):
    """Run blocked(gated_udf) in a thread; once it is inside its transaction run other(), then release it.
    Returns (result or exception of blocked, list of retried conflicts)."""
    started, release = str(tmp_path / "started"), str(tmp_path / "release")
    for p in (started, release):
        if os.path.exists(p):
            os.remove(p)
    g = gate(started, release)
    out: dict = {"retries": []}

    def run():
        try:
            out["result"] = blocked(g, out["retries"])
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t0 = time.time()
    while not os.path.exists(started):
        assert time.time() - t0 < 180 and t.is_alive(), out.get("error")
        time.sleep(0.05)
    try:
        other()
    finally:
        open(release, "w").close()
        t.join(300)
    return out


def new_table(spark, path, n=20):
    rows(spark, 0, n, "base").repartition(2).write.format("delta").save(path)


def merge(spark, path, src):
    (DeltaTable.forPath(spark, path).alias("t").merge(src.alias("s"), "t.id = s.id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())


def snapshot(spark, path):
    df = spark.read.format("delta").load(path)
    return {r["id"]: r["v"] for r in df.collect()}, df.count()


def test_two_overlapping_merges_the_loser_retries_cleanly(spark, tmp_path):
    path = str(tmp_path / "t_merge")
    new_table(spark, path)

    def b(gated, retries):
        return with_retry(lambda: merge(spark, path, rows(spark, 10, 30, "b", gated)), attempts=3, backoff_s=0.05,
                          what=f"merge into {path}", on_retry=lambda i, e, w: retries.append(e))

    out = race(tmp_path, b, lambda: merge(spark, path, rows(spark, 0, 15, "a")))
    assert "error" not in out, out.get("error")
    assert len(out["retries"]) == 1 and is_conflict(out["retries"][0])
    values, count = snapshot(spark, path)
    assert count == len(values) == 30                     # every id exactly once
    assert {i: values[i] for i in range(10)} == {i: "a" for i in range(10)}
    assert all(values[i] == "b" for i in range(10, 30))   # B committed last, on top of A
    ops = [r["operation"] for r in DeltaTable.forPath(spark, path).history().orderBy("version").collect()]
    assert ops == ["WRITE", "MERGE", "MERGE"]             # B's failed attempt left no commit


def test_without_retry_the_loser_fails_with_a_clear_error_and_the_table_is_intact(spark, tmp_path):
    path = str(tmp_path / "t_fail")
    new_table(spark, path)

    def b(gated, retries):
        return with_retry(lambda: merge(spark, path, rows(spark, 10, 30, "b", gated)), attempts=1,
                          what="merge into silver/test")

    out = race(tmp_path, b, lambda: merge(spark, path, rows(spark, 0, 15, "a")))
    err = out.get("error")
    assert isinstance(err, ConcurrentWriteConflict), err
    assert "merge into silver/test: gave up after 1 attempt(s)" in str(err) and "DELTA_CONCURRENT" in str(err)
    values, count = snapshot(spark, path)
    assert count == len(values) == 20 and all(values[i] == "a" for i in range(15))
    assert all(values[i] == "base" for i in range(15, 20))


def test_replace_where_against_a_concurrent_append_retries(spark, tmp_path):
    path = str(tmp_path / "t_replace")
    new_table(spark, path)

    def b(gated, retries):
        def replace():
            (rows(spark, 10, 30, "b", gated).write.format("delta").mode("overwrite")
             .option("replaceWhere", "id >= 10").save(path))
        return with_retry(replace, attempts=3, backoff_s=0.05, on_retry=lambda i, e, w: retries.append(e))

    def a():   # appends a row inside B's predicate, and one outside it
        rows(spark, 100, 101, "a").union(rows(spark, 5, 6, "a2")).write.format("delta").mode("append").save(path)

    out = race(tmp_path, b, a)
    assert "error" not in out, out.get("error")
    assert len(out["retries"]) == 1 and is_conflict(out["retries"][0])
    df = spark.read.format("delta").load(path)
    assert df.count() == 10 + 1 + 20                      # ids 0..9 base + the a2 row + B's 20 rows
    assert df.where("id >= 10").groupBy("v").count().collect()[0].asDict() == {"v": "b", "count": 20}
    assert df.where("v = 'a2'").count() == 1              # outside B's predicate: kept


def test_two_concurrent_appends_both_commit(spark, tmp_path):
    path = str(tmp_path / "t_append")
    new_table(spark, path)

    def b(gated, retries):
        return with_retry(lambda: rows(spark, 100, 110, "b", gated).write.format("delta").mode("append").save(path),
                          attempts=3, on_retry=lambda i, e, w: retries.append(e))

    out = race(tmp_path, b, lambda: rows(spark, 200, 205, "a").write.format("delta").mode("append").save(path))
    assert "error" not in out and out["retries"] == []    # blind appends never conflict
    df = spark.read.format("delta").load(path)
    assert df.count() == 20 + 10 + 5 and df.select("id").distinct().count() == 35
    assert [r["operation"] for r in DeltaTable.forPath(spark, path).history().collect()] == ["WRITE"] * 3
