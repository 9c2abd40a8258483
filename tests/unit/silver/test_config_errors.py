"""Silver end to end on hand-written landing data: bronze -> silver with real Spark and Delta."""

from __future__ import annotations

import pytest

from lakehouse.config import ConfigError, selected_sources
from lakehouse.silver import model as M

ONLY = "only=[id_card]"
def spec_of(cfg, name):
    return next(s for s in selected_sources(cfg) if s.name == name)


def test_config_errors_name_the_file_and_key(make_cfg):
    cfg = make_cfg(ONLY)
    spec = spec_of(cfg, "id_card")
    bad = spec.raw | {"silver": {"table": "citizen", "fields": {"full_name": "nom"}}}
    with pytest.raises(ConfigError, match=r"conf/sources/id_card.yaml: silver.fields.full_name: standardiser 'nom'"):
        M.silver_spec(type(spec)(**{**spec.__dict__, "raw": bad}))
    with pytest.raises(ConfigError, match="duplicate id"):
        M.load_rules([{"id": "a", "criterion": "du", "action": "warn", "when": "x", "reason": "r"}] * 2)


