"""The same standardisation rules as :mod:`lakehouse.silver.standardise`, as plain Python (and
Python UDFs), for two purposes only:

* a test oracle: the ``py_*`` functions are straightforward Python (``unicodedata``,
  :mod:`lakehouse.reference.text`, ``re``, ``datetime``, dicts) and must agree with the native
  columns, field for field;
* the benchmark baseline: :func:`compare` times the native standardisers against these rules
  wrapped as row-at-a-time Python UDFs that return the SAME output fields.

Never use the UDFs on the data path (DESIGN.md: no Python UDFs on hot paths).

Run the benchmark with ``python -m lakehouse.silver.udf_baseline [n_rows] [repeats]``.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import statistics
import time
from functools import lru_cache
from typing import Callable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S

__all__ = ["RULES", "compare", "print_table", "py_address", "py_cccd", "py_cmnd", "py_ethnicity",
           "py_insurance_number", "py_name", "py_parse_date", "py_phone", "py_sex", "py_tax_code",
           "sample_values", "udfs"]


def _py_rx(java_rx: str) -> re.Pattern[str]:
    """Java's ``\\x{HHHH}`` escapes -> Python regex."""
    return re.compile(re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: re.escape(chr(int(m.group(1), 16))), java_rx))


_TELLTALE = _py_rx(S._mojibake_tables()[2])
_MARKS = re.compile("[\u0300-\u036f]")


def _fix_moji(s: str) -> str:
    for _ in range(2):
        if _TELLTALE.search(s):
            s = text.fix_mojibake(s) if text.fix_mojibake(s) != s else s
    return s


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", text.strip_diacritics(s).upper()).strip()


def _clean(s: str) -> str | None:
    """mojibake repair -> NFC -> whitespace collapsed and trimmed (empty -> None)."""
    s = re.sub(r"[\s\u00a0]+", " ", text.nfc(_fix_moji(s))).strip(" ")
    return s or None


# --------------------------------------------------------------------------- names

@lru_cache(maxsize=None)
def _order_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    sur, mid = S._name_alternation("surname"), S._name_alternation("middle")
    return re.compile(f"^(?!{sur} )\\S+( \\S+)* {sur}$"), re.compile(f"^(?!{mid} )\\S+ {mid}( \\S+)* \\S+$")


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
        s = re.sub(r"^(\S+)((?: \S+)*?) (\S+)$", r"\3\2 \1", s)
    elif swapped:
        s = re.sub(r"^(.*) (\S+)$", r"\2 \1", s)
    return (s, _fold(s) or None, swapped, moji, decomposed, old_tone, s.isascii())


# --------------------------------------------------------------------------- dates

def py_parse_date(s: str | dt.date | None, today: dt.date | None = None):
    """(date, precision, flag), same rules as ``parse_date``."""
    if s is None:
        return (None, None, None)
    if isinstance(s, dt.date):
        s = s.isoformat()
    today = today or dt.date.today()
    v = re.sub(r"\s+", " ", text.strip_diacritics(text.nfc(s).replace(",", " ")).upper()).strip()
    if not v:
        return (None, None, None)
    for pattern, repl in S._DATE_RULES:
        v = re.sub(pattern, repl.replace("$", "\\"), v)
    m = re.fullmatch(r"(\d{2,4})-(\d{1,2})-(\d{1,2})", v)
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
    s = re.sub(r"^\s*(\d+)\.0+\s*$", r"\1", str(s))
    s = re.sub(r"[\s.\-_\u00a0]", "", s)
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
    v = re.sub(r"[\s.\u00a0]", "", str(s))
    if not v:
        return (None, None, False, "missing")
    d = v.replace("-", "")
    if re.fullmatch(r"\d{10}", v):
        code, kind = v, "enterprise10"
    elif re.fullmatch(r"\d{9}", v):
        code, kind = "0" + v, "enterprise10"
    elif re.fullmatch(r"\d{10}-?\d{3}", v):
        code, kind = d[:10] + "-" + d[10:], "branch13"
    elif re.fullmatch(r"[1-9]\d{11}", v) or re.fullmatch(r"\d{9}-\d{3}", v):
        code, kind = "0" + d[:9] + "-" + d[9:], "branch13"
    elif re.fullmatch(r"0\d{11}", v):
        code, kind = v, "personal12"
    elif re.fullmatch(r"[1-9]\d{10}", v):
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
    v = re.sub(r"[\s.\-_\u00a0]", "", s).upper() if s is not None else ""
    if not v:
        return (None, None, None, None, None, False, "missing")
    m = re.fullmatch(r"([A-Z]{2})([1-5])(\d{2})(\d{10})", v)
    if m:
        return (m.group(4), "health_card15", m.group(1), int(m.group(2)), m.group(3), True, None)
    if re.fullmatch(r"\d{10}", v) or re.fullmatch(r"\d{9}", v):
        return (v.zfill(10), "bhxh10", None, None, None, True, None)
    reason = "bad_benefit_level" if re.fullmatch(r"[A-Z]{2}\d{13}", v) else "bad_format"
    return (None, None, None, None, None, False, reason)


