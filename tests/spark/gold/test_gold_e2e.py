"""Gold end to end on small silver tables written by the test (real Spark, Delta, keys)."""

from __future__ import annotations

import datetime as dt
import os

from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.gold.runner import run_gold
from lakehouse.silver import model as M

TS = dt.datetime(2025, 12, 1, 8, 0, 0)


def silver_table(spark, path, columns: dict, rows: list[dict], extra: dict | None = None):
    schema = {"source": "string", "record_key": "string", **columns, **M.RECORD_COLUMNS, **M.HISTORY_COLUMNS,
              **(extra or {})}
    full = []
    for r in rows:
        base = {"op": "I", "updated_at": TS, "dq_flags": [], "_source_batch": 0, "_source_file": "f",
                "_source_position": 1, "_record_hash": "h", "_run_id": "r", "valid_from": TS, "valid_to": None,
                "is_current": True, "is_deleted": False, "delete_reason": None}
        base.update(r)
        full.append(tuple(base.get(c) for c in schema))
    ddl = ", ".join(f"`{c}` {t}" for c, t in schema.items())
    io.overwrite_delta(spark.createDataFrame(full, ddl), path)


def person(source, key, name, folded, birth, cccd=None, phone=None, province="01", sex="M", death=None):
    return {"source": source, "record_key": key, "full_name": name, "name_folded": folded,
            "birth_date": dt.date.fromisoformat(birth), "birth_date_precision": "day", "sex": sex, "cccd": cccd,
            "phone": phone, "province_code": province, "death_date": dt.date.fromisoformat(death) if death else None}


def test_gold_builds_golden_records_without_clear_identifiers(spark, make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_KEYRING", "a" * 64)
    cfg = make_cfg()
    s = cfg.paths.silver
    people = [
        person("population_registry", "P1", "Nguyễn Văn An", "NGUYEN VAN AN", "1985-03-15", "001085012345", "0912345678"),
        person("social_insurance", "S1", "Nguyen Van An", "NGUYEN VAN AN", "1985-03-15", "001085012345"),
        person("personal_income_tax", "T1", "Nguyễn Văn An", "NGUYEN VAN AN", "1985-03-15", None, "0912345678"),
        person("population_registry", "P2", "Trần Thị Bình", "TRAN THI BINH", "1950-01-02", "001150000001",
               sex="F", death="2025-06-01"),
        person("social_welfare", "W2", "Trần Thị Bình", "TRAN THI BINH", "1950-01-02", "001150000001", sex="F"),
        person("population_registry", "P3", "Lê Văn Cường", "LE VAN CUONG", "1990-07-07", "079090000003"),
        person("personal_income_tax", "T3", "Lê Văn Cường", "LE VAN CUONG", "1990-07-07", "079090000003"),
    ]
    silver_table(spark, f"{s}/citizen_records", M.PERSON_COLUMNS, people)
    firms = [{"source": "enterprise_registration", "record_key": "E1", "tax_code": "0100109106",
              "enterprise_name": "Công ty TNHH An Phát", "name_folded": "CONG TY TNHH AN PHAT", "status": "active",
              "employees": 12, "sector": "C", "province_code": "01", "owner_cccd": "001085012345"},
             {"source": "enterprise_registration", "record_key": "E2", "tax_code": "0300588569",
              "enterprise_name": "Công ty CP Bình Minh", "name_folded": "CONG TY CP BINH MINH",
              "status": "dissolved", "dissolved_date": dt.date(2024, 1, 1), "employees": 3, "sector": "G",
              "province_code": "79"}]
    silver_table(spark, f"{s}/enterprise_records", M.ENTERPRISE_COLUMNS, firms)
    fact_cols = {"employer_tax_code": "string", "participation_status": "string", "is_deleted": "boolean"}
    rows = [("social_insurance", "S1", "0100109106", "Đang tham gia", False)]
    io.overwrite_delta(spark.createDataFrame(rows, "source string, record_key string, " + ", ".join(
        f"{c} {t}" for c, t in fact_cols.items())), f"{s}/fact_insurance_participation")
    rows = [("personal_income_tax", "T1", "0100109106", False), ("personal_income_tax", "T3", "0300588569", False)]
    io.overwrite_delta(spark.createDataFrame(rows, "source string, record_key string, employer_tax_code string, "
                                             "is_deleted boolean"), f"{s}/fact_income_tax_filings")
    io.overwrite_delta(spark.createDataFrame([("social_welfare", "W2", "Đang chi trả", False)],
                                             "source string, record_key string, benefit_status string, "
                                             "is_deleted boolean"), f"{s}/fact_welfare_benefits")

    result = run_gold(spark, cfg, log=lambda *_: None)
    g = cfg.paths.gold
    xref = {(r["source"], r["record_key"]): r for r in io.read_delta(spark, f"{g}/xref_citizen").collect()}
    an = {xref[k]["citizen_key"] for k in [("population_registry", "P1"), ("social_insurance", "S1")]}
    assert len(an) == 1 and xref[("population_registry", "P1")]["match_method"] == "cccd"
    assert xref[("personal_income_tax", "T1")]["citizen_key"] in an          # linked without an ID
    assert xref[("personal_income_tax", "T1")]["match_method"] == "probabilistic"
    assert len({r["citizen_key"] for r in xref.values()}) == 3

    dim = {r["citizen_key"]: r for r in io.read_delta(spark, f"{g}/dim_citizen").collect()}
    assert len(dim) == 3
    a = dim[an.pop()]
    assert a["is_employed"] and a["is_insured"] and a["employer_key"] is not None and a["n_sources"] == 3
    assert a["cccd_token"] and a["name_enc"] and a["birth_date"] == dt.date(1985, 3, 15)
    b = dim[xref[("population_registry", "P2")]["citizen_key"]]
    assert b["status"] == "deceased" and b["receives_benefits"]
    c = dim[xref[("population_registry", "P3")]["citizen_key"]]
    assert c["is_employed"] and not c["is_insured"]

    ent = {r["tax_code"]: r for r in io.read_delta(spark, f"{g}/dim_enterprise").collect()}
    assert ent["0100109106"]["owner_citizen_key"] == a["citizen_key"]
    assert ent["0300588569"]["status"] == "dissolved"
    found = io.read_delta(spark, f"{g}/insight_deceased_active").collect()
    assert [(r["citizen_key"], r["finding"]) for r in found] == [(b["citizen_key"], "benefits_still_paid")]
    uninsured = io.read_delta(spark, f"{g}/insight_employed_uninsured").collect()
    assert [r["citizen_key"] for r in uninsured] == [c["citizen_key"]]
    pop = io.read_delta(spark, f"{g}/agg_population").agg(F.sum("population")).first()[0]
    assert pop == 2                                                         # the deceased is not counted

    # No clear identifier anywhere under gold/.
    clear = [b"001085012345", b"0912345678", "Nguyễn Văn An".encode(), b"NGUYEN VAN AN", b"001150000001"]
    for root, _, files in os.walk(g):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert not any(c in data for c in clear), f"clear identifier in {f}"

    # Stable keys: a second run gives the same golden keys.
    run_gold(spark, cfg, log=lambda *_: None)
    again = {(r["source"], r["record_key"]): r["citizen_key"]
             for r in io.read_delta(spark, f"{g}/xref_citizen").collect()}
    assert again == {k: v["citizen_key"] for k, v in xref.items()}
    assert result.tables["dim_citizen"] == 3
