"""Shared fixtures for every tier, and the tier timing summary.

Tiers (directories): unit (no JVM), spark (one shared session), e2e (one shared tiny pipeline run,
tests/e2e/conftest.py), cluster (a standalone Spark + Dask cluster on loopback). `make test` runs them
all in one pytest process, so the session and the pipeline are built once; each tier's time is printed.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

from lakehouse.config import compose

TINY_SPARK = ["spark=tiny", "spark_master='local[2]'"]
TIERS = ("unit", "spark", "e2e", "cluster")
_tier_seconds: dict[str, float] = defaultdict(float)
_tier_counts: dict[str, int] = defaultdict(int)


def tier_of(path: Path | str) -> str:
    parts = Path(path).parts
    return next((t for t in TIERS if t in parts), "other")


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from lakehouse.session import build_spark

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
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()
        session.sparkContext._jvm.System.gc()


@pytest.fixture(autouse=True)
def _no_outside_keys(monkeypatch):
    """No key material or identity is inherited from the environment running the tests."""
    for var in ("LAKEHOUSE_KEYRING", "LAKEHOUSE_KEY_FILE", "LAKEHOUSE_PRINCIPAL", "LAKEHOUSE_ROLE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def keyring():
    from lakehouse.security.keys import keyring_from_document, new_keyring_document

    return keyring_from_document(new_keyring_document(), "test keyring")


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
    # Cheapest tier first, so that a broken unit test fails the run in seconds.
    items.sort(key=lambda item: TIERS.index(tier_of(item.path)) if tier_of(item.path) in TIERS else len(TIERS))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t0 = time.perf_counter()
    yield
    tier = tier_of(item.path)
    _tier_seconds[tier] += time.perf_counter() - t0
    _tier_counts[tier] += 1


def pytest_terminal_summary(terminalreporter):
    if not _tier_seconds:
        return
    terminalreporter.section("time per tier (setup + call + teardown)")
    for tier in (*TIERS, "other"):
        if tier in _tier_seconds:
            terminalreporter.write_line(f"{tier:8s} {_tier_counts[tier]:4d} tests {_tier_seconds[tier]:8.1f} s")
    terminalreporter.write_line(f"{'total':8s} {sum(_tier_counts.values()):4d} tests "
                                f"{sum(_tier_seconds.values()):8.1f} s")
