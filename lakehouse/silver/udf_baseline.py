"""The same standardisation rules as :mod:`lakehouse.silver.standardise`, as plain Python (and
Python UDFs), for two purposes only:

* a test oracle: the ``py_*`` functions are straightforward Python (``unicodedata``,
  :mod:`lakehouse.reference.text`, ``re``, ``datetime``) and must agree with the native columns;
* the benchmark baseline: :func:`compare` times the native standardisers against these rules
  wrapped as row-at-a-time Python UDFs.

Never use the UDFs on the data path (DESIGN.md: no Python UDFs on hot paths).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from functools import lru_cache

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S

__all__ = ["compare", "py_cccd", "py_name", "py_parse_date", "py_phone", "py_tax_code", "udfs"]


# --------------------------------------------------------------------------- names

def _py_rx(java_rx: str) -> re.Pattern[str]:
    """Java's ``\\x{HHHH}`` escapes -> Python regex."""
    return re.compile(re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: re.escape(chr(int(m.group(1), 16))), java_rx))


_TELLTALE = _py_rx(S._mojibake_tables()[2])


def _fix_moji(s: str) -> str:
    for _ in range(2):
        if _TELLTALE.search(s):
            s = text.fix_mojibake(s) if text.fix_mojibake(s) != s else s
    return s


@lru_cache(maxsize=None)
def _order_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    sur, mid = S._name_alternation("surname"), S._name_alternation("middle")
    return re.compile(f"^(?!{sur} )\\S+( \\S+)* {sur}$"), re.compile(f"^(?!{mid} )\\S+ {mid}( \\S+)* \\S+$")


def py_name(s: str | None) -> tuple[str | None, str | None, bool] | None:
    """(name, name_folded, order_swapped), same rules as ``standardise_name``."""
    if s is None:
        return None
    s = text.nfc(_fix_moji(s))
    s = re.sub(r"[\s\u00a0]+", " ", s).strip(" ")
    if not s:
        return (None, None, False)
    s = " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))
    s = text.to_new_tone(s)
    swap, given_first = _order_patterns()
    swapped = bool(swap.match(s))
    if swapped and given_first.match(s):
        s = re.sub(r"^(\S+)((?: \S+)*?) (\S+)$", r"\3\2 \1", s)
    elif swapped:
        s = re.sub(r"^(.*) (\S+)$", r"\2 \1", s)
    folded = re.sub(r"\s+", " ", text.strip_diacritics(s).upper()).strip()
    return (s, folded or None, swapped)


# --------------------------------------------------------------------------- dates

def py_parse_date(s: str | dt.date | None, today: dt.date | None = None):
    """(date, precision, flag), same rules as ``parse_date``."""
    if s is None:
        return None
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


# --------------------------------------------------------------------------- CCCD

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
    """(cccd, valid, reason), same rules as ``standardise_cccd``."""
    v = _id_digits(s)
    if v is None:
        return (None, False, "missing")
    if not v.isdigit() or not v.isascii():
        return (None, False, "not_digits")
    if len(v) == 9:
        return (None, False, "cmnd")
    if len(v) == 11:
        v = "0" + v
    if len(v) != 12:
        return (None, False, "bad_length")
    prov_ok, g_ok, year = _cccd_structure(v)
    reason = None
    if not prov_ok:
        reason = "bad_province"
    elif not g_ok:
        reason = "bad_century"
    elif birth_date is not None and birth_date.year != year:
        reason = "birth_year_mismatch"
    elif is_female is not None and is_female != (int(v[3]) % 2 == 1):
        reason = "sex_mismatch"
    return (v, reason is None, reason)


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


# --------------------------------------------------------------------------- phones

@lru_cache(maxsize=None)
def _phone_maps() -> tuple[dict[str, str], dict[str, str]]:
    carriers, old = S._phone_tables()
    return dict(carriers), dict(old)