# --------------------------------------------------------------------------- phones

@lru_cache(maxsize=None)
def _phone_maps() -> tuple[dict[str, str], dict[str, str]]:
    carriers, old = S._phone_tables()
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
    table = {**S._SEX_WORDS, **dict(codes if codes is not None else S.DEFAULT_SEX_CODES)}
    key = re.sub(r"^(\d+)\.0+$", r"\1", _fold(_fix_moji(text.nfc(s))))
    return table.get(key)


@lru_cache(maxsize=None)
def _ethnic_map() -> dict[str, str]:
    return dict(S._ethnic_table())


def py_ethnicity(s) -> str | None:
    """2-digit GSO ethnicity code or None, same rules as ``standardise_ethnicity``."""
    if s is None:
        return None
    s = text.nfc(_fix_moji(s)).strip(" ")
    m = re.fullmatch(r"0*(\d{1,2})(?:\.0+)?", s)
    if m and "01" <= m.group(1).zfill(2) <= "54":
        return m.group(1).zfill(2)
    key = re.sub(r"[^A-Z0-9]", "", re.sub(r"^(DAN TOC|DT)\s*", "", _fold(s)))
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
    return tuple((_py_address_rx(p), r.replace("$1", r"\1")) for p, r in S._address_rules())


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
    k = re.sub(S._UNIT_TYPES, "", re.sub(r"\s+", " ", k).strip(" "))
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
    for k, c in S._PROVINCE_ALIASES.items():
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


# --------------------------------------------------------------------------- UDFs and benchmark

_TYPES = {
    "name": "struct<name:string, name_folded:string, order_swapped:boolean, mojibake_repaired:boolean, "
            "was_decomposed:boolean, old_tone:boolean, no_diacritics:boolean>",
    "date": "struct<date:date, precision:string, flag:string>",
    "cccd": "struct<cccd:string, valid:boolean, reason:string, lost_leading_zero:boolean, "
            "province_code:string, is_female:boolean, birth_year:int>",
    "cmnd": "struct<cmnd:string, valid:boolean, kind:string, reason:string>",
    "tax_code": "struct<tax_code:string, kind:string, valid:boolean, reason:string>",
    "insurance": "struct<bhxh:string, kind:string, card_group:string, benefit_level:int, "
                 "card_province:string, valid:boolean, reason:string>",
    "phone": "struct<phone:string, carrier:string, kind:string, valid:boolean, converted_from_11:boolean, "
             "note:string>",
    "sex": "string",
    "ethnicity": "string",
    "address": "struct<old_province_code:string, old_ward_code:string, new_province_code:string, "
               "new_ward_codes:array<string>, new_ward_code:string, new_ward_name:string, level:string, "
               "flag:string>",
}

_PY: dict[str, Callable] = {
    "name": py_name, "date": py_parse_date, "cccd": lambda s: py_cccd(s), "cmnd": py_cmnd,
    "tax_code": py_tax_code, "insurance": py_insurance_number, "phone": py_phone, "sex": py_sex,
    "ethnicity": py_ethnicity, "address": py_address,
}


def _native_address(df: DataFrame, column: str) -> DataFrame:
    out = S.standardise_address(df, address=column, prefix="a_")
    return out.select(column, *[c for c in out.columns if c.startswith("a_")])


#: rule -> native standardiser: a Column function, or for "address" a DataFrame function.
RULES: dict[str, Callable] = {
    "name": S.standardise_name, "date": S.parse_date, "cccd": S.standardise_cccd, "cmnd": S.standardise_cmnd,
    "tax_code": S.standardise_tax_code, "insurance": S.standardise_insurance_number,
    "phone": S.standardise_phone, "sex": S.standardise_sex, "ethnicity": S.standardise_ethnicity,
    "address": _native_address,
}


def udfs() -> dict[str, object]:
    """The ``py_*`` rules as (row-at-a-time, pickled) Python UDFs, keyed by rule name; each returns
    the same fields as its native standardiser."""
    # (wrapped in a plain lambda: Spark would try to read pandas-UDF types from the annotations)
    return {rule: F.udf((lambda f: lambda s: f(s))(fn), _TYPES[rule]) for rule, fn in _PY.items()}


