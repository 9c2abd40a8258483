"""The models: the question each answers, the gold tables it reads, its features and label.

A model is data plus one Dask function that turns the gold tables into one row per entity
(key, features, label). Adding a model = adding a spec here and an entry under `models.specs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import dask.dataframe as dd
import pandas as pd

from lakehouse.models import features as F


@dataclass(frozen=True)
class ModelSpec:
    name: str
    question: str
    key: str                      # entity key carried next to the features (never a feature)
    label: str                    # 0/1 column; the score is P(label = 1)
    columns: Mapping[str, tuple[str, ...]]  # gold table -> the only columns read (no tokens, no ciphertext)
    features: tuple[str, ...]
    build: Callable[[Mapping[str, dd.DataFrame], pd.Timestamp], dd.DataFrame]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.columns)


# Data minimisation: the models read these columns and nothing else (no *_token, *_enc, names).
CITIZEN_COLUMNS = ("citizen_key", "birth_year", "sex", "province_code", "status", "is_employed",
                   "employer_key", "is_insured")
FIRM_COLUMNS = ("enterprise_key", "sector", "province_code", "status", "founded_date", "employees", "capital",
                "n_tax_filings", "n_late_filings", "revenue_last")


def _coverage_gap(tables: Mapping[str, dd.DataFrame], as_of: pd.Timestamp) -> dd.DataFrame:
    citizens = tables["dim_citizen"]
    workers = citizens.map_partitions(F.coverage_rows, as_of, meta=F.coverage_rows(citizens._meta, as_of))
    firms = tables["dim_enterprise"]
    employers = firms.map_partitions(F.employer_rows, as_of, meta=F.employer_rows(firms._meta, as_of))
    # Firms are few next to people: one partition, joined to every worker partition (no shuffle, and
    # the workers keep their partitioning and row order).
    joined = workers.merge(employers.repartition(npartitions=1), how="left",
                           left_on="employer_key", right_on="enterprise_key")
    joined = joined.assign(employer_known=joined["employer_known"].fillna(0.0))
    return joined[["citizen_key", *COVERAGE_GAP.features, "uninsured"]]


def _enterprise_risk(tables: Mapping[str, dd.DataFrame], as_of: pd.Timestamp) -> dd.DataFrame:
    firms = tables["dim_enterprise"]
    return firms.map_partitions(F.risk_rows, as_of, meta=F.risk_rows(firms._meta, as_of))


COVERAGE_GAP = ModelSpec(
    name="coverage_gap",
    question="Which employed citizens are likely NOT enrolled in social insurance (BHXH)? "
             "Score = P(uninsured | age, sex, province, employer size/sector/age/filings/status).",
    key="citizen_key",
    label="uninsured",
    columns={"dim_citizen": CITIZEN_COLUMNS, "dim_enterprise": FIRM_COLUMNS},
    features=(*F.CITIZEN_FEATURES, *F.firm_feature_names("employer_", include_status=True), "employer_known"),
    build=_coverage_gap,
)

ENTERPRISE_RISK = ModelSpec(
    name="enterprise_risk",
    question="Which enterprises are likely to be dissolved? "
             "Score = P(dissolved | sector, province, employees, age, capital, revenue per employee, tax filings "
             "and late filings).",
    key="enterprise_key",
    label="dissolved",
    columns={"dim_enterprise": FIRM_COLUMNS},
    features=F.firm_feature_names("firm_", include_status=False),
    build=_enterprise_risk,
)

SPECS: dict[str, ModelSpec] = {s.name: s for s in (COVERAGE_GAP, ENTERPRISE_RISK)}


def selected_specs(names) -> list[ModelSpec]:
    from lakehouse.config import ConfigError

    names = list(names or []) or list(SPECS)
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        raise ConfigError(f"models.only={unknown}: no such model; models are {sorted(SPECS)}")
    return [SPECS[n] for n in names]