def py_phone(s):
    """(phone, carrier, valid, converted_from_11), same rules as ``standardise_phone``."""
    if s is None:
        return (None, None, False, False)
    v = re.sub(r"[^0-9+]", "", str(s))
    v = re.sub(r"^(?:\+|00)?84(\d{9,10})$", r"0\1", v)
    v = v.replace("+", "")
    v = re.sub(r"^([1-9]\d{8}|1\d{9})$", r"0\1", v)
    carriers, old = _phone_maps()
    if len(v) == 11 and v.startswith("01") and v[:4] in old:
        p = old[v[:4]] + v[4:]
        return (p, carriers[p[:3]], True, True)
    if len(v) == 10 and v[:3] in carriers:
        return (v, carriers[v[:3]], True, False)
    if len(v) == 10 and v.startswith("04"):
        return ("024" + v[2:], None, True, False)
    if len(v) == 11 and v.startswith("02"):
        return (v, None, True, False)
    return (None, None, False, False)


# --------------------------------------------------------------------------- UDFs and benchmark

_NAME_T = "struct<name:string, name_folded:string, order_swapped:boolean>"
_DATE_T = "struct<date:date, precision:string, flag:string>"
_CCCD_T = "struct<cccd:string, valid:boolean, reason:string>"
_TAX_T = "struct<tax_code:string, kind:string, valid:boolean, reason:string>"
_PHONE_T = "struct<phone:string, carrier:string, valid:boolean, converted_from_11:boolean>"


def udfs() -> dict[str, object]:
    """The ``py_*`` rules as (row-at-a-time, pickled) Python UDFs, keyed by rule name."""
    return {
        "name": F.udf(py_name, _NAME_T),
        "date": F.udf(py_parse_date, _DATE_T),
        "cccd": F.udf(lambda s: py_cccd(s), _CCCD_T),
        "tax_code": F.udf(py_tax_code, _TAX_T),
        "phone": F.udf(py_phone, _PHONE_T),
    }


def _sample_values() -> dict[str, list[str]]:
    """A few hundred realistic raw values per rule (with DOMAIN.md faults), built in Python."""
    import random

    rng = random.Random(7)
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
    return {"name": names, "date": dates, "cccd": cccds, "phone": phones, "tax_code": taxes}


def _input_frame(spark: SparkSession, values: list[str], n_rows: int) -> DataFrame:
    pool = F.array(*[F.lit(v) for v in values])
    return spark.range(n_rows).select(F.element_at(pool, (F.col("id") % len(values) + 1).cast("int")).alias("v"))


def _time_noop(df: DataFrame) -> float:
    start = time.perf_counter()
    df.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


def compare(spark: SparkSession, n_rows: int = 200_000) -> list[dict]:
    """Time native vs Python-UDF standardisers on ``n_rows`` realistic values per rule.

    Each side is warmed up once on a small slice, then timed writing to the 'noop' format.
    Returns rows {rule, n_rows, native_s, udf_s, native_rows_per_s, udf_rows_per_s, ratio}.
    """
    native: dict[str, object] = {
        "name": S.standardise_name, "date": S.parse_date, "cccd": S.standardise_cccd,
        "tax_code": S.standardise_tax_code, "phone": S.standardise_phone,
    }
    py = udfs()
    out = []
    for rule, values in _sample_values().items():
        src = _input_frame(spark, values, n_rows).cache()
        src.count()
        timings = {}
        for side, fn in (("native", native[rule]), ("udf", py[rule])):
            _time_noop(src.limit(2000).select(fn(F.col("v")).alias("o")))
            timings[side] = _time_noop(src.select(fn(F.col("v")).alias("o")))
        src.unpersist()
        out.append({"rule": rule, "n_rows": n_rows,
                    "native_s": round(timings["native"], 3), "udf_s": round(timings["udf"], 3),
                    "native_rows_per_s": round(n_rows / timings["native"]),
                    "udf_rows_per_s": round(n_rows / timings["udf"]),
                    "ratio": round(timings["udf"] / timings["native"], 2)})
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

    cfg = compose(["spark=tiny", "spark_master='local[2]'"])
    spark = build_spark(dict(cfg.spark), "local[2]")
    rows = compare(spark, int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
    print_table(rows)
    print(json.dumps(rows))
    spark.stop()