def sample_values(rng: random.Random | None = None) -> dict[str, list[str]]:
    """A few hundred realistic raw values per rule (with DOMAIN.md faults), built in Python."""
    rng = rng or random.Random(7)
    sur = [str(r["name"]) for r in reference.surnames()]
    mid = [str(r["name"]) for r in reference.middle_names("F") + reference.middle_names("M")]
    giv = [str(r["name"]) for r in reference.given_names("F") + reference.given_names("M")]
    faults = [lambda s: s, lambda s: s, lambda s: s, text.nfd, text.to_old_tone, text.strip_diacritics,
              text.mojibake, str.upper, lambda s: "  " + s.replace(" ", "   ") + " "]
    names = []
    for i in range(400):
        parts = [rng.choice(sur), rng.choice(mid), rng.choice(giv)]
        if i % 10 == 0:
            parts = parts[2:] + parts[1:2] + parts[:1]
        names.append(rng.choice(faults)(" ".join(parts)))
    dates = []
    for _ in range(400):
        d = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(30000))
        dates.append(rng.choice([d.strftime("%d/%m/%Y"), d.isoformat(), f"{d.day}/{d.month}/{d.year % 100:02d}",
                                 f"ngày {d.day} tháng {d.month} năm {d.year}", f"00/00/{d.year}",
                                 f"{d.month:02d}/{d.day:02d}/{d.year}", f"31/02/{d.year}", str(d.year)]))
    cccds = []
    for _ in range(400):
        c = rng.choice(S.GSO_PROVINCE_CODES) + str(rng.randrange(4)) + f"{rng.randrange(100):02d}" + \
            f"{rng.randrange(10**6):06d}"
        cccds.append(rng.choice([c, c, c.lstrip("0"), " ".join([c[:3], c[3:6], c[6:9], c[9:]]),
                                 ".".join([c[:3], c[3:6], c[6:9], c[9:]]), c[3:]]))
    cmnds = [rng.choice([c[3:], c[4:], c[3:6] + " " + c[6:], c, c[3:] + ".0", "12-34"]) for c in cccds]
    prefixes = [r["prefix"] for r in reference.mobile_prefixes()]
    olds = [r["old_prefix"] for r in reference.mobile_prefixes() if r["old_prefix"]]
    phones = []
    for _ in range(400):
        tail = f"{rng.randrange(10**7):07d}"
        new, old = rng.choice(prefixes) + tail, rng.choice(olds) + tail
        n = rng.choice([new, new, old])
        phones.append(rng.choice([n, "+84" + n[1:], "84" + n[1:], f"{n[:4]}.{n[4:7]}.{n[7:]}",
                                  f"{n[:4]}-{n[4:7]}-{n[7:]}", "+84 " + n[1:4] + " " + n[4:7] + " " + n[7:]]))
    taxes = []
    for _ in range(400):
        while True:
            body = rng.choice(["01", "03", "02", "04", "48", "79"]) + f"{rng.randrange(10**7):07d}"
            r = sum(int(c) * w for c, w in zip(body, S.TAX_WEIGHTS)) % 11
            if r:
                break
        code = body + str(10 - r)
        taxes.append(rng.choice([code, code, code + "-001", code[1:], code[:9] + str((int(code[9]) + 1) % 10),
                                 rng.choice(cccds).replace(" ", "").replace(".", "")]))
    insurance = []
    for _ in range(400):
        bhxh = f"{rng.randrange(10**10):010d}"
        card = rng.choice(["DN", "HC", "HT", "TE", "HS", "HN", "CN"]) + str(rng.randrange(1, 6)) + \
            f"{rng.randrange(1, 97):02d}" + bhxh
        insurance.append(rng.choice([bhxh, bhxh[1:], card, card.lower(), f"{card[:2]} {card[2]} {card[3:5]} {bhxh}",
                                     card[:2] + "7" + card[3:], "x" + bhxh]))
    sexes = ["Nam", "Nữ", "nu", "NỮ", "1", "2", "0", "M", "f", "female", "Male", "nam giới", "?", "2.0"]
    ethnic_names = [str(r["name"]) for r in reference.ethnicities()]
    ethnicities = [rng.choice([n, n.upper(), text.strip_diacritics(n), "Dân tộc " + n, str(rng.randrange(1, 60)),
                               f"{rng.randrange(1, 55):02d}", "H'Mông", "Mèo", "?"]) for n in
                   (rng.choice(ethnic_names) for _ in range(400))]
    return {"name": names, "date": dates, "cccd": cccds, "cmnd": cmnds, "tax_code": taxes,
            "insurance": insurance, "phone": phones, "sex": sexes * 30, "ethnicity": ethnicities,
            "address": _sample_addresses(rng)}


