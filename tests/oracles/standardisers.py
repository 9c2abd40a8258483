"""Test oracles: the rules of :mod:`lakehouse.silver.standardise` as plain Python.

Each ``py_*`` function is straightforward Python (``unicodedata``, :mod:`lakehouse.reference.text`,
``re``, ``datetime``, dicts) and must agree with its native Spark standardiser field for field; the
tests check that (``tests/spark/silver/test_oracle_agreement.py``, one Spark job for all of them)
and check properties of the rules on the oracles alone, without a JVM, with hundreds of
hypothesis examples (``tests/unit/silver/test_oracles.py``).

The same functions, wrapped as Python UDFs, are the baseline of ``benchmarks/udf_baseline.py``
(never use them on the data path: docs/design.md, no Python UDFs on hot paths). Formerly the first
half of ``lakehouse/silver/udf_baseline.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S
from lakehouse.silver.standardise.address import (
    _PROVINCE_ALIASES,
    _UNIT_TYPES,
    _address_rules as java_address_rules,
)
from lakehouse.silver.standardise.dates import _DATE_RULES
from lakehouse.silver.standardise.demographics import _SEX_WORDS, _ethnic_table
from lakehouse.silver.standardise.names import _name_alternation
from lakehouse.silver.standardise.phone import _phone_tables
from lakehouse.silver.standardise.text import _mojibake_tables

__all__ = ["ORACLES", "py_address", "py_cccd", "py_cmnd", "py_ethnicity", "py_insurance_number", "py_name",
           "py_parse_date", "py_phone", "py_sex", "py_tax_code"]


#: Java's regex classes \s and \d (and \S, \D) are ASCII-only, Python's are Unicode: every oracle regex
#: that mirrors a Java one with those classes uses this flag (e.g. NBSP, U+2028 and fullwidth digits are
#: neither spaces nor digits to the native rules). Spark's trim() removes ' ' only: strip(" ").
_J = re.ASCII


def _py_rx(java_rx: str) -> re.Pattern[str]:
    """Java's ``\\x{HHHH}`` escapes -> Python regex."""
    return re.compile(re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: re.escape(chr(int(m.group(1), 16))), java_rx))


_TELLTALE = _py_rx(_mojibake_tables()[2])
_MARKS = re.compile("[\u0300-\u036f]")


def _fix_moji(s: str) -> str:
    for _ in range(2):
        if _TELLTALE.search(s):
            s = text.fix_mojibake(s) if text.fix_mojibake(s) != s else s
    return s


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", text.strip_diacritics(s).upper(), flags=_J).strip(" ")


def _clean(s: str) -> str | None:
    """mojibake repair -> NFC -> whitespace collapsed and trimmed (empty -> None)."""
    s = re.sub(r"[\s\u00a0]+", " ", text.nfc(_fix_moji(s)), flags=_J).strip(" ")
    return s or None


# --------------------------------------------------------------------------- names

@lru_cache(maxsize=None)
def _order_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    sur, mid = _name_alternation("surname"), _name_alternation("middle")
    return (re.compile(f"^(?!{sur} )\\S+( \\S+)* {sur}$", _J),
            re.compile(f"^(?!{mid} )\\S+ {mid}( \\S+)* \\S+$", _J))


def py_name(s: str | None) -> tuple:
    """(name, name_folded, order_swapped, mojibake_repaired, was_decomposed, old_tone,
    no_diacritics), same rules as ``standardise_name``."""
    if s is None:
        return (None, None, False, False, False, False, False)
    moji, decomposed = bool(_TELLTALE.search(s)), bool(_MARKS.search(s))
    s = _clean(s)
    if s is None:
        return (None, None, False, moji, decomposed, False, False)
    title = " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))
    s = text.to_new_tone(title)
    old_tone = s != title
    swap, given_first = _order_patterns()
    swapped = bool(swap.match(s))
    if swapped and given_first.match(s):
        s = re.sub(r"^(\S+)((?: \S+)*?) (\S+)$", r"\3\2 \1", s, flags=_J)
    elif swapped:
        s = re.sub(r"^(.*) (\S+)$", r"\2 \1", s, flags=_J)
    return (s, _fold(s) or None, swapped, moji, decomposed, old_tone, s.isascii())


