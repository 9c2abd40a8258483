"""The unit tier starts no JVM: asking for Spark fails, and so does a test that started one anyway."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    raise pytest.UsageError("tests/unit must not start a JVM: move a test that needs Spark to tests/spark")


@pytest.fixture(autouse=True)
def _no_jvm_started():
    yield
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        pytest.fail("this unit test started a JVM (a SparkContext is active): it belongs in tests/spark")
