"""Tests for lakehouse.reference (pure Python, no Spark)."""

from __future__ import annotations

import csv
import os
import unicodedata
from collections import Counter

import pytest

from lakehouse import reference as ref
from lakehouse.reference import text as vt

# --------------------------------------------------------------------------- data files


def test_data_files_exist_small_nfc_with_header() -> None:
    for name in ref.DATA_FILES:
        path = ref.data_path(name)
        assert os.path.getsize(path) < 2 * 1024 * 1024, name
        with open(path, encoding="utf-8", newline="") as fh:
            content = fh.read()
        assert unicodedata.normalize("NFC", content) == content, name
        header = next(csv.reader(content.splitlines()))
        assert all(h and h == h.strip() for h in header), name
    assert os.path.isfile(ref.data_path("SOURCES.md"))


def test_data_path_unknown() -> None:
    with pytest.raises(FileNotFoundError):
        ref.data_path("nope.csv")


def test_old_units_counts() -> None:
    rows = ref.old_units()
    assert len({r["province_code"] for r in rows}) == 63
    assert len({r["district_code"] for r in rows}) == 696
    wards = [r for r in rows if r["ward_code"]]
    assert len(wards) == 10051
    assert len({r["ward_code"] for r in wards}) == len(wards)
    no_ward = {r["district_name"] for r in rows if not r["ward_code"]}
    assert no_ward == {"Huyện Bạch Long Vĩ", "Huyện Cồn Cỏ", "Huyện Hoàng Sa", "Huyện Lý Sơn", "Huyện Côn Đảo"}
    first = rows[0]
    assert first == {
        "province_code": "01", "province_name": "Thành phố Hà Nội",
        "district_code": "001", "district_name": "Quận Ba Đình",
        "ward_code": "00001", "ward_name": "Phường Phúc Xá",
    }
    for r in rows:
        assert len(r["province_code"]) == 2 and len(r["district_code"]) == 3
        assert r["ward_code"] == r["ward_name"] == "" or len(r["ward_code"]) == 5 and r["ward_code"].isdigit()


def test_old_province_codes_match_cccd_list() -> None:
    cccd = ("001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
            "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 "
            "072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096").split()
    assert {r["province_code"] for r in ref.old_units()} == {c[1:] for c in cccd}


def test_new_units_counts() -> None:
    rows = ref.new_units()
    assert len({r["province_code"] for r in rows}) == 34
    assert len(rows) == 3321
    prefixes = Counter(r["ward_name"].split(" ")[0] + (" khu" if r["ward_name"].startswith("Đặc khu") else "")
                       for r in rows)
    assert prefixes == {"Xã": 2621, "Phường": 687, "Đặc khu": 13}


def test_province_mapping() -> None:
    mapping = ref.province_old_to_new()
    assert len(mapping) == 63
    assert set(mapping) == {r["province_code"] for r in ref.old_units()}
    assert set(mapping.values()) == {r["province_code"] for r in ref.new_units()}
    assert mapping["01"] == "01" and mapping["74"] == "79" and mapping["77"] == "79"
    assert mapping["02"] == "08" and mapping["93"] == "92"


def test_ward_mapping_consistent() -> None:
    pairs = ref.ward_old_to_new()
    old = {r["ward_code"]: r["province_code"] for r in ref.old_units()}
    new = {r["ward_code"]: r["province_code"] for r in ref.new_units()}
    prov = ref.province_old_to_new()
    per_old = Counter(p["old_ward_code"] for p in pairs)
    assert sum(1 for n in per_old.values() if n > 1) == 441  # docs/domain.md#ward-mapping-and-split-wards: 441 split wards
    assert len(set(per_old) & set(old)) >= 10000
    for p in pairs:
        assert p["new_ward_code"] in new
        if p["old_ward_code"] in old:
            assert prov[old[p["old_ward_code"]]] == new[p["new_ward_code"]]


def test_tax_and_mobile() -> None:
    tax = ref.tax_office_prefix()
    assert set(tax) == set(ref.province_old_to_new())
    assert (tax["01"], tax["79"], tax["31"], tax["48"]) == ("01", "03", "02", "04")
    mobile = {r["prefix"]: r for r in ref.mobile_prefixes()}
    assert mobile["032"]["old_prefix"] == "0162" and mobile["032"]["carrier"] == "Viettel"
    assert mobile["079"]["old_prefix"] == "0121" and mobile["059"]["carrier"] == "Gmobile"
    assert all(len(p) == 3 for p in mobile)


def test_code_lists() -> None:
    vsic = ref.vsic_sections()
    assert [r["code"] for r in vsic] == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    eth = ref.ethnicities()
    assert [r["code"] for r in eth] == [f"{i:02d}" for i in range(1, 55)]
    assert eth[0]["name"] == "Kinh" and 84 < eth[0]["weight"] < 87
    for rows in (vsic, eth):
        assert all(isinstance(r["weight"], float) and r["weight"] > 0 for r in rows)


