"""Benchmark: the native standardisers of :mod:`lakehouse.silver.standardise` against the same rules
wrapped as row-at-a-time Python UDFs that return the SAME output fields. The rules are the test
oracles (``tests/oracles/standardisers.py``, the ``py_*`` functions).

Run from the repository checkout (``tests`` and ``benchmarks`` are not in the wheel)::

    python -m benchmarks.udf_baseline [n_rows] [repeats] [rule,rule,...]     # or: make bench-udf

Formerly the second half of ``lakehouse/silver/udf_baseline.py``. Never use these UDFs on the data
path (docs/design.md: no Python UDFs on hot paths).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from typing import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S
from tests.oracles.standardisers import (
    py_address,
    py_cccd,
    py_cmnd,
    py_ethnicity,
    py_insurance_number,
    py_name,
    py_parse_date,
    py_phone,
    py_sex,
    py_tax_code,
)

__all__ = ["RULES", "compare", "print_table", "sample_values", "udfs"]


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
    """A few hundred realistic raw values per rule (with the faults of docs/domain.md#text-faults), built in Python."""
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

    from benchmarks import (
        udf_baseline,  # the importable module: UDFs pickle by reference
    )
    from lakehouse.config import compose
    from lakehouse.session import build_spark

    cfg = compose(["spark=tiny", "spark_master='local[2]'"])
    spark = build_spark(dict(cfg.spark), "local[2]")
    rows = udf_baseline.compare(spark, int(sys.argv[1]) if len(sys.argv) > 1 else 200_000,
                   int(sys.argv[2]) if len(sys.argv) > 2 else 3,
                   sys.argv[3].split(",") if len(sys.argv) > 3 else None)
    print_table(rows)
    print(json.dumps(rows))
    spark.stop()
