"""Table maintenance on small Delta tables: discovery, OPTIMIZE / Z-order, VACUUM, statistics."""

from __future__ import annotations

from lakehouse.ops.maintain import (
    MaintainSettings,
    ZOrderRule,
    zorder_columns,
)

RULES = (ZOrderRule("bronze/_quarantine", ("source", "_source_file")), ZOrderRule("bronze/*", ("{key}",)),
         ZOrderRule("silver/_staging/*", ()), ZOrderRule("silver/*", ("record_key",)), ZOrderRule("*", ()))


def test_zorder_columns_follow_the_first_matching_rule():
    cols = ["so_phieu", "ho_ten", "_source_file"]
    assert zorder_columns("bronze/id_card", cols, RULES, key_column="so_phieu") == ("so_phieu",)
    assert zorder_columns("bronze/id_card", cols, RULES, key_column=None) == ()
    assert zorder_columns("bronze/_quarantine", ["source", "_source_file"], RULES) == ("source", "_source_file")
    assert zorder_columns("silver/_staging/id_card", ["record_key"], RULES) == ()
    assert zorder_columns("silver/citizen_records", ["source", "record_key"], RULES,
                          partition_columns=("record_key",)) == ()
    assert zorder_columns("gold/dq_scorecard", ["source"], RULES) == ()


def test_settings_from_config(make_cfg):
    s = MaintainSettings.from_config(make_cfg("ops.maintain.retention_hours=12", "ops.maintain.tables=[gold/*]",
                                              "ops.maintain.exclude=[gold/tmp_*]"))
    assert s.retention_hours == 12.0 and s.layers == ("bronze", "silver", "gold", "ops")
    assert s.selects("gold/dim_citizen") and not s.selects("bronze/id_card") and not s.selects("gold/tmp_x")
    assert s.zorder[0] == ZOrderRule("bronze/_quarantine", ("source", "_source_file"))