# --------------------------------------------------------------------------- names


def _all_names() -> list[dict[str, str | float]]:
    return (ref.surnames() + ref.middle_names("M") + ref.middle_names("F")
            + ref.given_names("M") + ref.given_names("F"))


def test_name_pools() -> None:
    surnames = {r["name"]: r["weight"] for r in ref.surnames()}
    assert len(surnames) >= 50 and 35 < surnames["Nguyễn"] < 40
    assert 15 <= len(ref.middle_names("M")) and 15 <= len(ref.middle_names("F"))
    assert len(ref.given_names("M")) >= 120 and len(ref.given_names("F")) >= 120
    assert {"Hòa", "Thủy", "Thúy", "Khoa", "Hoàng", "Toàn", "Uyên", "Khuê", "Quỳnh"} <= {
        r["name"] for r in ref.given_names("M") + ref.given_names("F")}
    with pytest.raises(ValueError):
        ref.given_names("X")


def test_names_weights_nfc_new_tone_cp1258() -> None:
    for r in _all_names():
        name = r["name"]
        assert isinstance(r["weight"], float) and r["weight"] > 0, r
        assert name == vt.nfc(name) and name.strip() == name
        assert vt.to_new_tone(name) == name, name
        vt.to_windows1258_form(name).encode("cp1258")
        assert vt.cp1258_roundtrip(name) == name


def test_unit_names_cp1258() -> None:
    names = {r["ward_name"] for r in ref.new_units()} | {r["ward_name"] for r in ref.old_units()}
    names |= {r["district_name"] for r in ref.old_units()} | {r["province_name"] for r in ref.old_units()}
    for name in names:
        assert vt.cp1258_roundtrip(name) == name, name


# --------------------------------------------------------------------------- text helpers


@pytest.mark.parametrize(("old", "new"), [
    ("hoà", "hòa"), ("Hoà", "Hòa"), ("HOÀ", "HÒA"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"),
    ("Thuý", "Thúy"), ("Nguyễn Thị Hoà", "Nguyễn Thị Hòa"), ("uỷ ban", "ủy ban"),
    ("Tỉnh Thanh Hoá", "Tỉnh Thanh Hóa"),
])
def test_tone_conversion(old: str, new: str) -> None:
    assert vt.to_new_tone(old) == new
    assert vt.to_old_tone(new) == old
    for s in (old, new):
        assert vt.to_new_tone(vt.to_new_tone(s)) == vt.to_new_tone(s)
        assert vt.to_old_tone(vt.to_old_tone(s)) == vt.to_old_tone(s)
    assert vt.to_new_tone(vt.nfd(old)) == new  # NFD input is accepted


@pytest.mark.parametrize("word", ["hoàng", "Toàn", "quý", "Quỳnh", "ngoài", "Khoa", "Uyên", "Khuê", "huỳnh"])
def test_tone_conversion_leaves_other_syllables(word: str) -> None:
    assert vt.to_new_tone(word) == word
    assert vt.to_old_tone(word) == word


def test_tone_pairs() -> None:
    assert ("oà", "òa") in vt.TONE_STYLE_PAIRS and ("uỷ", "ủy") in vt.TONE_STYLE_PAIRS
    assert len(vt.TONE_STYLE_PAIRS) == 15


def test_strip_diacritics_and_normal_forms() -> None:
    assert vt.strip_diacritics("Đặng Thị Hoà") == "Dang Thi Hoa"
    assert vt.strip_diacritics("NGUYỄN ĐỨC") == "NGUYEN DUC"
    s = "Nguyễn Thị Hoà"
    assert len(vt.nfc(s)) == 14 and len(vt.nfd(s)) == 18
    assert vt.nfc(vt.nfd(s)) == s


def test_windows1258() -> None:
    s = "Nguyễn Thị Hoà"
    w = vt.to_windows1258_form(s)
    assert w != s and "ê\u0303" in w and "i\u0323" in w  # ễ and ị are not in cp1258
    assert "à" in w  # à is in cp1258 and stays precomposed
    assert w.encode("cp1258").decode("cp1258") == w
    assert vt.cp1258_roundtrip(s) == s
    assert vt.cp1258_roundtrip(vt.nfd(s)) == s


def test_mojibake() -> None:
    assert vt.mojibake("Nguyễn") == "Nguyá»…n"
    for s in ("Nguyễn Thị Hoà", "Đặng Ngọc Ánh", "Phường Phúc Xá"):
        m = vt.mojibake(s)
        assert m != s and vt.fix_mojibake(m) == s
    assert vt.fix_mojibake("Nguyễn") == "Nguyễn"
