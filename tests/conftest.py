"""One session-scoped SparkSession with Delta, tuned for tiny data, and config helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.config import compose
from lakehouse.session import build_spark

TINY_SPARK = ["spark=tiny", "spark_master='local[2]'"]


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    cfg = compose(TINY_SPARK)
    conf = dict(cfg.spark)
    conf["conf"] = {**dict(cfg.spark.conf), "spark.sql.warehouse.dir": str(warehouse)}
    session = build_spark(conf, "local[2]")
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_cached_data():
    """Free cached blocks between modules: one JVM serves the whole suite."""
    yield
    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()
        session.sparkContext._jvm.System.gc()


@pytest.fixture
def make_cfg(tmp_path):
    """Compose the real config with a temporary data root; extra overrides as arguments."""
    def _make(*overrides: str, root: Path | None = None):
        return compose([*TINY_SPARK, f"paths.root={root or tmp_path / 'data'}", *overrides])
    return _make


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("LAKEHOUSE_PG_URL"):
        skip = pytest.mark.skip(reason="LAKEHOUSE_PG_URL not set (make test starts PostgreSQL and sets it)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
