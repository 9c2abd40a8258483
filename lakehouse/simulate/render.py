"""How a source writes a value, faults included: names, dates, IDs, phones and addresses.

Each function takes clean attribute columns plus boolean fault flags and returns the column as the
source system would have stored it. All native Spark expressions."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.simulate import pools
from lakehouse.simulate.rng import pick, randint

ABBREVIATIONS = [  # (full prefix, abbreviation) as seen in free-text addresses
    ("Phường ", "P."), ("Quận ", "Q."), ("Huyện ", "H."), ("Thị xã ", "TX."), ("Thị trấn ", "TT."),
    ("Thành phố ", "TP."), ("Tỉnh ", ""), ("Xã ", "X."),
]
HCM_FORMS = ["TP.HCM", "TPHCM", "Sài Gòn", "HCM", "TP. Hồ Chí Minh"]


def name_tokens(variant: Column, female: Column, surname_idx: Column, middle_idx: Column,
                given_idx: Column, legacy: bool) -> tuple[Column, Column, Column]:
    """(surname, middle, given) in the text variant chosen for this record."""
    def choose(pool_f: pools.NamePool, pool_m: pools.NamePool | None, idx: Column) -> Column:
        def one(pool: pools.NamePool) -> Column:
            base = "cp1258" if legacy else "nfc"
            expr = pick(pool.variants[base], idx)
            for v in ("nfd", "old_tone", "ascii", "mojibake"):
                chosen = "cp1258" if legacy and v == "nfd" else v
                expr = F.when(variant == v, pick(pool.variants[chosen], idx)).otherwise(expr)
            return expr
        if pool_m is None:
            return one(pool_f)
        return F.when(female, one(pool_f)).otherwise(one(pool_m))

    return (choose(pools.surnames(), None, surname_idx),
            choose(pools.middle_names("F"), pools.middle_names("M"), middle_idx),
            choose(pools.given_names("F"), pools.given_names("M"), given_idx))


def full_name(seed: int, key: Column, tokens: tuple[Column, Column, Column], flags: dict[str, Column],
              passport: bool = False) -> Column:
    surname, middle, given = tokens
    middle = F.when(flags["name_drop_middle"], F.lit(None)).otherwise(middle)
    ordered = F.when(flags["name_order"], F.concat_ws(" ", given, middle, surname)) \
        .otherwise(F.concat_ws(" ", surname, middle, given))
    if passport:
        return F.upper(ordered)
    name = F.when(flags["name_upper"], F.upper(ordered)).otherwise(ordered)
    # A typo: drop, double or replace one character.
    n = F.length(name)
    pos = (randint(seed, "typo-pos", 1 << 20, key) % F.greatest(n - 2, F.lit(1))) + 2
    kind = randint(seed, "typo-kind", 3, key)
    typo = F.when(kind == 0, F.overlay(name, F.lit(""), pos, 1)) \
        .when(kind == 1, F.overlay(name, F.substring(name, pos, 1), pos, 0)) \
        .otherwise(F.overlay(name, pick(list("aeinhtgu"), randint(seed, "typo-ch", 8, key)), pos, 1))
    name = F.when(flags["name_typo"], typo).otherwise(name)
    return F.when(flags["name_extra_space"],
                  F.concat(F.lit(" "), F.regexp_replace(name, " ", "  "), F.lit(" "))).otherwise(name)


def date_text(d: Column, fmt: str, alt_formats: list[str], seed: int, key: Column, salt: str,
              flags: dict[str, Column]) -> Column:
    """A date as the source writes it, with the date faults of docs/domain.md#dates."""
    base = F.date_format(d, fmt)
    if alt_formats:
        alt = randint(seed, f"{salt}-alt", len(alt_formats), key)
        alt_text = base
        for i, af in enumerate(alt_formats):
            alt_text = F.when(alt == i, F.date_format(d, af)).otherwise(alt_text)
        base = F.when(flags["date_format"], alt_text).otherwise(base)
    day, month, year = F.dayofmonth(d), F.month(d), F.year(d)
    dd, mm = F.lpad(day.cast("string"), 2, "0"), F.lpad(month.cast("string"), 2, "0")
    ystr = year.cast("string")
    if fmt.startswith("yyyy"):
        swapped = F.concat_ws("-", ystr, dd, mm)
        year_only = F.when(randint(seed, f"{salt}-yo", 2, key) == 0, F.concat(ystr, F.lit("-01-01"))) \
            .otherwise(F.concat(ystr, F.lit("-00-00")))
        impossible = F.concat(ystr, F.lit("-02-"), F.lit("31"))
    else:
        swapped = F.concat_ws("/", mm, dd, ystr)
        year_only = F.when(randint(seed, f"{salt}-yo", 2, key) == 0, F.concat(F.lit("01/01/"), ystr)) \
            .otherwise(F.concat(F.lit("00/00/"), ystr))
        impossible = F.concat(F.lit("31/02/"), ystr)
    spelled = F.concat(F.lit("ngày "), day.cast("string"), F.lit(" tháng "), month.cast("string"),
                       F.lit(" năm "), ystr)
    return (F.when(d.isNull(), F.lit(None))
            .when(flags["date_impossible"], impossible)
            .when(flags["date_year_only"], year_only)
            .when(flags["date_swap"] & (day != month), swapped)
            .when(flags["date_text"], spelled)
            .otherwise(base))