# --------------------------------------------------------------------------- dates

def py_parse_date(s: str | dt.date | None, today: dt.date | None = None):
    """(date, precision, flag), same rules as ``parse_date``."""
    if s is None:
        return (None, None, None)
    if isinstance(s, dt.date):
        s = s.isoformat()
    today = today or dt.date.today()
    v = re.sub(r"\s+", " ", text.strip_diacritics(text.nfc(s).replace(",", " ")).upper(), flags=_J).strip(" ")
    if not v:
        return (None, None, None)
    for pattern, repl in _DATE_RULES:
        v = re.sub(pattern, repl.replace("$", "\\"), v, flags=_J)
    m = re.fullmatch(r"(\d{2,4})-(\d{1,2})-(\d{1,2})", v, _J)
    if not m:
        return (None, None, "unparsed")
    ys, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
    y = int(ys)
    if len(ys) == 2:
        y = y + 1900 if y > today.year % 100 else y + 2000
    elif len(ys) != 4:
        return (None, None, "impossible")
    swapped = mo > 12 and 1 <= d <= 12
    if swapped:
        mo, d = d, mo
    if not 1800 <= y <= 2200:
        return (None, None, "impossible")
    if mo == 0 and d == 0:
        return (dt.date(y, 1, 1), "year", "year_only")
    if d == 0 and 1 <= mo <= 12:
        return (dt.date(y, mo, 1), "month", "day_month_swapped" if swapped else None)
    try:
        date = dt.date(y, mo, d)
    except ValueError:
        return (None, None, "impossible")
    if mo == 1 and d == 1:
        return (date, "year", "possible_year_only")
    return (date, "day", "day_month_swapped" if swapped else None)


# --------------------------------------------------------------------------- CCCD / CMND

def _id_digits(s) -> str | None:
    if s is None:
        return None
    s = re.sub(r"^\s*(\d+)\.0+\s*$", r"\1", str(s), flags=_J)
    s = re.sub(r"[\s.\-_\u00a0]", "", s, flags=_J)
    return s or None


