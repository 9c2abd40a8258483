"""The DuckDB silver of the benchmark (benchmarks/duckdb_silver.py) on a handful of dirty population
registry rows: standardised values and quarantine decisions as Spark's silver would make them."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from benchmarks import duckdb_silver as D
from lakehouse.config import compose

COLUMNS = ["ma_cong_dan", "ho_va_ten", "ngay_thang_nam_sinh", "gioi_tinh", "so_dinh_danh", "so_cmnd", "dan_toc",
           "so_dien_thoai", "ngay_mat", "tinh_trang", "loai_thay_doi", "thoi_gian_cap_nhat", "_record_hash"]
ROWS = [
    # key, name, birth, sex, cccd, cmnd, ethnicity, phone, death, status, op, updated, hash
    ("PO1", "  nguyễn   văn  hoà ", "1990-03-05", "1", "001090123456", None, "1", "+84 912 345 678", None,
     "Còn sống", "I", "2025-10-01 10:00:00", "h1"),
    ("PO2", "Tra\u0302\u0300n Thi\u0323 Thuy\u0301", "15/08/1985", "2", "01185012345", None, "Kinh", "01662345678",
     None, "Còn sống", "I", "2025-10-01 10:00:00", "h2"),
    ("PO3", "ĐẶNG THỊ LAN", "1975", "2", "001.175.000.111", None, "Tày", "84 98 765 4321", None, "Còn sống", "I",
     "2025-10-01 10:00:00", "h3"),
    ("PO4", "Lê Văn Tám", "1990-01-20", "1", "999090000001", None, "01", None, None, "Còn sống", "I",
     "2025-10-01 10:00:00", "h4"),
    ("PO5", "Phạm Thị Hương", "1992-07-01", "2", "079092000123", None, "01", "0901234567", None, "Còn sống", "I",
     "2025-10-01 10:00:00", "h5"),
    ("PO6", "   ", "1980-01-02", "1", "001080000001", None, "01", None, None, "Còn sống", "I",
     "2025-10-01 10:00:00", "h6"),
    ("PO1", "  nguyễn   văn  hoà ", "1990-03-05", "1", "001090123456", None, "1", "+84 912 345 678", None,
     "Còn sống", "I", "2025-10-01 10:00:00", "h1"),
    ("PO8", "Võ Thị Thuỷ", "1970-12-24", "2", "048170000777", None, "01", None, None, "Còn sống", "U",
     "2025-09-01 08:00:00", "h8a"),
    ("PO8", "Võ Thị Thủy", "1970-12-24", "2", "048170000777", None, "01", None, None, "Còn sống", "U",
     "2025-11-01 08:00:00", "h8b"),
    ("PO9", "Trần Văn Bé", "2099-01-01", "1", None, None, "01", None, None, "Còn sống", "I",
     "2025-10-01 10:00:00", "h9"),
    ("PO10", "Hồ Văn Tư", "2020-02-31", "1", None, None, "01", None, None, "Còn sống", "I", "2025-10-01 10:00:00",
     "h10"),
    ("PO11", "Đỗ Văn Quý", "00/00/1950", "nam", "123456789", None, "01", "0243 826 1234", "2019-05-05", "Còn sống",
     "I", "2025-10-01 10:00:00", "h11"),
]


@pytest.fixture(scope="module")
def checked():
    cfg = compose(["paths.root=/tmp/unused"])
    settings = D.source_settings(cfg, "population_registry")
    data = {c: [r[i] for r in ROWS] for i, c in enumerate(COLUMNS)}
    data.update(_source_file=["f.parquet"] * len(ROWS), _source_position=list(range(1, len(ROWS) + 1)),
                _source_batch=[0] * len(ROWS), _ingested_at=[None] * len(ROWS))
    table = pa.table(data)
    con = duckdb.connect()
    con.register("bronze", table)
    rows = D.checked_relation(con, settings).fetchall()
    names = D.checked_relation(con, settings).columns
    checked_rows = [dict(zip(names, r)) for r in rows]
    return {(r["record_key"], r["_source_position"]): r for r in checked_rows}


def row(checked, key, pos=None):
    hits = [r for (k, p), r in checked.items() if k == key and (pos is None or p == pos)]
    assert len(hits) == 1, (key, pos, hits)
    return hits[0]


def test_names_are_nfc_title_case_new_tone_and_folded(checked):
    r = row(checked, "PO1", 1)
    assert (r["full_name"], r["name_folded"]) == ("Nguyễn Văn Hòa", "NGUYEN VAN HOA")
    assert row(checked, "PO2")["full_name"] == "Trần Thị Thúy"          # NFD composed
    r = row(checked, "PO3")
    assert (r["full_name"], r["name_folded"]) == ("Đặng Thị Lan", "DANG THI LAN")
    assert row(checked, "PO11")["full_name"] == "Đỗ Văn Quý"            # quý keeps its tone (after q)
    assert r["name_no_diacritics"] is False


def test_dates_formats_precision_and_flags(checked):
    import datetime as dt

    r = row(checked, "PO2")
    assert (r["birth_date"], r["birth_date_precision"], r["birth_date_flag"]) == (dt.date(1985, 8, 15), "day", None)
    r = row(checked, "PO3")
    assert (r["birth_date"], r["birth_date_precision"], r["birth_date_flag"]) == (dt.date(1975, 1, 1), "year", "year_only")
    r = row(checked, "PO11")
    assert (r["birth_date"], r["birth_date_precision"], r["birth_date_flag"]) == (dt.date(1950, 1, 1), "year", "year_only")
    r = row(checked, "PO10")
    assert (r["birth_date"], r["birth_date_flag"]) == (None, "impossible")


def test_cccd_restored_validated_and_cross_checked(checked):
    r = row(checked, "PO2")                                      # 11 digits: leading zero restored
    assert (r["cccd"], r["cccd_reason"]) == ("001185012345", None)
    assert row(checked, "PO3")["cccd"] == "001175000111"       # dots removed
    r = row(checked, "PO4")                                      # province 999 does not exist
    assert (r["cccd"], r["cccd_reason"]) == (None, "bad_province")
    r = row(checked, "PO5")                                      # female, century digit 0 (male)
    assert (r["cccd"], r["cccd_reason"]) == ("079092000123", "sex_mismatch")
    r = row(checked, "PO11")                                     # 9 digits in the CCCD column: a CMND
    assert (r["cccd"], r["cccd_reason"], r["cmnd"]) == (None, "cmnd", "123456789")


def test_phone_sex_ethnicity(checked):
    assert (row(checked, "PO1", 1)["phone"], row(checked, "PO1", 1)["phone_carrier"]) == ("0912345678", "VinaPhone")
    assert row(checked, "PO2")["phone"] == "0362345678"          # 0166 -> 036
    assert row(checked, "PO3")["phone"] == "0987654321"          # 84 -> 0
    assert row(checked, "PO11")["phone"] == "02438261234"        # landline kept
    assert [row(checked, k)["sex"] for k in ("PO2", "PO3", "PO11")] == ["F", "F", "M"]
    assert [row(checked, k, p)["ethnicity"] for k, p in (("PO1", 1), ("PO2", 2), ("PO3", 3))] == ["01", "01", "02"]


def test_rules_and_dedupe(checked):
    def decision(key, pos=None):
        r = row(checked, key, pos)
        return r["rule_id"] if r["_drop"] else sorted(r["dq_flags"])

    assert decision("PO1", 1) == []
    assert decision("PO1", 7) == "sach.exact_duplicate"
    assert decision("PO6") == "du.name_missing"
    assert decision("PO8", 8) == "sach.key_conflict"            # older version of the same key
    assert decision("PO8", 9) == []
    assert decision("PO9") == "dung.birth_date_future"
    assert "dung.cccd_invalid" in decision("PO4")
    assert "dung.cccd_cross_check" in decision("PO5")
    assert {"dung.birth_date_invalid", "du.birth_date_missing", "du.no_identifier"} <= set(decision("PO10"))
    assert "song.deceased_active" in decision("PO11")             # death date but "Còn sống"
    kept = [r for r in checked.values() if not r["_drop"]]
    assert len(kept) == len(ROWS) - 4


def test_rule_sql_rewrites():
    assert D.to_duckdb_sql("updated_at < current_timestamp() - make_interval(0, 0, 0, 1825)") == \
        "updated_at < CAST(current_localtimestamp() AS TIMESTAMP) - (INTERVAL (1825) DAY)"
    assert D.to_duckdb_sql("birth_date > current_date()") == "birth_date > current_date"
