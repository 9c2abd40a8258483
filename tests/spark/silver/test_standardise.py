"""Silver standardisers on Spark: real Vietnamese examples, the text primitives, addresses and
plan sizes.

The properties of the rules (idempotence, faults undone, invariants) run without a JVM on the
pure-Python oracles with hundreds of examples (tests/unit/silver/test_oracles.py); the native
columns agree with those oracles on a fixed value set, in one Spark job
(tests/spark/silver/test_oracle_agreement.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S
from lakehouse.silver.standardise.text import _vi_letters
from tests.oracles.standardisers import py_cccd


def _run(spark, values, fn, schema="s string"):
    df = spark.createDataFrame([(v,) for v in values], schema)
    return [r.o for r in df.select(fn(F.col("s")).alias("o")).collect()]


# --------------------------------------------------------------------------- reference names

SURNAMES = [str(r["name"]) for r in reference.surnames()]
MIDDLES = [str(r["name"]) for r in reference.middle_names("M") + reference.middle_names("F")]
GIVENS = [str(r["name"]) for r in reference.given_names("M") + reference.given_names("F")]


# --------------------------------------------------------------------------- text primitives

def test_mojibake_repair_round_trips_every_real_name(spark):
    tokens = sorted(set(SURNAMES + MIDDLES + GIVENS + ["Đỗ Ý Thiều", "Ánh Ngọc Thọ", "Ố Ờ Ỏ Í Ý"]))
    out = _run(spark, [text.mojibake(t) for t in tokens], S.repair_mojibake)
    assert out == [text.nfc(t) for t in tokens]
    # clean Vietnamese text and plain ASCII are left alone
    assert _run(spark, ["Nguyễn Thị Hòa", "Ã NGÃ", "Nguyen", None], S.repair_mojibake) == \
        ["Nguyễn Thị Hòa", "Ã NGÃ", "Nguyen", None]


def test_nfc_composes_nfd_and_windows1258_forms(spark):
    letters = [ch for ch in _vi_letters()]
    word = "".join(letters)
    out = _run(spark, [text.nfd(word), text.to_windows1258_form(word), word], S.nfc)
    assert out == [word, word, word]


def test_fold_matches_python_strip_diacritics(spark):
    names = ["Đặng Thị Hoà", "Nguyễn  Văn Ưng", "ĐỖ Ý", text.nfd("Trần Thị Thủy")]
    assert _run(spark, names, S.fold) == [" ".join(text.strip_diacritics(n).upper().split()) for n in names]


# --------------------------------------------------------------------------- names

def test_standardise_name_examples(spark):
    cases = {
        "Nguyễn Thị Hoà": ("Nguyễn Thị Hòa", "NGUYEN THI HOA", False),
        text.mojibake("Nguyễn Văn Thuý"): ("Nguyễn Văn Thúy", "NGUYEN VAN THUY", False),
        text.nfd("Trần Thị Thuỷ"): ("Trần Thị Thủy", "TRAN THI THUY", False),
        text.to_windows1258_form("Lê Thị Khoẻ"): ("Lê Thị Khỏe", "LE THI KHOE", False),
        "  ĐẶNG   thị  HOÀ ": ("Đặng Thị Hòa", "DANG THI HOA", False),
        "Hòa Thị Nguyễn": ("Nguyễn Thị Hòa", "NGUYEN THI HOA", True),
        "Thi Hoa Nguyen": ("Nguyen Thi Hoa", "NGUYEN THI HOA", True),
        "Hoàng Văn Quý": ("Hoàng Văn Quý", "HOANG VAN QUY", False),
        "Nguyễn Thị Mai": ("Nguyễn Thị Mai", "NGUYEN THI MAI", False),
    }
    out = _run(spark, list(cases), S.standardise_name)
    assert [(o.name, o.name_folded, o.order_swapped) for o in out] == list(cases.values())
    assert out[1].mojibake_repaired and out[2].was_decomposed and out[0].old_tone
    assert not out[7].old_tone and out[6].no_diacritics
    assert _run(spark, [None, "   "], lambda c: S.standardise_name(c)["name"]) == [None, None]


# --------------------------------------------------------------------------- dates

def test_parse_date_examples(spark):
    cases = {
        "05/03/1990": (dt.date(1990, 3, 5), "day", None),
        "5/3/90": (dt.date(1990, 3, 5), "day", None),
        "5/3/05": (dt.date(2005, 3, 5), "day", None),
        "1990-03-05": (dt.date(1990, 3, 5), "day", None),
        "05-03-1990": (dt.date(1990, 3, 5), "day", None),
        "1990": (dt.date(1990, 1, 1), "year", "year_only"),
        "ngày 5 tháng 3 năm 1990": (dt.date(1990, 3, 5), "day", None),
        "Ngay 5 thang 3 nam 1990": (dt.date(1990, 3, 5), "day", None),
        "00/00/1985": (dt.date(1985, 1, 1), "year", "year_only"),
        "01/01/1985": (dt.date(1985, 1, 1), "year", "possible_year_only"),
        "31/02/2020": (None, None, "impossible"),
        "03/25/1990": (dt.date(1990, 3, 25), "day", "day_month_swapped"),
        "29/02/2000": (dt.date(2000, 2, 29), "day", None),
        "29/02/1900": (None, None, "impossible"),
        "00/07/1970": (dt.date(1970, 7, 1), "month", None),
        "không rõ": (None, None, "unparsed"),
        None: (None, None, None),
    }
    assert [tuple(o) for o in _run(spark, list(cases), S.parse_date)] == list(cases.values())


def test_parse_date_never_raises_with_ansi_on(spark):
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        out = _run(spark, ["31/02/2020", "99/99/9999", "2020-13-45", "0/0/0", "ngày 40 tháng 2 năm 2020", ""],
                   S.parse_date)
        assert [o.date for o in out] == [None] * 6
        phones = _run(spark, ["x", "0123"], lambda c: S.standardise_phone(c)["valid"])
        assert phones == [False, False]
    finally:
        spark.conf.set("spark.sql.ansi.enabled", "false")


# --------------------------------------------------------------------------- CCCD / CMND

def test_standardise_cccd_examples(spark):
    rows = [("079190001234", dt.date(1990, 5, 1), True), ("79190001234", None, None),
            ("079 190 001 234", dt.date(1990, 5, 1), False), ("001.305.001.234", dt.date(2005, 1, 1), True),
            ("123456789", None, None), ("003190001234", None, None), ("079790001234", None, None),
            ("079190001234", dt.date(1991, 1, 1), None), ("07919000123x", None, None)]
    df = spark.createDataFrame(rows, "s string, b date, f boolean")
    out = [r.o for r in df.select(S.standardise_cccd("s", "b", "f").alias("o")).collect()]
    assert [(o.cccd, o.valid, o.reason) for o in out] == [
        ("079190001234", True, None), ("079190001234", True, None), ("079190001234", False, "sex_mismatch"),
        ("001305001234", True, None), (None, False, "cmnd"), ("003190001234", False, "bad_province"),
        ("079790001234", False, "bad_century"), ("079190001234", False, "birth_year_mismatch"),
        (None, False, "not_digits")]
    assert out[1].lost_leading_zero and out[0].birth_year == 1990 and out[3].birth_year == 2005


def test_cccd_with_birth_date_and_sex_matches_python_rules(spark):
    rows = [("079190001234", dt.date(1990, 5, 1), True), ("079190001234", dt.date(1991, 5, 1), None),
            ("079190001234", None, False), ("001305001234", dt.date(2005, 1, 1), True), (None, None, None),
            ("", None, None), ("12-3", None, None), ("079790001234", dt.date(1990, 5, 1), True)]
    df = spark.createDataFrame(rows, "s string, b date, f boolean")
    out = df.select("s", "b", "f", S.standardise_cccd("s", "b", "f").alias("o")).collect()
    assert [tuple(r.o) for r in out] == [py_cccd(r.s, r.b, r.f) for r in out]


def test_standardise_cmnd(spark):
    out = _run(spark, ["123456789", "12345678", "012 345 678", "079190001234", "12-34", None], S.standardise_cmnd)
    assert [(o.cmnd, o.valid, o.kind) for o in out] == [
        ("123456789", True, "cmnd9"), ("012345678", True, "cmnd9"), ("012345678", True, "cmnd9"),
        ("079190001234", True, "cmnd12"), (None, False, None), (None, False, None)]


# --------------------------------------------------------------------------- tax codes

KNOWN_VALID = ["0100109106", "0300588569", "0101248141", "0100684378", "0100112437", "0100107518"]


def test_standardise_tax_code_examples(spark):
    values = KNOWN_VALID + ["0101248141-001", "0101248141001", "100109106", "0100109107", "0100109106-000",
                            "079190001234", "003190001234", "01 00 109 106", "abc"]
    out = _run(spark, values, S.standardise_tax_code)
    assert all(o.valid and o.kind == "enterprise10" for o in out[:6])
    assert [(o.tax_code, o.kind, o.valid, o.reason) for o in out[6:]] == [
        ("0101248141-001", "branch13", True, None), ("0101248141-001", "branch13", True, None),
        ("0100109106", "enterprise10", True, None), ("0100109107", "enterprise10", False, "bad_check_digit"),
        ("0100109106-000", "branch13", False, "bad_branch"), ("079190001234", "personal12", True, None),
        ("003190001234", "personal12", False, "bad_province"), ("0100109106", "enterprise10", True, None),
        (None, None, False, "bad_format")]


def test_tax_code_with_a_trailing_line_separator_is_bad_format(spark):
    # Java's $ also matches before a final line terminator, so the old per-layout regexes accepted
    # "0100109106\u2028" as a valid code (keeping the separator); the digit test now uses \z.
    out = _run(spark, ["0100109106\u2028", "0100109106"], S.standardise_tax_code)
    assert [(o.tax_code, o.reason) for o in out] == [(None, "bad_format"), ("0100109106", None)]


# --------------------------------------------------------------------------- insurance

def test_standardise_insurance_number(spark):
    out = _run(spark, ["DN4790123456789", "ht 3 01 0123456789", "0123456789", "123456789", "DN6790123456789", "x"],
               S.standardise_insurance_number)
    assert [(o.bhxh, o.kind, o.card_group, o.benefit_level, o.card_province, o.valid, o.reason) for o in out] == [
        ("0123456789", "health_card15", "DN", 4, "79", True, None),
        ("0123456789", "health_card15", "HT", 3, "01", True, None),
        ("0123456789", "bhxh10", None, None, None, True, None),
        ("0123456789", "bhxh10", None, None, None, True, None),
        (None, None, None, None, None, False, "bad_benefit_level"),
        (None, None, None, None, None, False, "bad_format")]


# --------------------------------------------------------------------------- phones

def test_standardise_phone_examples(spark):
    cases = {
        "0912345678": ("0912345678", "VinaPhone", True, False),
        "+84 912 345 678": ("0912345678", "VinaPhone", True, False),
        "84912345678": ("0912345678", "VinaPhone", True, False),
        "01662345678": ("0362345678", "Viettel", True, True),
        "0121.234.5678": ("0792345678", "MobiFone", True, True),
        "+84 199 234 5678": ("0592345678", "Gmobile", True, True),
        "0871234567": ("0871234567", "uncertain", True, False),
        "04 3826 1234": ("02438261234", None, True, False),
        "12345": (None, None, False, False),
    }
    out = _run(spark, list(cases), S.standardise_phone)
    assert [(o.phone, o.carrier, o.valid, o.converted_from_11) for o in out] == list(cases.values())
    assert out[7].kind == "landline" and out[7].note == "landline_04_to_024"


# --------------------------------------------------------------------------- sex / ethnicity

def test_standardise_sex(spark):
    values = ["Nam", "Nữ", "nu", "NỮ", "1", "2", "0", "M", "f", "female", "Male", None, "?"]
    assert _run(spark, values, S.standardise_sex) == \
        ["M", "F", "F", "F", "M", "F", None, "M", "F", "F", "M", None, None]
    assert _run(spark, ["1", "0", "2"], lambda c: S.standardise_sex(c, {"1": "M", "0": "F"})) == ["M", "F", None]


def test_standardise_ethnicity(spark):
    values = ["Kinh", "KINH", "1", "01", "Ê Đê", "Ê-đê", "H'Mông", "Hmong", "Muong", "Dân tộc Tày", "54", "99", "?"]
    assert _run(spark, values, S.standardise_ethnicity) == \
        ["01", "01", "01", "01", "12", "12", "08", "08", "06", "02", "54", None, None]


# --------------------------------------------------------------------------- addresses

def test_expand_address_abbreviations(spark):
    values = ["TP.HCM", "TPHCM", "Sài Gòn", "HCM", "P. Bến Nghé, Q.1, TP.HCM", "F.1, Q3", "TX. Sơn Tây",
              "TT. Phùng, H. Đan Phượng, TP. Hà Nội", "X. Tân Lập"]
    assert _run(spark, values, S.expand_address_abbreviations) == [
        "Thành phố Hồ Chí Minh"] * 4 + [
        "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh", "Phường 1, Quận 3", "Thị xã Sơn Tây",
        "Thị trấn Phùng, Huyện Đan Phượng, Thành phố Hà Nội", "Xã Tân Lập"]


def test_standardise_address_old_new_split_and_ambiguous(spark):
    df = spark.createDataFrame([
        ("free", "12 Lê Lợi, P. Bến Nghé, Q.1, TP.HCM", None, None, None),
        ("old3", None, "Phường Phúc Xá", "Quận Ba Đình", "Thành phố Hà Nội"),
        ("num", None, "P.01", "Q.3", "Sài Gòn"),
        ("ambig", None, "Phường 1", None, "Hồ Chí Minh"),
        ("new2", None, "Phường Ba Đình", None, "Thành phố Hà Nội"),
        ("split", None, "Phuong Cong Vi", "Quan Ba Dinh", "Ha Noi"),
        ("noward", None, "Xyz", "Quận Ba Đình", "Hà Nội"),
        ("noprov", None, "Phường Xyz", None, "Atlantis"),
    ], "id string, address string, ward string, district string, province string")
    free = S.standardise_address(df.where("address is not null"), address="address").collect()
    split = S.standardise_address(df.where("address is null"), ward="ward", district="district",
                                  province="province").collect()
    got = {r.id: r for r in free + split}
    assert len(got) == 8
    assert (got["free"].addr_new_province_code, got["free"].addr_new_ward_code, got["free"].addr_level) == \
        ("79", "26740", "old3")
    assert (got["old3"].addr_old_ward_code, got["old3"].addr_new_ward_code, got["old3"].addr_flag) == \
        ("00001", "00097", None)
    assert got["num"].addr_old_ward_code == "27160" and got["num"].addr_new_ward_name == "Phường Bàn Cờ"
    assert got["ambig"].addr_flag == "ward_ambiguous" and len(got["ambig"].addr_new_ward_codes) > 1
    assert got["ambig"].addr_new_ward_code is None
    assert (got["new2"].addr_level, got["new2"].addr_new_ward_code) == ("new2", "00004")
    assert got["split"].addr_flag == "ward_split" and got["split"].addr_new_ward_codes == ["00008", "00025"]
    assert got["split"].addr_new_ward_code is None
    assert (got["noward"].addr_flag, got["noward"].addr_new_province_code) == ("ward_not_found", "01")
    assert got["noprov"].addr_flag == "province_not_found"


def test_admin_units_frame_covers_reference(spark):
    ref = S.admin_units_frame(spark)
    assert ref.count() == len(reference.old_units())
    counts: dict[str, set] = {}
    for r in reference.ward_old_to_new():
        counts.setdefault(r["old_ward_code"], set()).add(r["new_ward_code"])
    old_codes = {u["ward_code"] for u in reference.old_units()}
    expected = sum(1 for k, v in counts.items() if len(v) > 1 and k in old_codes)  # 441 in the mapping
    assert ref.where(F.size("new_ward_codes") > 1).count() == expected
    assert ref.where(F.col("ward_key").isNull() & F.col("old_ward_code").isNotNull()).count() == 0


# --------------------------------------------------------------------------- plan size

@pytest.mark.parametrize("fn", [S.standardise_name, S.parse_date, S.standardise_cccd, S.standardise_cmnd,
                                S.standardise_tax_code, S.standardise_insurance_number, S.standardise_phone,
                                S.standardise_sex, S.standardise_ethnicity, S.expand_address_abbreviations,
                                S.unit_key], ids=lambda f: f.__name__)
def test_expression_trees_stay_small(spark, fn):
    # Every use of an unbound intermediate value copies its subtree; nested CASE WHENs multiply the
    # copies (an inlined standardise_name once had 730k leaves and took minutes to plan).
    df = spark.createDataFrame([("x",)], "s string").select(fn(F.col("s")).alias("o"))
    leaves = df._jdf.queryExecution().analyzed().expressions().apply(0).collectLeaves().size()
    assert leaves < 2500, leaves