def _sample_addresses(rng: random.Random) -> list[str]:
    streets = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt",
               "Quang Trung"]
    abbrev = [("Thành phố ", "TP. "), ("Tỉnh ", ""), ("Quận ", "Q. "), ("Huyện ", "H. "),
              ("Thị xã ", "TX. "), ("Phường ", "P. "), ("Xã ", "X. "), ("Thị trấn ", "TT. ")]

    def short(name: str) -> str:
        for full, ab in abbrev:
            if name.startswith(full):
                return ab + name[len(full):]
        return name

    old = [u for u in reference.old_units() if u["ward_name"]]
    new = reference.new_units()
    out = []
    for _ in range(400):
        street = f"{rng.randrange(1, 300)} {rng.choice(streets)}"
        if rng.random() < 0.25:
            u = rng.choice(new)
            out.append(f"{street}, {u['ward_name']}, {u['province_name']}")
            continue
        u = rng.choice(old)
        parts = [u["ward_name"], u["district_name"], u["province_name"]]
        if rng.random() < 0.5:
            parts = [short(p) for p in parts]
        if rng.random() < 0.2:
            parts = [text.strip_diacritics(p) for p in parts]
        out.append(", ".join([street] + parts))
    return out


def _input_frame(spark: SparkSession, values: list[str], n_rows: int) -> DataFrame:
    pool = F.array(*[F.lit(v) for v in values])
    return spark.range(n_rows).select(F.element_at(pool, (F.col("id") % len(values) + 1).cast("int")).alias("v"))


def _frames(rule: str, src: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(native, udf) projections of ``src`` computing the rule's full output for column ``v``."""
    native = RULES[rule]
    native_df = native(src, "v") if rule == "address" else src.select(native(F.col("v")).alias("o"))
    return native_df, src.select(udfs()[rule](F.col("v")).alias("o"))


def _time_noop(df: DataFrame) -> float:
    """Seconds to write every column of ``df`` to the 'noop' sink (plans, evaluates every output
    field of every row, writes nothing)."""
    start = time.perf_counter()
    df.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


def compare(spark: SparkSession, n_rows: int = 200_000, repeats: int = 3,
            rules: list[str] | None = None) -> list[dict]:
    """Time native vs Python-UDF standardisers on the same ``n_rows`` cached values per rule.

    Both sides compute the same output fields and are measured the same way: a 'noop' write of
    the whole projection (query planning included, no column can be pruned). Per rule, each side
    is first run once on a 2,000-row frame (compiles the generated code, starts the Python
    workers), then the two are timed alternately ``repeats`` times (native first on even
    repetitions, UDF first on odd ones) so that load changes on a shared machine hit both.
    Reported: median seconds per side and the median of the per-repetition ratios udf_s/native_s.
    """
    values = sample_values()
    out = []
    for rule in rules or list(RULES):
        src = _input_frame(spark, values[rule], n_rows).cache()
        src.count()
        warm = _input_frame(spark, values[rule], 2_000).cache()
        warm.count()
        for df in _frames(rule, warm):
            _time_noop(df)
        native_df, udf_df = _frames(rule, src)
        runs: dict[str, list[float]] = {"native": [], "udf": []}
        for i in range(repeats):
            order = ("native", "udf") if i % 2 == 0 else ("udf", "native")
            for side in order:
                runs[side].append(_time_noop(native_df if side == "native" else udf_df))
        src.unpersist()
        warm.unpersist()
        native_s, udf_s = statistics.median(runs["native"]), statistics.median(runs["udf"])
        out.append({"rule": rule, "n_rows": n_rows, "repeats": repeats,
                    "native_s": round(native_s, 3), "udf_s": round(udf_s, 3),
                    "native_rows_per_s": round(n_rows / native_s), "udf_rows_per_s": round(n_rows / udf_s),
                    "ratio": round(statistics.median(u / n for u, n in zip(runs["udf"], runs["native"])), 2)})
    return out


def print_table(rows: list[dict]) -> None:
    print(f"{'rule':<10}{'native rows/s':>15}{'udf rows/s':>13}{'ratio':>8}")
    for r in rows:
        print(f"{r['rule']:<10}{r['native_rows_per_s']:>15,}{r['udf_rows_per_s']:>13,}{r['ratio']:>8}")


if __name__ == "__main__":  # pragma: no cover - manual benchmark entry point
    import json
    import sys

    from lakehouse.config import compose
    from lakehouse.session import build_spark

    from lakehouse.silver import udf_baseline   # the importable module: UDFs pickle by reference

    cfg = compose(["spark=tiny", "spark_master='local[2]'"])
    spark = build_spark(dict(cfg.spark), "local[2]")
    rows = udf_baseline.compare(spark, int(sys.argv[1]) if len(sys.argv) > 1 else 200_000,
                   int(sys.argv[2]) if len(sys.argv) > 2 else 3,
                   sys.argv[3].split(",") if len(sys.argv) > 3 else None)
    print_table(rows)
    print(json.dumps(rows))
    spark.stop()
