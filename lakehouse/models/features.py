"""Feature functions: pandas DataFrame in, pandas DataFrame out, one row per citizen or enterprise.

They are pure (no I/O, no cluster) and applied partition by partition with Dask's
``map_partitions``, so the same code runs on three rows in a test and on 99 M on a cluster. Every
feature is float64 (missing = NaN, which XGBoost treats as missing), and no feature is an identifier:
keys are carried alongside, never fed to a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lakehouse import reference

# VSIC 2018 sections (A..U), one indicator each.
SECTORS: tuple[str, ...] = tuple(row["code"] for row in reference.vsic_sections())
# The six centrally-run cities after the 2025 reform: Hà Nội, Hải Phòng, Huế, Đà Nẵng, TP.HCM, Cần Thơ.
CITY_PROVINCES: tuple[str, ...] = ("01", "31", "46", "48", "79", "92")

CITIZEN_FEATURES: tuple[str, ...] = ("age", "sex_male", "province_num", "province_city")


def firm_feature_names(prefix: str, include_status: bool) -> tuple[str, ...]:
    names = ["employees_log", "age_years", "capital_log", "n_tax_filings", "n_late_filings", "late_share",
             "revenue_per_employee_log", "province_num", "province_city",
             *[f"sector_{s}" for s in SECTORS], "sector_unknown"]
    if include_status:
        names += ["suspended", "dissolved"]
    return tuple(prefix + n for n in names)


def _float(values) -> pd.Series | np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def years_between(start: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole and fractional years from `start` (datetime64, NaT allowed) to `as_of`."""
    start = pd.to_datetime(start, errors="coerce")
    return ((pd.Timestamp(as_of) - start).dt.days / 365.25).astype("float64")


def province_features(code: pd.Series, prefix: str = "") -> pd.DataFrame:
    code = code.astype("string")
    known = code.notna()
    return pd.DataFrame({
        f"{prefix}province_num": _float(code),
        f"{prefix}province_city": np.where(known, code.isin(CITY_PROVINCES), np.nan).astype("float64"),
    }, index=code.index)


def sector_features(sector: pd.Series, prefix: str = "") -> pd.DataFrame:
    sector = sector.astype("string").str.strip().str.upper()
    out = {f"{prefix}sector_{s}": (sector == s).fillna(False).astype("float64") for s in SECTORS}
    out[f"{prefix}sector_unknown"] = (~sector.isin(SECTORS)).fillna(True).astype("float64")
    return pd.DataFrame(out, index=sector.index)


def citizen_features(citizens: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Age in years (from the birth year: the data-scientist role sees birth dates only to the
    year), sex and province of residence."""
    year = _float(citizens["birth_year"]) if "birth_year" in citizens else pd.Series(np.nan, index=citizens.index)
    if "birth_date" in citizens:
        year = year.fillna(pd.to_datetime(citizens["birth_date"], errors="coerce").dt.year.astype("float64"))
    sex = citizens["sex"].astype("string")
    out = pd.DataFrame({
        "age": (pd.Timestamp(as_of).year - year).astype("float64"),
        "sex_male": np.where(sex.isna(), np.nan, (sex == "M").fillna(False)).astype("float64"),
    }, index=citizens.index)
    return pd.concat([out, province_features(citizens["province_code"])], axis=1)


def firm_features(firms: pd.DataFrame, as_of: pd.Timestamp, prefix: str = "firm_",
                  include_status: bool = False) -> pd.DataFrame:
    """Size, age, capital, filing behaviour, province and sector of each enterprise.
    `include_status` adds suspended/dissolved indicators (an employer's status is a fair feature for
    its workers; for the dissolution model it is the label and must stay out)."""
    filings = _float(firms["n_tax_filings"])
    late = _float(firms["n_late_filings"])
    out = pd.DataFrame({
        f"{prefix}employees_log": np.log1p(_float(firms["employees"]).clip(lower=0)),
        f"{prefix}age_years": years_between(firms["founded_date"], as_of),
        f"{prefix}capital_log": np.log1p(_float(firms["capital"]).clip(lower=0)),
        f"{prefix}n_tax_filings": filings,
        f"{prefix}n_late_filings": late,
        f"{prefix}late_share": (late / filings.where(filings > 0)).astype("float64"),
        f"{prefix}revenue_per_employee_log": np.log1p((_float(firms["revenue_last"]).clip(lower=0)
                                                       / _float(firms["employees"]).where(lambda e: e > 0))),
    }, index=firms.index)
    parts = [out, province_features(firms["province_code"], prefix), sector_features(firms["sector"], prefix)]
    if include_status:
        status = firms["status"].astype("string")
        parts.append(pd.DataFrame({
            f"{prefix}suspended": np.where(status.isna(), np.nan, (status == "suspended").fillna(False)),
            f"{prefix}dissolved": np.where(status.isna(), np.nan, (status == "dissolved").fillna(False)),
        }, index=firms.index).astype("float64"))
    return pd.concat(parts, axis=1)[list(firm_feature_names(prefix, include_status))]


def _flag(values: pd.Series) -> pd.Series:
    """A nullable boolean column as plain bool (null = False)."""
    return values.astype("boolean").fillna(False).astype(bool)


def coverage_rows(citizens: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Employed, living citizens: key, employer key, citizen features and the label `uninsured`."""
    employed = _flag(citizens["is_employed"]) & (citizens["status"].astype("string") != "deceased").fillna(True)
    rows = citizens.loc[employed]
    out = pd.concat([rows[["citizen_key", "employer_key"]].astype("string"), citizen_features(rows, as_of)], axis=1)
    out["uninsured"] = (~_flag(rows["is_insured"])).astype("int8")
    return out


def employer_rows(firms: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Employer features keyed by enterprise_key, for joining to workers."""
    out = firm_features(firms, as_of, prefix="employer_", include_status=True)
    out.insert(0, "enterprise_key", firms["enterprise_key"].astype("string"))
    out["employer_known"] = 1.0
    return out


def risk_rows(firms: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every enterprise: key, features and the label `dissolved`."""
    out = firm_features(firms, as_of, prefix="firm_", include_status=False)
    out.insert(0, "enterprise_key", firms["enterprise_key"].astype("string"))
    out["dissolved"] = (firms["status"].astype("string") == "dissolved").fillna(False).astype("int8")
    return out
