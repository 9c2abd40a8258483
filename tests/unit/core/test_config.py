"""Configuration composes, every source spec validates, errors name the file and key."""

import pytest

from lakehouse.config import ConfigError, compose, selected_sources, source_spec


def test_all_sources_validate():
    cfg = compose([])
    specs = selected_sources(cfg)
    assert len(specs) == 16
    assert round(sum(s.share_millions for s in specs), 6) == 157.0


def test_only_limits_and_rejects_unknown():
    assert [s.name for s in selected_sources(compose(["only=[id_card]"]))] == ["id_card"]
    with pytest.raises(ConfigError, match="no such source"):
        selected_sources(compose(["only=[nope]"]))


def test_bad_spec_names_file_and_key():
    with pytest.raises(ConfigError, match=r"conf/sources/x.yaml: required key 'key'"):
        source_spec("x", {"entity": "person", "format": {"type": "csv"}})
    with pytest.raises(ConfigError, match="format.type 'txt'"):
        source_spec("x", {"entity": "person", "format": {"type": "txt"}, "key": "k"})


def test_cluster_env_takes_master_and_root_from_environment(monkeypatch):
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://10.0.0.1:7077")
    monkeypatch.setenv("LAKEHOUSE_ROOT", "s3a://bucket/lake")
    cfg = compose(["env=cluster"])
    assert cfg.spark_master == "spark://10.0.0.1:7077"
    assert cfg.paths.bronze == "s3a://bucket/lake/bronze"
