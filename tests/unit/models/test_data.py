"""Dask reads Delta through the log (time travel, no stale files), access policy, pure features."""

from __future__ import annotations

import glob

import numpy as np
import pandas as pd
import pytest
from deltalake import write_deltalake

from lakehouse.models import features as F
from lakehouse.models.data import check_access, read_delta, read_gold
from lakehouse.models.specs import SPECS
from lakehouse.security.access import AccessDenied
from tests.unit.models.conftest import N_CITIZENS, models_cfg


def test_read_delta_time_travel_and_no_stale_files(tmp_path):
    path = str(tmp_path / "t")
    write_deltalake(path, pd.DataFrame({"k": [f"a{i}" for i in range(100)], "v": np.arange(100)}))        # v0
    write_deltalake(path, pd.DataFrame({"k": [f"b{i}" for i in range(50)], "v": np.arange(50)}), mode="append")  # v1
    write_deltalake(path, pd.DataFrame({"k": [f"c{i}" for i in range(30)], "v": np.arange(30)}), mode="overwrite")  # v2

    v0, v1, latest = read_delta(path, 0), read_delta(path, 1), read_delta(path)
    assert (v0.version, v1.version, latest.version) == (0, 1, 2)
    assert len(v0.frame) == 100 and len(v1.frame) == 150 and len(latest.frame) == 30
    assert set(latest.frame["k"].compute().str[0]) == {"c"}
    # The files of v0 and v1 are still on disk (not vacuumed): globbing would read 180 rows.
    assert len(glob.glob(f"{path}/*.parquet")) == 3
    assert list(read_delta(path, 1, columns=["v"]).frame.columns) == ["v"]


def test_read_gold_pinned_version_from_config(gold_root):
    cols = ["citizen_key", "birth_year"]
    assert read_gold(models_cfg(gold_root), "dim_citizen", columns=cols).version == 1
    pinned = read_gold(models_cfg(gold_root, "models.gold_versions.dim_citizen=0"), "dim_citizen", columns=cols)
    assert pinned.version == 0 and len(pinned.frame) == N_CITIZENS // 2
    assert len(read_gold(models_cfg(gold_root), "dim_citizen", version=1, columns=cols).frame) == N_CITIZENS


def test_missing_table_is_a_clear_error(tmp_path):
    from lakehouse.config import ConfigError

    with pytest.raises(ConfigError, match="no Delta table"):
        read_gold(models_cfg(tmp_path), "dim_citizen", columns=["citizen_key"])


def test_models_read_only_what_the_data_scientist_role_may_see(cfg):
    for spec in SPECS.values():
        for table, columns in spec.columns.items():
            check_access(cfg, table, columns)
            assert not any(c.endswith(("_enc", "_token")) for c in columns)
    for column in ("name_token", "cccd_enc", "birth_date"):          # denied, denied, masked to the year
        with pytest.raises(AccessDenied, match=column):
            read_gold(cfg, "dim_citizen", columns=["citizen_key", column])
    with pytest.raises(AccessDenied, match="xref"):
        read_gold(cfg, "xref_citizen", columns=["citizen_key"])
    check_access(models_cfg("/nowhere", "models.read_role=null"), "xref_citizen", None)  # service account


def test_coverage_rows_keep_employed_living_citizens():
    citizens = pd.DataFrame({
        "citizen_key": ["a", "b", "c", "d"], "birth_year": pd.array([1990, 1980, None, 1970], dtype="Int32"),
        "sex": ["M", "F", None, "M"], "province_code": ["01", "27", "79", None],
        "status": ["alive", "alive", "alive", "deceased"],
        "is_employed": pd.array([True, False, True, True], dtype="boolean"),
        "employer_key": ["e1", None, "e2", "e1"], "is_insured": pd.array([True, None, None, False], dtype="boolean"),
    })
    rows = F.coverage_rows(citizens, pd.Timestamp("2026-01-01"))
    assert list(rows["citizen_key"]) == ["a", "c"]
    assert list(rows["uninsured"]) == [0, 1]                    # no insurance record = uninsured
    assert rows["age"].iloc[0] == 36 and np.isnan(rows["age"].iloc[1])
    assert list(rows["province_city"]) == [1.0, 1.0] and rows["sex_male"].iloc[0] == 1.0


def test_firm_features_and_risk_label():
    firms = pd.DataFrame({
        "enterprise_key": ["e1", "e2"], "sector": ["G", "zz"], "province_code": ["04", "79"],
        "status": ["dissolved", "active"], "founded_date": pd.to_datetime(["2016-01-01", None]),
        "employees": pd.array([3, None], dtype="Int32"), "capital": [1e9, None],
        "n_tax_filings": pd.array([8, 0], dtype="Int32"), "n_late_filings": pd.array([2, 0], dtype="Int32"),
        "revenue_last": [3e9, None],
    })
    rows = F.risk_rows(firms, pd.Timestamp("2026-01-01"))
    assert list(rows.columns) == ["enterprise_key", *SPECS["enterprise_risk"].features, "dissolved"]
    assert list(rows["dissolved"]) == [1, 0]
    assert rows["firm_late_share"].iloc[0] == 0.25 and np.isnan(rows["firm_late_share"].iloc[1])
    assert rows["firm_sector_G"].tolist() == [1.0, 0.0] and rows["firm_sector_unknown"].tolist() == [0.0, 1.0]
    assert round(rows["firm_age_years"].iloc[0]) == 10
    assert rows["firm_revenue_per_employee_log"].iloc[0] == pytest.approx(np.log1p(1e9))
    assert "firm_dissolved" not in rows                          # the label never leaks into the features
    employer = F.employer_rows(firms, pd.Timestamp("2026-01-01"))
    assert employer["employer_dissolved"].tolist() == [1.0, 0.0]
