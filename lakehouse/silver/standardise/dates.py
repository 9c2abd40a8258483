"""Dates in the formats sources use, with their precision and fault flag (docs/domain.md#dates)."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.silver.standardise._expr import ColumnOrName, _col, _let, _pre
from lakehouse.silver.standardise.text import fold, nfc

_DATE_RULES: tuple[tuple[str, str], ...] = (
    # "ngày 5 tháng 3 năm 1990" (folded: no diacritics, upper case)
    (r"^NGAY\s*(\d{1,2})\s*THANG\s*(\d{1,2})\s*NAM\s*(\d{2}|\d{4})$", "$3-$2-$1"),
    (r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$", "$3-$2-$1"),            # d/M/y, dd-MM-yyyy
    (r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T].*)?$", "$1-$2-$3"),       # yyyy-MM-dd[ time]
    (r"^(\d{4})(\d{2})(\d{2})$", "$1-$2-$3"),                                  # yyyyMMdd
    (r"^(\d{1,2})[/.\-](\d{4})$", "$2-$1-0"),                                  # MM/yyyy
    (r"^THANG\s*(\d{1,2})\s*NAM\s*(\d{4})$", "$2-$1-0"),                       # tháng 3 năm 1990
    (r"^(\d{4})[/.\-](\d{1,2})$", "$1-$2-0"),                                  # yyyy-MM
    (r"^(?:NAM\s*)?(\d{4})$", "$1-0-0"),                                       # yyyy
)


def parse_date(col: ColumnOrName) -> Column:
    """Parse the date formats sources use. Returns ``struct<date, precision, flag>``.

    docs/domain.md#dates: dd/MM/yyyy, d/M/yyyy, d/M/yy (pivot: yy > current yy -> 19yy, else 20yy),
    yyyy-MM-dd (time part ignored), dd-MM-yyyy, yyyyMMdd, MM/yyyy, yyyy, and "ngày 5 tháng 3 năm
    1990" with or without diacritics. A DATE column is accepted too (idempotence).

    * precision: 'day', 'month' (00/MM/yyyy, MM/yyyy) or 'year'; null when unparsed.
    * flag: 'year_only' (00/00/yyyy, yyyy); 'possible_year_only' (01/01/yyyy: ambiguous, kept as
      year precision on 1 January); 'day_month_swapped' (month field > 12 and day field <= 12,
      parsed swapped); 'impossible' (e.g. 31/02/2020, month 13 with day 13; date null);
      'unparsed' (not a date format at all; date null).

    Validation is arithmetic (days per month, leap years) before ``make_date``, so nothing raises
    whether ANSI mode is on or off.
    """
    c = _col(col)
    canon = fold(F.regexp_replace(nfc(c.cast("string")), "[,]", " "))
    for pattern, repl in _DATE_RULES:
        canon = F.regexp_replace(canon, pattern, repl)
    # Generated code, in a projection below (see _pre): the canonical "y-M-d" text and its parts.
    ystr = F.split_part(canon, F.lit("-"), F.lit(1))
    y0 = ystr.try_cast("int")
    cur = F.year(F.current_date()) % 100
    parts = F.struct(
        _pre(F.when(F.length(canon) > 0, canon.rlike(r"^\d{2,4}-\d{1,2}-\d{1,2}$").cast("int")),
             F.lit(-1)).alias("ok"),                                   # null: blank or null
        _pre(F.when(F.length(ystr) == 2, F.when(y0 > cur, y0 + 1900).otherwise(y0 + 2000))
             .when(F.length(ystr) == 4, y0), F.lit(-1)).alias("y"),
        _pre(F.split_part(canon, F.lit("-"), F.lit(2)).try_cast("int"), F.lit(-1)).alias("m"),
        _pre(F.split_part(canon, F.lit("-"), F.lit(3)).try_cast("int"), F.lit(-1)).alias("d"))
    month_days = F.array(*[F.lit(x) for x in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)])

    def swap(p: Column) -> Column:
        swapped = (p["m"] > 12) & (p["d"] >= 1) & (p["d"] <= 12)
        return F.struct(p["ok"].alias("ok"), p["y"].alias("y"), swapped.alias("swapped"),
                        F.when(swapped, p["d"]).otherwise(p["m"]).alias("m"),
                        F.when(swapped, p["m"]).otherwise(p["d"]).alias("d"))

    def build(q: Column) -> Column:
        y, m, d = q["y"], q["m"], q["d"]
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        mdays = F.element_at(month_days, F.when((m >= 1) & (m <= 12), m).otherwise(F.lit(1))) \
            + F.when((m == 2) & leap, 1).otherwise(0)
        year_only = (m == 0) & (d == 0)
        month_only = (d == 0) & (m >= 1) & (m <= 12)
        day_ok = (m >= 1) & (m <= 12) & (d >= 1) & (d <= mdays)
        valid = F.coalesce((q["ok"] == 1) & (y >= 1800) & (y <= 2200) & (year_only | month_only | day_ok),
                           F.lit(False))
        return _let(valid, lambda valid: F.struct(
            F.when(valid, F.make_date(y, F.when(year_only, 1).otherwise(m), F.when(d == 0, 1).otherwise(d)))
            .alias("date"),
            F.when(~valid, F.lit(None)).when(year_only | ((m == 1) & (d == 1)), "year")
            .when(month_only, "month").otherwise("day").alias("precision"),
            (F.when(q["ok"].isNull(), F.lit(None))
             .when(q["ok"] == 0, "unparsed")
             .when(~valid, "impossible")
             .when(year_only, "year_only")
             .when((m == 1) & (d == 1), "possible_year_only")
             .when(q["swapped"], "day_month_swapped")).alias("flag")))

    return _let(parts, lambda p: _let(swap(p), build))
