"""The catalog without a JVM: Delta tables found at any depth under the data root, their layers,
names and paths, and which of them hold personal data (by erasure's conventions)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse import catalog, storage
from lakehouse.storage import delta


def _table(path: Path, columns: list[str]) -> Path:
    """A minimal Delta table: one commit with the protocol and the metadata (no data files)."""
    log = path / "_delta_log"
    log.mkdir(parents=True)
    schema = {"type": "struct", "fields": [{"name": c, "type": "string", "nullable": True, "metadata": {}}
                                           for c in columns]}
    actions = [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
               {"metaData": {"id": str(uuid.uuid4()), "format": {"provider": "parquet", "options": {}},
                             "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": {},
                             "createdTime": 0}},
               {"commitInfo": {"operation": "CREATE TABLE"}}]
    (log / f"{0:020d}.json").write_text("".join(json.dumps(a) + "\n" for a in actions))
    return path


LAKE = {
    "bronze/id_card": ["so_phieu", "so_can_cuoc", "ho_ten", "_source_file"],
    "bronze/_quarantine": ["source", "_source_position", "raw_record", "reason"],
    "silver/citizen_records": ["source", "record_key", "cccd", "full_name"],
    "silver/_staging/id_card/standardised": ["source", "record_key", "cccd", "full_name"],
    "silver/_staging/id_card/checked": ["source", "record_key", "cccd", "full_name", "_rule_flags"],
    "gold/dim_citizen": ["citizen_key", "cccd_token", "cccd_enc", "province_code"],
    "gold/agg_province": ["province_code", "people"],
    "gold/dq_scorecard": ["run_id", "source", "criterion", "score"],
    "gold/archive/2026/01/old/xref": ["source", "record_key", "citizen_key"],      # five levels down
    "ops/run_log": ["run_id", "job", "stage", "seconds"],
    "ops/audit_log": ["event_id", "principal", "target"],
}


@pytest.fixture
def lake(make_cfg):
    cfg = make_cfg()
    root = Path(cfg.paths.root)
    for name, cols in LAKE.items():
        _table(root / name, cols)
    _table(root / "silver/citizen_records/source=id_card", ["x"])   # inside a table: not a table of its own
    _table(root / "gold/.trash/dim_old", ["citizen_key"])           # hidden directories are skipped
    (root / "ops/report").mkdir(parents=True)
    (root / "ops/report/index.html").write_text("<html/>")
    (root / "ops/gold_stats").mkdir(parents=True)
    (root / "ops/gold_stats/run.json").write_text("{}")
    (root / "gold/broken/_delta_log").mkdir(parents=True)
    (root / "gold/broken/_delta_log" / f"{0:020d}.json").write_text("not json\n")
    return cfg, root


def test_tables_are_found_at_any_depth_with_layer_name_and_path(lake):
    cfg, root = lake
    found = catalog.tables(cfg)                                      # no SparkSession: the OS lists directories
    names = [t.qualified_name for t in found]
    assert sorted(names) == sorted([*LAKE, "gold/broken"])
    # layer by layer (bronze, silver, gold, ops), depth-first in name order inside a layer
    assert names[:5] == ["bronze/_quarantine", "bronze/id_card", "silver/_staging/id_card/checked",
                         "silver/_staging/id_card/standardised", "silver/citizen_records"]
    staged = next(t for t in found if t.qualified_name == "silver/_staging/id_card/checked")
    assert (staged.layer, staged.name, staged.nested) == ("silver", "_staging/id_card/checked", True)
    assert staged.path == f"{cfg.paths.silver}/_staging/id_card/checked"
    assert staged.columns == tuple(LAKE["silver/_staging/id_card/checked"])
    deep = catalog.table(cfg, "gold/archive/2026/01/old/xref")
    assert deep is not None and deep.layer == "gold" and Path(deep.path) == root / "gold/archive/2026/01/old/xref"
    assert catalog.table(cfg, "gold.dim_citizen").qualified_name == "gold/dim_citizen"
    assert catalog.table(cfg, "gold/nope") is None
    assert [t.qualified_name for t in catalog.tables(cfg, layers=["ops"])] == ["ops/audit_log", "ops/run_log"]
    assert [t.name for t in catalog.scan(str(root / "silver/_staging"), "silver")] == ["id_card/checked",
                                                                                     "id_card/standardised"]


def test_personal_data_flags_follow_erasure(lake):
    cfg, _ = lake
    flags = {t.qualified_name: t.personal for t in catalog.tables(cfg)}
    assert flags == {
        "bronze/id_card": True,                      # the source's record key and identifier columns
        "bronze/_quarantine": True,                  # raw text
        "silver/citizen_records": True,              # source records, clear cccd
        "silver/_staging/id_card/standardised": True,
        "silver/_staging/id_card/checked": True,
        "gold/dim_citizen": True,                    # golden key, pseudonym
        "gold/agg_province": False,                  # aggregates only
        "gold/dq_scorecard": False,
        "gold/archive/2026/01/old/xref": True,
        "gold/broken": True,                         # schema unreadable: counted as personal (erasure would search it)
        "ops/run_log": False,                        # ops/* is excluded from erasure: no personal data
        "ops/audit_log": False,
    }


def test_extra_targets_and_layers_change_the_flags(make_cfg, tmp_path):
    cfg = make_cfg("security.erasure.extra_targets=[{table: gold/agg_province, citizen_key: [people]}]",
                   "security.erasure.layers=[silver,gold]")
    root = Path(cfg.paths.root)
    for name in ("gold/agg_province", "bronze/id_card", "silver/citizen_records"):
        _table(root / name, LAKE[name])
    flags = {t.qualified_name: t.personal for t in catalog.tables(cfg)}
    assert flags == {"bronze/id_card": False, "silver/citizen_records": True, "gold/agg_province": True}


def test_columns_come_from_the_newest_checkpoint_and_later_commits(tmp_path):
    """Erasure's log purge leaves only a checkpoint: the schema must be read from it (and from the
    commits after it). Written with the deltalake package (no JVM)."""
    from deltalake import DeltaTable, write_deltalake

    path = tmp_path / "gold" / "dim_enterprise"
    write_deltalake(str(path), pa.table({"enterprise_key": ["E1"], "enterprise_name": ["A"]}))
    write_deltalake(str(path), pa.table({"enterprise_key": ["E2"], "enterprise_name": ["B"],
                                         "owner_citizen_key": ["ck-1"]}), mode="append", schema_mode="merge")
    DeltaTable(str(path)).create_checkpoint()
    purged = tmp_path / "purged"
    shutil.copytree(path, purged)
    for f in (purged / "_delta_log").glob("*.json"):
        f.unlink()                                                    # history purged: the checkpoint alone
    assert list((purged / "_delta_log").glob("*.checkpoint.parquet"))
    assert delta.columns(None, str(purged)) == ["enterprise_key", "enterprise_name", "owner_citizen_key"]
    write_deltalake(str(path), pa.table({"enterprise_key": ["E3"], "enterprise_name": ["C"], "owner_citizen_key": ["x"],
                                         "owner_cccd": ["0"]}), mode="append", schema_mode="merge")
    for v in (0, 1):
        (path / "_delta_log" / f"{v:020d}.json").unlink()
    assert delta.columns(None, str(path))[-1] == "owner_cccd"       # a commit after the checkpoint wins


def test_object_store_roots_need_a_session(make_cfg):
    cfg = make_cfg(root="s3a://bucket/lake")
    with pytest.raises(storage.StorageUnavailable, match="needs a SparkSession"):
        catalog.tables(cfg)
    with pytest.raises(ValueError):                                   # also a ValueError, as before
        storage.write_text(None, "s3a://bucket/lake/x.json", "{}")
