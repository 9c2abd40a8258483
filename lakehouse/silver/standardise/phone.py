"""Phone numbers: mobile (with the 2018 renumbering of 11-digit prefixes) and landline
(docs/domain.md#phone-numbers, #the-2018-renumbering).
"""

from __future__ import annotations

from functools import lru_cache

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.silver.standardise._expr import (
    ColumnOrName,
    _col,
    _let,
    _literal_array,
    _pre,
)


@lru_cache(maxsize=None)
def _phone_tables() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    rows = reference.mobile_prefixes()
    carriers = tuple((r["prefix"], r["carrier"]) for r in rows)
    old = tuple((r["old_prefix"], r["prefix"]) for r in rows if r["old_prefix"])
    return carriers, old


def standardise_phone(col: ColumnOrName) -> Column:
    """Standardise a Vietnamese phone number.

    Returns ``struct<phone, carrier, kind, valid, converted_from_11, note>``.
    docs/domain.md#phone-numbers:

    * everything but digits is dropped (spaces, dots, dashes, brackets); +84 / 84 / 0084 -> 0;
      a lost leading zero is restored (9-digit mobile, 10-digit old 1xx…);
    * 11-digit old mobile prefixes 01xx -> new 0xx (last 7 digits kept; ``converted_from_11``),
      table from ``mobile_prefixes.csv`` (#the-2018-renumbering);
    * carrier from the current 3-digit prefix; uncertain prefixes (055, 087) -> 'uncertain',
      still valid;
    * landlines: 11 digits 02x… ('landline'); old 10-digit Hà Nội 04xxxxxxxx -> 024xxxxxxxx
      (note 'landline_04_to_024'). Old HCM 08 + 8 digits cannot be told from today's 08x mobiles:
      it is kept as a mobile with note 'possible_old_landline_028'.

    ``phone`` is null when invalid.
    """
    carriers, old = _phone_tables()
    # O(1) lookups: carrier by the 3-digit prefix as an index into a 1000-slot literal array, new
    # prefix by the last two digits of the old 01xx prefix (a map lookup scans its keys).
    by_prefix = dict(carriers)
    carrier_at = _literal_array([by_prefix.get(f"{i:03d}", "") for i in range(1000)])
    old_by = dict(old)
    bad = [k for k in old_by if not (k.startswith("01") and len(k) == 4)]
    if bad:
        raise ValueError(f"mobile_prefixes.csv: old prefixes must be 01xx, not {bad[:3]!r}")
    new_at = _literal_array([old_by.get(f"01{i:02d}", "") for i in range(100)])
    s = F.regexp_replace(_col(col).cast("string"), r"[^0-9+]", "")
    s = F.regexp_replace(s, r"^(?:\+|00)?84(\d{9,10})$", "0$1")
    s = F.regexp_replace(s, r"\+", "")
    s = F.regexp_replace(s, r"^([1-9]\d{8}|1\d{9})$", "0$1")

    def carrier(number: Column) -> Column:     # '' when the 3-digit prefix is not a mobile one
        return F.element_at(carrier_at, F.substring(number, 1, 3).cast("int") + 1)

    def numbers(v: Column) -> Column:
        n = F.length(v)
        new_prefix = F.when((n == 11) & v.startswith("01"),
                            F.nullif(F.element_at(new_at, F.substring(v, 3, 2).cast("int") + 1), F.lit("")))
        landline_04 = (n == 10) & v.startswith("04")
        return _let(new_prefix, lambda new_prefix: F.struct(
            F.when(new_prefix.isNotNull(), F.concat(new_prefix, F.substring(v, 5, 7)))
            .when((n == 10) & (carrier(v) != ""), v).alias("mobile"),
            F.when(landline_04, F.concat(F.lit("024"), F.substring(v, 3, 8)))
            .when((n == 11) & v.startswith("02"), v).alias("landline"),
            new_prefix.isNotNull().alias("from_11"), landline_04.alias("landline_04")))

    def build(v: Column, x: Column) -> Column:
        mobile, landline = x["mobile"], x["landline"]
        phone = F.coalesce(mobile, landline)
        kind = F.when(mobile.isNotNull(), "mobile").when(landline.isNotNull(), "landline")
        note = F.when(x["landline_04"], "landline_04_to_024") \
            .when(mobile.isNotNull() & (F.length(v) == 10) & v.startswith("08"), "possible_old_landline_028")
        return F.struct(phone.alias("phone"), F.when(mobile.isNotNull(), carrier(mobile)).alias("carrier"),
                        kind.alias("kind"), phone.isNotNull().alias("valid"),
                        F.coalesce(x["from_11"], F.lit(False)).alias("converted_from_11"), note.alias("note"))

    return _let(_pre(s), lambda v: _let(numbers(v), lambda x: build(v, x)))