def cccd_text(cccd: Column, seed: int, key: Column, flags: dict[str, Column], as_number: bool) -> Column:
    lost = F.regexp_replace(cccd, "^0+", "")
    groups = [F.substring(cccd, i, 3) for i in (1, 4, 7, 10)]
    separated = F.when(randint(seed, "id-sep", 2, key) == 0, F.concat_ws(" ", *groups)) \
        .otherwise(F.concat_ws(".", *groups))
    out = F.when(flags["id_lost_zero"] | F.lit(as_number), lost) \
        .when(flags["id_separators"], separated).otherwise(cccd)
    return F.when(flags["missing_id"] | flags["cmnd_only"], F.lit(None)).otherwise(out)


def phone_text(new: Column, old: Column, seed: int, key: Column, flags: dict[str, Column]) -> Column:
    number = F.when(flags["phone_old11"] & old.isNotNull(), old).otherwise(new)
    national = F.substring(number, 2, 20)
    style = randint(seed, "phone-style", 5, key)
    formatted = (F.when(style == 0, F.concat(F.lit("+84"), national))
                 .when(style == 1, F.concat(F.lit("84"), national))
                 .when(style == 2, F.concat(F.lit("+84 "), F.regexp_replace(national, r"^(\d{2,3})(\d{3})(\d+)$", "$1 $2 $3")))
                 .when(style == 3, F.regexp_replace(number, r"^(\d{4})(\d{3})(\d+)$", "$1.$2.$3"))
                 .otherwise(F.regexp_replace(number, r"^(\d{4})(\d{3})(\d+)$", "$1-$2-$3")))
    return F.when(flags["phone_format"], formatted).otherwise(number)


def abbreviate(unit: Column) -> Column:
    out = unit
    for full, short in ABBREVIATIONS:
        out = F.regexp_replace(out, f"^{full}", short)
    return out


def province_text(name: Column, seed: int, key: Column, abbrev: Column) -> Column:
    hcm = pick(HCM_FORMS, randint(seed, "hcm", len(HCM_FORMS), key))
    return F.when(abbrev & (name == "Thành phố Hồ Chí Minh"), hcm) \
        .when(abbrev, abbreviate(name)).otherwise(name)


def address_parts(w: dict[str, Column], house_no: Column, street_idx: Column, seed: int, key: Column,
                  flags: dict[str, Column], text_variant: str) -> dict[str, Column]:
    """street / ward / district / province columns; the old three levels unless the record was
    written after the reform (then ward + new province, no district)."""
    streets = pools.text_variants(tuple(pools.STREETS))[text_variant]
    street = F.concat(house_no.cast("string"), F.lit(" "), pick(streets, street_idx))
    abbrev = flags["address_abbrev"]
    old = flags["address_old"]
    ward = F.when(old, F.when(abbrev, abbreviate(w["ward_name"])).otherwise(w["ward_name"])) \
        .otherwise(F.coalesce(w["new_ward_name"], w["ward_name"]))
    district = F.when(old, F.when(abbrev, abbreviate(w["district_name"])).otherwise(w["district_name"]))
    province = F.when(old, province_text(w["province_name"], seed, key, abbrev)) \
        .otherwise(w["new_province_name"])
    return {"street": street, "ward": ward, "district": district, "province": province,
            "address": F.concat_ws(", ", street, ward, district, province)}


def _cp1258_replacements() -> list[tuple[str, str]]:
    """Precomposed letters that Windows-1258 lacks, with their half-decomposed form."""
    from lakehouse.reference import text

    letters = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for base in letters:
        for tone in tones:
            ch = text.nfc(base + tone)
            form = text.to_windows1258_form(ch)
            if len(ch) == 1 and form != ch:
                out.append((ch, form))
    return out


def windows1258_form(value: Column) -> Column:
    """Rewrite text into the half-decomposed form a Windows-1258 system stores (base letter plus a
    combining tone mark), so that the whole value is encodable in that code page."""
    out = value
    for ch, form in _cp1258_replacements():
        out = F.replace(out, F.lit(ch), F.lit(form))
    return out
