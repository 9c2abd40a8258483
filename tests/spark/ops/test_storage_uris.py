"""Storage URIs: text files written through the storage layer land where the URI says on any Hadoop
file system, never in a local folder named after the scheme (``./s3a:/...``).

The object store is played by Hadoop's ``viewfs://`` (in every Hadoop client, no network): a mount
table maps ``viewfs://<table>/data`` to a local temporary directory. A scheme mapped straight to
``LocalFileSystem`` (``fs.<scheme>.impl``) does not work: LocalFileSystem rejects any path whose
scheme is not ``file:`` ("Wrong FS")."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf


@pytest.fixture
def viewfs(spark, tmp_path, monkeypatch):
    """(URI of the mounted data root, local directory it maps to); the working directory is a fresh
    temporary one, so that a wrongly created local ``viewfs:`` folder is seen (and cleaned up)."""
    mount = f"lake{uuid.uuid4().hex[:8]}"            # own mount table: Hadoop caches file systems per authority
    target = tmp_path / "mounted"
    spark._jsc.hadoopConfiguration().set(f"fs.viewfs.mounttable.{mount}.link./data", target.as_uri())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return f"viewfs://{mount}/data", target, cwd


def _stray(cwd: Path) -> list[str]:
    return [str(p.relative_to(cwd)) for p in cwd.rglob("*")]


def test_uri_helpers():
    from lakehouse import storage

    assert storage.is_local("data/x") and storage.is_local("/tmp/x") and storage.is_local("file:///tmp/x")
    assert storage.is_local("file:/tmp/x")
    assert not storage.is_local("s3a://bucket/x") and not storage.is_local("viewfs://lake/data")
    assert storage.qualified("s3a://bucket/x") == "s3a://bucket/x"
    assert storage.qualified("file:/tmp/x") == "file:/tmp/x" and storage.qualified("/tmp/x") == "/tmp/x"
    assert storage.qualified("data/x") == os.path.abspath("data/x")
    assert storage.local_path("file:///tmp/x") == "/tmp/x" and storage.local_path("file:/tmp/x") == "/tmp/x"
    assert storage.sql_path("/tmp/a`b") == "delta.`/tmp/a``b`"


def test_write_text_goes_through_the_uri_file_system(spark, viewfs):
    from lakehouse import storage

    root, target, cwd = viewfs
    uri = f"{root}/ops/gold_stats/run-1.json"
    assert storage.write_text(spark, uri, '{"ồ": 1}\n') == uri
    assert (target / "ops/gold_stats/run-1.json").read_text(encoding="utf-8") == '{"ồ": 1}\n'
    assert storage.read_text(spark, uri) == '{"ồ": 1}\n'
    storage.write_text(spark, uri, "again")                       # overwrite
    assert storage.read_text(spark, uri) == "again"
    assert storage.exists(spark, uri) and storage.list_dirs(spark, f"{root}/ops") == ["gold_stats"]
    assert _stray(cwd) == [], "a local folder named after the scheme was created"
    with pytest.raises(ValueError, match="needs a SparkSession"):
        storage.write_text(None, uri, "x")
    assert storage.remove_tree(spark, f"{root}/ops") and not (target / "ops").exists()


def test_write_text_local_paths(spark, tmp_path, viewfs):
    from lakehouse import storage

    _, _, cwd = viewfs
    storage.write_text(None, "rel/dir/a.txt", "local")                      # relative: under the cwd
    assert (cwd / "rel/dir/a.txt").read_text() == "local"
    uri = (tmp_path / "abs" / "b.txt").as_uri()                               # file:///...
    assert storage.write_text(spark, uri, "b") == str(tmp_path / "abs" / "b.txt")
    assert storage.read_text(None, uri) == "b" and storage.read_text(spark, str(tmp_path / "abs/b.txt")) == "b"
    assert not (cwd / "file:").exists()


def test_gold_stats_are_written_to_an_object_store_root(spark, viewfs, monkeypatch):
    """jobs/gold.py writes gold_stats/<run>.json under paths.ops, which is an object store URI on a
    cluster (LAKEHOUSE_ROOT=s3a://...): it must land there, not in a local folder named 's3a:'."""
    import jobs.gold as G
    from lakehouse.gold.runner import GoldResult

    root, target, cwd = viewfs
    cfg = OmegaConf.create({"paths": {"root": root, "ops": f"{root}/ops", "gold": f"{root}/gold"}})
    stats = {"people": {"clusters": 3}, "pairs": 7}
    result = GoldResult(run_id="20260101T000000-abcd1234", tables={"dim_citizen": 3}, stats=stats,
                        seconds=1.0, source_records=5)
    monkeypatch.setattr(G, "run_gold", lambda *a, **k: result)
    noop = lambda *a, **k: None  # noqa: E731
    job = SimpleNamespace(cfg=cfg, spark=spark, run_id=result.run_id, read=noop, wrote=noop,
                          log=SimpleNamespace(record=noop), audit=SimpleNamespace(count=noop))
    G.body(job)
    written = target / "ops" / "gold_stats" / f"{result.run_id}.json"
    assert _stray(cwd) == [], "gold_stats went to a local folder named after the URI scheme"
    assert written.exists() and json.loads(written.read_text()) == stats