def _cccd_structure(v: str) -> tuple[bool, bool, int | None]:
    g = int(v[3])
    return v[:3] in S.GSO_PROVINCE_CODES, g <= 5, 1900 + (g // 2) * 100 + int(v[4:6])


def py_cccd(s, birth_date: dt.date | None = None, is_female: bool | None = None):
    """(cccd, valid, reason, lost_leading_zero, province_code, is_female, birth_year), same rules
    as ``standardise_cccd``."""
    v = _id_digits(s)
    if v is None:
        return (None, False, "missing", None, None, None, None)
    if not v.isdigit() or not v.isascii():
        return (None, False, "not_digits", False, None, None, None)
    lost = len(v) == 11
    if len(v) == 9:
        return (None, False, "cmnd", False, None, None, None)
    if lost:
        v = "0" + v
    if len(v) != 12:
        return (None, False, "bad_length", False, None, None, None)
    prov_ok, g_ok, year = _cccd_structure(v)
    female = int(v[3]) % 2 == 1
    reason = None
    if not prov_ok:
        reason = "bad_province"
    elif not g_ok:
        reason = "bad_century"
    elif birth_date is not None and birth_date.year != year:
        reason = "birth_year_mismatch"
    elif is_female is not None and is_female != female:
        reason = "sex_mismatch"
    return (v, reason is None, reason, lost, v[:3] if prov_ok else None, female if g_ok else None,
            year if g_ok else None)


def py_cmnd(s):
    """(cmnd, valid, kind, reason), same rules as ``standardise_cmnd``."""
    v = _id_digits(s)
    if v is None:
        return (None, False, None, "missing")
    if not v.isdigit() or not v.isascii():
        return (None, False, None, "not_digits")
    if len(v) == 8:
        v = "0" + v
    if len(v) not in (9, 12):
        return (None, False, None, "bad_length")
    return (v, True, "cmnd12" if len(v) == 12 else "cmnd9", None)


# --------------------------------------------------------------------------- tax codes

def _mst_ok(code10: str) -> tuple[bool, bool]:
    r = sum(int(c) * w for c, w in zip(code10, S.TAX_WEIGHTS)) % 11
    return r != 0, (10 - r) == int(code10[9])


def py_tax_code(s):
    """(tax_code, kind, valid, reason), same rules as ``standardise_tax_code``."""
    if s is None:
        return (None, None, False, "missing")
    v = re.sub(r"[\s.\u00a0]", "", str(s), flags=_J)
    if not v:
        return (None, None, False, "missing")
    d = v.replace("-", "")
    if re.fullmatch(r"\d{10}", v, _J):
        code, kind = v, "enterprise10"
    elif re.fullmatch(r"\d{9}", v, _J):
        code, kind = "0" + v, "enterprise10"
    elif re.fullmatch(r"\d{10}-?\d{3}", v, _J):
        code, kind = d[:10] + "-" + d[10:], "branch13"
    elif re.fullmatch(r"[1-9]\d{11}", v, _J) or re.fullmatch(r"\d{9}-\d{3}", v, _J):
        code, kind = "0" + d[:9] + "-" + d[9:], "branch13"
    elif re.fullmatch(r"0\d{11}", v, _J):
        code, kind = v, "personal12"
    elif re.fullmatch(r"[1-9]\d{10}", v, _J):
        code, kind = "0" + v, "personal12"
    else:
        return (None, None, False, "bad_format")
    if kind == "personal12":
        prov_ok, g_ok, _ = _cccd_structure(code)
        reason = None if prov_ok and g_ok else ("bad_province" if not prov_ok else "bad_century")
        return (code, kind, reason is None, reason)
    issuable, check_ok = _mst_ok(code[:10])
    reason = None
    if not issuable:
        reason = "unissued_prefix"
    elif not check_ok:
        reason = "bad_check_digit"
    elif kind == "branch13" and code[11:] == "000":
        reason = "bad_branch"
    return (code, kind, reason is None, reason)


# --------------------------------------------------------------------------- insurance

def py_insurance_number(s):
    """(bhxh, kind, card_group, benefit_level, card_province, valid, reason), same rules as
    ``standardise_insurance_number``."""
    v = re.sub(r"[\s.\-_\u00a0]", "", s, flags=_J).upper() if s is not None else ""
    if not v:
        return (None, None, None, None, None, False, "missing")
    m = re.fullmatch(r"([A-Z]{2})([1-5])(\d{2})(\d{10})", v, _J)
    if m:
        return (m.group(4), "health_card15", m.group(1), int(m.group(2)), m.group(3), True, None)
    if re.fullmatch(r"\d{10}", v, _J) or re.fullmatch(r"\d{9}", v, _J):
        return (v.zfill(10), "bhxh10", None, None, None, True, None)
    reason = "bad_benefit_level" if re.fullmatch(r"[A-Z]{2}\d{13}", v, _J) else "bad_format"
    return (None, None, None, None, None, False, reason)


# --------------------------------------------------------------------------- phones

@lru_cache(maxsize=None)
def _phone_maps() -> tuple[dict[str, str], dict[str, str]]:
    carriers, old = _phone_tables()
    return dict(carriers), dict(old)


def py_phone(s):
    """(phone, carrier, kind, valid, converted_from_11, note), same rules as ``standardise_phone``."""
    if s is None:
        return (None, None, None, False, False, None)
    v = re.sub(r"[^0-9+]", "", str(s))
    v = re.sub(r"^(?:\+|00)?84(\d{9,10})$", r"0\1", v)
    v = v.replace("+", "")
    v = re.sub(r"^([1-9]\d{8}|1\d{9})$", r"0\1", v)
    carriers, old = _phone_maps()
    if len(v) == 11 and v.startswith("01") and v[:4] in old:
        p = old[v[:4]] + v[4:]
        return (p, carriers[p[:3]], "mobile", True, True, None)
    if len(v) == 10 and v[:3] in carriers:
        return (v, carriers[v[:3]], "mobile", True, False, "possible_old_landline_028" if v[:2] == "08" else None)
    if len(v) == 10 and v.startswith("04"):
        return ("024" + v[2:], None, "landline", True, False, "landline_04_to_024")
    if len(v) == 11 and v.startswith("02"):
        return (v, None, "landline", True, False, None)
    return (None, None, None, False, False, None)


# --------------------------------------------------------------------------- sex / ethnicity

def py_sex(s, codes: dict[str, str] | None = None) -> str | None:
    """'M' / 'F' / None, same rules as ``standardise_sex``."""
    if s is None:
        return None
    table = {**_SEX_WORDS, **dict(codes if codes is not None else S.DEFAULT_SEX_CODES)}
    key = re.sub(r"^(\d+)\.0+$", r"\1", _fold(_fix_moji(text.nfc(s))), flags=_J)
    return table.get(key)


@lru_cache(maxsize=None)
def _ethnic_map() -> dict[str, str]:
    return dict(_ethnic_table())


def py_ethnicity(s) -> str | None:
    """2-digit GSO ethnicity code or None, same rules as ``standardise_ethnicity``."""
    if s is None:
        return None
    s = text.nfc(_fix_moji(s)).strip(" ")
    m = re.fullmatch(r"0*(\d{1,2})(?:\.0+)?", s, _J)
    if m and "01" <= m.group(1).zfill(2) <= "54":
        return m.group(1).zfill(2)
    key = re.sub(r"[^A-Z0-9]", "", re.sub(r"^(DAN TOC|DT)\s*", "", _fold(s), flags=_J))
    return _ethnic_map().get(key)


# --------------------------------------------------------------------------- addresses

def _py_address_rx(java_rx: str) -> re.Pattern[str]:
    """The Java regexes of ``expand_address_abbreviations`` in Python ``re`` syntax."""
    rx = java_rx.replace(r"(?<![\p{L}\p{M}\d])", r"(?<![^\W_])(?<![\u0300-\u036f])")
    rx = rx.replace(r"(?![\p{L}\d])", r"(?![^\W_])")
    flags = re.IGNORECASE if rx.startswith("(?i)") else 0
    return re.compile(rx.removeprefix("(?i)"), flags)


@lru_cache(maxsize=None)
def _address_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((_py_address_rx(p), r.replace("$1", r"\1")) for p, r in java_address_rules())


def _py_expand(s: str | None) -> str | None:
    s = _clean(s) if s is not None else None
    if s is None:
        return None
    for rx, repl in _address_rules():
        s = rx.sub(repl, s)
    return s


def _py_unit_key(s: str | None) -> str | None:
    s = _py_expand(s)
    if s is None:
        return None
    k = re.sub(r"[^A-Z0-9 ]", " ", _fold(s))
    k = re.sub(_UNIT_TYPES, "", re.sub(r"\s+", " ", k, flags=_J).strip(" "))
    k = re.sub(r"(?<![0-9])0+(?=[0-9])", "", k).strip()
    return k or None


@lru_cache(maxsize=None)
def _address_tables():
    p_map = reference.province_old_to_new()
    wmap: dict[str, set[str]] = {}
    for r in reference.ward_old_to_new():
        wmap.setdefault(r["old_ward_code"], set()).add(r["new_ward_code"])
    old_prov: dict[str, tuple[str, str]] = {}
    old_wards: dict[tuple[str, str], list[tuple[str, str | None, list[str]]]] = {}
    for u in reference.old_units():
        old_prov.setdefault(_py_unit_key(u["province_name"]), (u["province_code"], p_map[u["province_code"]]))
        wk = _py_unit_key(u["ward_name"] or None)
        if wk is not None:
            old_wards.setdefault((u["province_code"], wk), []).append(
                (u["ward_code"], _py_unit_key(u["district_name"]), sorted(wmap.get(u["ward_code"], ()))))
    for k, c in _PROVINCE_ALIASES.items():
        old_prov.setdefault(k, (c, p_map[c]))
    new_prov: dict[str, str] = {}
    new_wards: dict[tuple[str, str], set[str]] = {}
    names: dict[str, str] = {}
    for u in reference.new_units():
        new_prov.setdefault(_py_unit_key(u["province_name"]), u["province_code"])
        new_wards.setdefault((u["province_code"], _py_unit_key(u["ward_name"])), set()).add(u["ward_code"])
        names[u["ward_code"]] = u["ward_name"]
    return old_prov, old_wards, new_prov, {k: sorted(v) for k, v in new_wards.items()}, names


def _py_split_address(address: str | None) -> tuple[str | None, str | None, str | None]:
    s = _py_expand(address)
    if s is None:
        return None, None, None
    parts = [p.strip(" ") for p in s.split(",")]
    n = len(parts)
    head = parts[:max(n - 1, 1)]
    province = parts[-1] if n >= 2 else None
    district = next((p for p in reversed(head) if re.match(r"(?i)(Quận|Huyện|Thị xã|Thành phố) ", p)), None)
    ward = next((p for p in reversed(head) if re.match(r"(?i)(Phường|Xã|Thị trấn|Đặc khu) ", p)), None)
    if ward is None:
        ward = parts[-3] if district is not None and n >= 3 else parts[-2] if district is None and n >= 2 else None
    return ward, district, province


def py_address(address: str | None) -> tuple:
    """(old_province_code, old_ward_code, new_province_code, new_ward_codes, new_ward_code,
    new_ward_name, level, flag) of a free-text address, same rules as ``standardise_address``
    (dict lookups instead of broadcast joins)."""
    old_prov, old_wards, new_prov, new_wards, names = _address_tables()
    w, d, p = _py_split_address(address)
    wk, dk, pk = _py_unit_key(w), _py_unit_key(d), _py_unit_key(p)
    opc, npc_old = old_prov.get(pk, (None, None)) if pk else (None, None)
    npc = new_prov.get(pk) if pk else None
    oc = old_wards.get((opc, wk), []) if opc and wk else []
    by_district = [c for c in oc if dk is None or c[1] == dk]
    cands = by_district or oc
    nc = new_wards.get((npc, wk), []) if npc and wk else []
    use_new = bool(nc) and (dk is None or not cands)
    use_old = not use_new and bool(cands)
    new_codes = nc if use_new else sorted({x for c in cands for x in c[2]}) if use_old else None
    new_prov_code = npc if use_new else (npc_old or npc)
    level = "new2" if use_new else "old3" if use_old and dk is not None else "old2" if use_old else None
    flag = ("province_not_found" if new_prov_code is None else
            "ward_not_found" if not use_new and not use_old else
            "ward_ambiguous" if (use_old and len(cands) > 1) or (use_new and len(nc) > 1) else
            "ward_split" if len(new_codes) > 1 else
            "ward_unmapped" if not new_codes else None)
    one = new_codes[0] if new_codes is not None and len(new_codes) == 1 else None
    return (opc, cands[0][0] if use_old and len(cands) == 1 else None, new_prov_code, new_codes, one,
            names.get(one) if one else None, level, flag)


#: rule -> oracle of one raw value (defaults for the optional arguments), the rules of
#: ``benchmarks.udf_baseline.RULES``.
ORACLES = {
    "name": py_name, "date": py_parse_date, "cccd": py_cccd, "cmnd": py_cmnd, "tax_code": py_tax_code,
    "insurance": py_insurance_number, "phone": py_phone, "sex": py_sex, "ethnicity": py_ethnicity,
    "address": py_address,
}
