"""Identifiers: the citizen identity card (CCCD), the old identity card (CMND), the tax code
(MST) and social / health insurance numbers (docs/domain.md#citizen-identity-card-cccd,
#old-identity-card-cmnd, #tax-code-mst, #social-insurance-number-bhxh, #health-insurance-card-bhyt).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.silver.standardise._expr import ColumnOrName, _col, _let, _pre

#: docs/domain.md#cccd-province-codes: the 63-province-era GSO codes, with a leading "0".
GSO_PROVINCE_CODES: tuple[str, ...] = tuple(f"0{c}" for c in (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 "
    "48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96"
).split())

#: docs/domain.md#tax-code-check-digit: weights over the first nine digits.
TAX_WEIGHTS: tuple[int, ...] = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def _id_text(col: ColumnOrName) -> Column:
    """Cast to string, drop a spreadsheet ".0" suffix, then spaces, dots, dashes, underscores."""
    # One pass: the first alternative (the whole value is "digits.000") keeps the digits; the
    # second deletes one separator (its $1 did not take part in the match, so it appends nothing).
    return F.regexp_replace(_col(col).cast("string"), r"^\s*(\d+)\.0+\s*$|[\s.\-_\u00a0]", "$1")


def _id_bound(col: ColumnOrName) -> Column:
    """struct<v: cleaned id ('' -> null), digits: 1/0 (null when v is null)>, computed by generated
    code in a projection below (see :func:`_pre`), for :func:`_let`."""
    x = _id_text(col)
    return F.struct(_pre(x).alias("v"),
                    _pre(F.when(F.length(x) > 0, x.rlike(r"^\d+$").cast("int")), F.lit(-1)).alias("digits"))


def _cccd_structure(v: Column) -> tuple[Column, Column, Column]:
    """(province code valid, century/sex digit G valid, implied birth year) of a 12-digit string."""
    prov_ok = F.substring(v, 1, 3).isin(*GSO_PROVINCE_CODES)
    g = F.substring(v, 4, 1).try_cast("int")
    g_ok = g.between(0, 5)
    year = 1900 + F.floor(g / 2).cast("int") * 100 + F.substring(v, 5, 2).try_cast("int")
    return prov_ok, g_ok, year


def standardise_cccd(col: ColumnOrName, birth_date: ColumnOrName | None = None,
                     sex_is_female: ColumnOrName | None = None) -> Column:
    """Standardise and validate a 12-digit citizen ID (CCCD), layout ``PPP G YY RRRRRR``.

    Returns ``struct<cccd, valid, reason, lost_leading_zero, province_code, is_female,
    birth_year>``. docs/domain.md#citizen-identity-card-cccd:

    * strip spaces, dots, dashes (and a spreadsheet ".0"); 11 digits -> restore the lost leading
      zero (``lost_leading_zero``); 12 digits required;
    * 9 digits is an old CMND, not a CCCD: cccd null, reason 'cmnd'; other lengths 'bad_length',
      non-digits 'not_digits';
    * ``PPP`` must be one of :data:`GSO_PROVINCE_CODES` ('bad_province'; #cccd-province-codes); G in 0..5
      ('bad_century'; even = male, odd = female, 0/1 = 1900s, 2/3 = 2000s, 4/5 = 2100s;
      #cccd-century-and-sex-digit);
    * with ``birth_date``: century + YY must equal the birth year ('birth_year_mismatch');
      with ``sex_is_female`` (boolean): G parity must agree ('sex_mismatch') (#cccd-cross-checks).

    ``reason`` is the first failure, null when valid. There is no check digit. A structurally
    failing 12-digit number is still returned in ``cccd`` (cleaned) so quarantine can show it.
    """
    bd = _col(birth_date) if birth_date is not None else F.lit(None).cast("date")
    fem = _col(sex_is_female) if sex_is_female is not None else F.lit(None).cast("boolean")

    def build(b: Column, cccd: Column) -> Column:
        v, digits = b["v"], b["digits"] == 1
        n = F.length(v)
        prov_ok, g_ok, year = _cccd_structure(cccd)
        g_female = (F.substring(cccd, 4, 1).try_cast("int") % 2) == 1
        birth_year = F.when(g_ok, year)
        reason = (F.when(v.isNull(), "missing")
                  .when(~digits, "not_digits")
                  .when(n == 9, "cmnd")
                  .when(cccd.isNull(), "bad_length")
                  .when(~prov_ok, "bad_province")
                  .when(~g_ok, "bad_century")
                  .when(bd.isNotNull() & (F.year(bd) != birth_year), "birth_year_mismatch")
                  .when(fem.isNotNull() & (fem != g_female), "sex_mismatch"))
        return F.struct(cccd.alias("cccd"), reason.isNull().alias("valid"), reason.alias("reason"),
                        (digits & (n == 11)).alias("lost_leading_zero"),
                        F.when(prov_ok, F.substring(cccd, 1, 3)).alias("province_code"),
                        F.when(g_ok, g_female).alias("is_female"), birth_year.alias("birth_year"))

    def cccd(b: Column) -> Column:
        v, n, digits = b["v"], F.length(b["v"]), b["digits"] == 1
        return F.when(digits & (n == 12), v).when(digits & (n == 11), F.concat(F.lit("0"), v))

    return _let(_id_bound(col), lambda b: _let(cccd(b), lambda c: build(b, c)))


def standardise_cmnd(col: ColumnOrName) -> Column:
    """Standardise an old people's ID (CMND). Returns ``struct<cmnd, valid, kind, reason>``.

    docs/domain.md#old-identity-card-cmnd: digits only; 9 digits ('cmnd9'), 8 digits -> leading zero
    restored (spreadsheet fault), or 12 digits for the later 12-digit CMND ('cmnd12'). Its prefix
    is the *issuing* province and ranges were reused, so a CMND is a weak identifier: never merge
    on it alone (callers must treat ``valid`` as "well-formed", not "identifies a person").
    """
    def build(b: Column) -> Column:
        v, digits = b["v"], b["digits"] == 1
        n = F.length(v)
        cmnd = F.when(digits & (n == 9), v).when(digits & (n == 8), F.concat(F.lit("0"), v)) \
            .when(digits & (n == 12), v)
        kind = F.when(cmnd.isNull(), F.lit(None)).when(n == 12, "cmnd12").otherwise("cmnd9")
        reason = F.when(v.isNull(), "missing").when(~digits, "not_digits") \
            .when(cmnd.isNull(), "bad_length")
        return F.struct(cmnd.alias("cmnd"), reason.isNull().alias("valid"), kind.alias("kind"),
                        reason.alias("reason"))

    return _let(_id_bound(col), build)


# --------------------------------------------------------------------------- tax codes

def _mst_check_ok(x: Column) -> tuple[Column, Column]:
    """(prefix issuable: S mod 11 != 0, check digit correct) for the 10-digit code as a long.

    The digits are taken arithmetically (every quotient is below 1e10, exact in a double)."""
    def digit(i: int) -> Column:       # i-th digit, 0-based from the left
        return (x / 10 ** (9 - i)).cast("long") % 10

    r = sum(digit(i) * w for i, w in enumerate(TAX_WEIGHTS)) % 11
    return r != 0, (10 - r) == digit(9)


def standardise_tax_code(col: ColumnOrName) -> Column:
    """Standardise a tax code (MST). Returns ``struct<tax_code, kind, valid, reason>``.

    docs/domain.md#tax-code-mst: layout ``PP SSSSSSS C`` with optional ``-BBB`` branch suffix.
    Spaces and dots are removed; the canonical forms are 'dddddddddd' ('enterprise10'),
    'dddddddddd-BBB' ('branch13', also written without the dash) and 'dddddddddddd'
    ('personal12': since 1 July 2025 individuals use their 12-digit personal ID, validated with
    the CCCD structure: province code and century digit). A lost leading zero is restored for
    9 digits (-> 10), 12 digits not starting with 0 (-> 13, branch) and 11 digits (-> personal 12).

    Check digit (#tax-code-check-digit): S = sum(w_i * d_i) with weights (31,29,23,19,17,13,7,5,3), C = 10 - (S mod 11);
    S mod 11 == 0 is never issued ('unissued_prefix'), a wrong C is 'bad_check_digit', branch
    '000' is 'bad_branch'.
    """
    x = F.regexp_replace(_col(col).cast("string"), r"[\s.\u00a0]", "")
    # Generated code, in a projection below: the value ('' -> null) and one digit test on its
    # dash-less form (\z, not $: Java's $ also matches before a final line terminator). The
    # layouts (^\d{10}$, ^\d{9}$, ^\d{10}-?\d{3}$, ^[1-9]\d{11}$|^\d{9}-\d{3}$, ^0\d{11}$,
    # ^[1-9]\d{10}$) are then told apart by lengths and dash positions.
    bound = F.struct(_pre(x).alias("v"),
                     _pre(F.when(F.length(x) > 0, F.replace(x, F.lit("-"), F.lit("")).rlike(r"^[0-9]+\z")
                                 .cast("int")), F.lit(-1)).alias("digits"))

    def code(b: Column) -> Column:
        v = b["v"]
        d = F.replace(v, F.lit("-"), F.lit(""))
        nd = F.length(d)
        dashes = F.length(v) - nd
        plain = (b["digits"] == 1) & (dashes == 0)
        one_dash = (b["digits"] == 1) & (dashes == 1)
        lead0 = v.startswith("0")
        return (F.when(plain & (nd == 10), v)
                .when(plain & (nd == 9), F.concat(F.lit("0"), v))
                .when((plain | (one_dash & (F.substring(v, 11, 1) == "-"))) & (nd == 13),
                      F.concat(F.substring(d, 1, 10), F.lit("-"), F.substring(d, 11, 3)))
                .when(((plain & ~lead0) | (one_dash & (F.substring(v, 10, 1) == "-"))) & (nd == 12),
                      F.concat(F.lit("0"), F.substring(d, 1, 9), F.lit("-"), F.substring(d, 10, 3)))
                .when(plain & lead0 & (nd == 12), v)
                .when(plain & (nd == 11), F.concat(F.lit("0"), v)))

    def build(v: Column, code: Column, x10: Column) -> Column:
        n = F.length(code)
        kind = F.when(n == 10, "enterprise10").when(n == 14, "branch13").when(n == 12, "personal12")
        issuable, check_ok = _mst_check_ok(x10)
        prov_ok, g_ok, _ = _cccd_structure(code)
        reason = (F.when(v.isNull(), "missing")
                  .when(code.isNull(), "bad_format")
                  .when((n == 12) & ~prov_ok, "bad_province")
                  .when((n == 12) & ~g_ok, "bad_century")
                  .when(n == 12, F.lit(None))
                  .when(~issuable, "unissued_prefix")
                  .when(~check_ok, "bad_check_digit")
                  .when((n == 14) & (F.substring(code, 12, 3) == "000"), "bad_branch"))
        return F.struct(code.alias("tax_code"), kind.alias("kind"), reason.isNull().alias("valid"),
                        reason.alias("reason"))

    return _let(bound, lambda b: _let(code(b), lambda c: _let(
        F.substring(c, 1, 10).cast("long"), lambda x10: build(b["v"], c, x10))))


# --------------------------------------------------------------------------- insurance

def standardise_insurance_number(col: ColumnOrName) -> Column:
    """Standardise a social-insurance number or health-insurance card number.

    Returns ``struct<bhxh, kind, card_group, benefit_level, card_province, valid, reason>``.
    docs/domain.md#social-insurance-number-bhxh and #health-insurance-card-bhyt: the BHXH number
    is 10 digits (no check digit);
    the old 15-character card is 2 letters (beneficiary group: DN, HC, HT, TE, HS, HN, CN…),
    1 digit benefit level 1–5, 2 digits province, then the 10-digit BHXH number, which is
    extracted ('health_card15'); the new card is the BHXH number alone ('bhxh10'). Spaces, dots
    and dashes are removed and letters upper-cased; 9 digits -> leading zero restored.
    """
    x = F.upper(F.regexp_replace(_col(col).cast("string"), r"[\s.\-_\u00a0]", ""))
    # Generated code, in a projection below: the value ('' -> null) and its layout:
    # 1 old card ^([A-Z]{2})([1-5])(\d{2})(\d{10})$, 2 ten digits, 3 nine digits,
    # 4 a card with a bad benefit level ^[A-Z]{2}\d{13}$, 0 anything else (null when blank).
    layout = (F.when(F.length(x) == 0, F.lit(None))
              .when(x.rlike(r"^([A-Z]{2})([1-5])(\d{2})(\d{10})$"), 1)
              .when(x.rlike(r"^\d{10}$"), 2).when(x.rlike(r"^\d{9}$"), 3)
              .when(x.rlike(r"^[A-Z]{2}\d{13}$"), 4).otherwise(0))

    def build(b: Column) -> Column:
        v, k = b["v"], b["layout"]
        is_card = k == 1
        # the card regex is anchored at ^, so its groups are at fixed positions: substrings
        bhxh = (F.when(is_card, F.substring(v, 6, 10)).when(k == 2, v)
                .when(k == 3, F.concat(F.lit("0"), v)))
        kind = F.when(is_card, "health_card15").when(bhxh.isNotNull(), "bhxh10")
        reason = F.when(v.isNull(), "missing").when(k == 4, "bad_benefit_level") \
            .when(bhxh.isNull(), "bad_format")
        return F.struct(bhxh.alias("bhxh"), kind.alias("kind"),
                        F.when(is_card, F.substring(v, 1, 2)).alias("card_group"),
                        F.when(is_card, F.substring(v, 3, 1).cast("int")).alias("benefit_level"),
                        F.when(is_card, F.substring(v, 4, 2)).alias("card_province"),
                        reason.isNull().alias("valid"), reason.alias("reason"))

    return _let(F.struct(_pre(x).alias("v"), _pre(layout, F.lit(-1)).alias("layout")), build)
