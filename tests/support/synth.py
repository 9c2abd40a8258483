"""Small synthetic gold tables that follow lakehouse.gold.schema, with a planted signal.

The signal mirrors the generator (lakehouse/simulate): small, young firms in retail, hospitality and
construction fail more and file late more; workers of small firms in agriculture, construction, retail
and hospitality, of dissolved firms, and older workers are less often insured. Every identifier
contains MARKER so that a scan can prove none of them reached MLflow.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.gold import schema as contract

MARKER = "PLANTED"
AS_OF = dt.date(2026, 1, 1)
SECTORS = list("ABCDEFGHIJKLMNOPQRSTU")
PROVINCES = ["01", "79", "31", "48", "04", "08", "11", "12", "15", "19", "22", "24"]

_TYPES = {
    "STRING": pa.string(), "BINARY": pa.binary(), "DATE": pa.date32(), "INT": pa.int32(),
    "BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "LONG": pa.int64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"), "ARRAY<STRING>": pa.list_(pa.string()),
}


def arrow_schema(ddl: str) -> pa.Schema:
    """pyarrow schema from a contract DDL string ("name TYPE, name TYPE, ...")."""
    fields = []
    for part in re.split(r",\s*(?![^<]*>)", ddl.strip()):
        name, typ = part.strip().split(" ", 1)
        fields.append(pa.field(name, _TYPES[typ.strip().upper()]))
    return pa.schema(fields)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def enterprises(n: int, seed: int = 7) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    sector = rng.choice(SECTORS, size=n, p=_sector_weights())
    employees = (np.floor(np.exp(rng.random(n) * rng.random(n) * 8.0)) + 1).astype(int)
    age_days = np.floor(rng.random(n) ** 1.6 * 30 * 365).astype(int)
    founded = [AS_OF - dt.timedelta(days=int(d)) for d in age_days]
    firm_age = age_days / 365.0
    logit = (-2.2 + 1.2 * (employees <= 5) + 0.8 * np.isin(sector, ["G", "I", "F"]) + 0.6 * (firm_age < 2)
             - 1.0 * (employees > 50) + rng.random(n) - 0.5)
    risk = _sigmoid(logit)
    dissolved = (rng.random(n) < np.clip(risk * 1.4, 0, 1)) & (firm_age > 1)
    suspended = ~dissolved & (rng.random(n) < risk * 0.15)
    n_filings = np.where(dissolved, rng.integers(1, 10, n), rng.integers(3, 13, n))
    n_late = rng.binomial(n_filings, risk)
    status = np.where(dissolved, "dissolved", np.where(suspended, "suspended", "active"))
    keys = [f"ent-{MARKER}-{i:05d}" for i in range(n)]
    return {
        "enterprise_key": keys,
        "tax_code": [f"{MARKER}TAX{i:07d}" for i in range(n)],
        "enterprise_name": [f"CONG TY {MARKER} {i}" for i in range(n)],
        "sector": list(sector),
        "province_code": list(rng.choice(PROVINCES, size=n)),
        "status": list(status),
        "founded_date": founded,
        "dissolved_date": [AS_OF - dt.timedelta(days=30) if d else None for d in dissolved],
        "employees": [int(e) for e in employees],
        "capital": [float(e * (rng.integers(0, 50) + 1) * 1e8) for e in employees],
        "owner_citizen_key": [f"cit-{MARKER}-owner-{i:05d}" for i in range(n)],
        "n_tax_filings": [int(x) for x in n_filings],
        "n_late_filings": [int(x) for x in n_late],
        "last_filing_period": ["2025-Q4"] * n,
        "revenue_last": [float(x) for x in employees * 1.5e8 * (1.2 - risk) * (rng.random(n) + 0.5)],
        "n_sources": [2] * n,
        "n_records": [3] * n,
        "name_source": ["enterprise_registration"] * n,
        "status_source": ["enterprise_registration"] * n,
        "_run_id": ["run-0"] * n,
    }


def _sector_weights():
    w = np.ones(len(SECTORS))
    for s, v in {"C": 8, "F": 5, "G": 10, "I": 4, "A": 2}.items():
        w[SECTORS.index(s)] = v
    return w / w.sum()


def citizens(n: int, firms: dict[str, list], seed: int = 11, start: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    n_firms = len(firms["enterprise_key"])
    age = rng.integers(1, 90, n).astype(float) + rng.random(n)
    birth = [AS_OF - dt.timedelta(days=int(a * 365.25)) for a in age]
    sex = rng.choice(["M", "F"], size=n)
    province = rng.choice(PROVINCES, size=n)
    deceased = rng.random(n) < np.where(age > 70, 0.1, 0.005)
    employed = (age >= 18) & (age <= 62) & (rng.random(n) < 0.7) & ~deceased
    employer = np.floor(rng.random(n) ** 2 * n_firms).astype(int)
    emp = np.array(firms["employees"])[employer]
    sec = np.array(firms["sector"])[employer]
    diss = np.array(firms["status"])[employer] == "dissolved"
    logit = (0.4 + np.where(emp > 50, 1.3, np.where(emp > 10, 0.6, -0.4)) - 1.0 * np.isin(sec, ["A", "F", "G", "I"])
             - (age - 40) * 0.02 + 0.5 * np.isin(province, ["01", "79"]) - 2.0 * diss)
    insured = employed & (rng.random(n) < _sigmoid(logit))
    known_employer = employed & (rng.random(n) < 0.95)
    ids = range(start, start + n)
    return {
        "citizen_key": [f"cit-{MARKER}-{i:06d}" for i in ids],
        "name_enc": [f"enc-{MARKER}-{i}".encode() for i in ids],
        "name_token": [f"tok-name-{MARKER}-{i}" for i in ids],
        "cccd_token": [f"tok-cccd-{MARKER}-{i}" for i in ids],
        "cccd_enc": [f"enc-cccd-{MARKER}-{i}".encode() for i in ids],
        "phone_token": [f"tok-phone-{MARKER}-{i}" for i in ids],
        "birth_date": birth,
        "birth_date_precision": ["day"] * n,
        "birth_year": [b.year for b in birth],
        "sex": list(sex),
        "ethnicity": ["Kinh"] * n,
        "province_code": list(province),
        "ward_code": ["00004"] * n,
        "status": ["deceased" if d else "alive" for d in deceased],
        "death_date": [AS_OF - dt.timedelta(days=10) if d else None for d in deceased],
        "is_employed": [bool(e) for e in employed],
        "employer_key": [firms["enterprise_key"][j] if k else None for j, k in zip(employer, known_employer)],
        "is_insured": [bool(x) for x in insured],
        "has_health_card": [bool(x) for x in rng.random(n) < 0.8],
        "receives_benefits": [bool(x) for x in rng.random(n) < 0.05],
        "n_sources": [int(x) for x in rng.integers(1, 6, n)],
        "n_records": [int(x) for x in rng.integers(1, 9, n)],
        "name_source": ["population_registry"] * n,
        "birth_date_source": ["population_registry"] * n,
        "sex_source": ["population_registry"] * n,
        "province_source": ["population_registry"] * n,
        "status_source": ["population_registry"] * n,
        "_run_id": ["run-0"] * n,
    }


def scorecard(sources=("population_registry", "social_insurance", "enterprise_registration")) -> dict[str, list]:
    rows = []
    for run, day in (("run-0", 1), ("run-1", 8)):
        for i, src in enumerate(sources):
            scores = {c: 70.0 + 5 * i + (3 if run == "run-1" else 0) + j for j, c in enumerate(("dung", "du", "sach", "song"))}
            scores["overall"] = sum(scores.values()) / 4
            for crit, score in scores.items():
                rows.append({"run_id": run, "run_at": dt.datetime(2026, 1, day, tzinfo=dt.timezone.utc),
                             "source": src, "criterion": crit, "score": score,
                             "rules": [f"{crit}.rule_a", f"{crit}.rule_b"], "rows": 1000, "violations": int(10 * (100 - score)),
                             "previous_score": None, "trend": None})
    return {k: [r[k] for r in rows] for k in rows[0]}


def write(path: str, columns: dict[str, list], ddl: str, mode: str = "overwrite", files: int = 1) -> int:
    """Write the rows; `files` > 1 writes them in that many commits (one data file and one Delta
    version each, hence that many Dask partitions). Returns the last version."""
    table = pa.table(columns, schema=arrow_schema(ddl))
    step = max(1, -(-table.num_rows // files))
    for i, start in enumerate(range(0, max(table.num_rows, 1), step)):
        write_deltalake(path, table.slice(start, step), mode=mode if i == 0 else "append")
    return i


def write_gold(gold_dir: str, n_citizens: int = 3000, n_firms: int = 400, files: int = 2) -> dict[str, int]:
    """dim_enterprise and dim_citizen (`files` commits each, versions 0..files-1) and dq_scorecard."""
    firms = enterprises(n_firms)
    people = citizens(n_citizens, firms)
    write(f"{gold_dir}/dim_enterprise", firms, contract.DIM_ENTERPRISE, files=files)
    write(f"{gold_dir}/dim_citizen", people, contract.DIM_CITIZEN, files=files)
    write(f"{gold_dir}/dq_scorecard", scorecard(), contract.DQ_SCORECARD)
    return {"dim_citizen": n_citizens, "dim_enterprise": n_firms}
