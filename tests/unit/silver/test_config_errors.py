"""Silver end to end on hand-written landing data: bronze -> silver with real Spark and Delta."""

from __future__ import annotations

import unicodedata

import pytest

from lakehouse import io
from lakehouse.config import ConfigError, selected_sources
from lakehouse.silver import model as M
from tests.support import landing as L

ONLY = "only=[id_card]"
LENIENT = "silver.max_drop_rate=0.5"


def quiet(*_):
    pass


def spec_of(cfg, name):
    return next(s for s in selected_sources(cfg) if s.name == name)


def row(spec, key, **values):
    rec = {c: "" for c in L.columns_of(spec)}
    rec.update({spec.key: key, spec.op: "I", spec.updated_at: "2025-12-01 08:00:00"})
    for canonical, v in values.items():
        rec[spec.columns.get(canonical, canonical)] = v
    return rec


def batch0(spec):
    an = dict(full_name="NGUYỄN VĂN AN", cccd="001085012345", birth_date="15/03/1985", sex="Nam",
              address="12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, TP. Hà Nội")
    return [
        row(spec, "K1", **an),
        row(spec, "K2", full_name=unicodedata.normalize("NFD", "Trần Thị Hoà"), cccd="79190001234",
            birth_date="00/00/1990", sex="Nữ"),
        row(spec, "K1", **an),                                                   # exact duplicate
        row(spec, "K4", full_name="", cccd="001085099999", birth_date="01/02/1985", sex="Nam"),
        row(spec, "K5", full_name="Lê Văn Bình", cccd="001085011111", birth_date="31/02/1985", sex="Nam"),
        row(spec, "K6", full_name="Phạm Thị Cúc", birth_date="02/02/1980", sex="Nữ",
            **{spec.updated_at: "2025-11-01 08:00:00"}),
        row(spec, "K6", full_name="Phạm Thị Cúc", birth_date="02/02/1981", sex="Nữ",
            **{spec.updated_at: "2025-11-02 08:00:00"}),                         # later: wins
        row(spec, "K7", full_name="Hoàng Văn Dũng", cccd="012345678", birth_date="1970", sex="Nam"),
    ]


def current(spark, cfg, table="citizen_records"):
    return {r["record_key"]: r for r in io.read_delta(spark, f"{cfg.paths.silver}/{table}")
            .where("is_current").collect()}


def snapshot(spark, cfg):
    df = io.read_delta(spark, f"{cfg.paths.silver}/citizen_records").drop("_run_id")
    return sorted(tuple(str(v) for v in r) for r in df.collect())


def test_config_errors_name_the_file_and_key(make_cfg):
    cfg = make_cfg(ONLY)
    spec = spec_of(cfg, "id_card")
    bad = spec.raw | {"silver": {"table": "citizen", "fields": {"full_name": "nom"}}}
    with pytest.raises(ConfigError, match=r"conf/sources/id_card.yaml: silver.fields.full_name: standardiser 'nom'"):
        M.silver_spec(type(spec)(**{**spec.__dict__, "raw": bad}))
    with pytest.raises(ConfigError, match="duplicate id"):
        M.load_rules([{"id": "a", "criterion": "du", "action": "warn", "when": "x", "reason": "r"}] * 2)


