"""Silver standardisers: pure ``Column -> Column`` functions built only from Spark native functions.

Every rule implements a fact from ``shared/docs/DOMAIN.md`` (cited in each docstring). No Python
UDFs: lookup tables are computed once in Python (``functools.lru_cache``) from
:mod:`lakehouse.reference` and ``unicodedata``, then embedded as literal maps / regexes /
``translate`` tables. Every standardiser is idempotent on its canonical output field.

Two Spark details shape the code:

* Spark 4 raises ``MALFORMED_CHARACTER_CODING`` from ``encode``/``decode`` on unmappable input
  (``spark.sql.legacy.codingErrorAction`` is off), and Java's windows-1252 has no mapping for the
  five undefined bytes 0x81 0x8D 0x8F 0x90 0x9D, which the mojibake of Đ Á Í Ý ề ọ ỏ Ố ờ contains.
  So mojibake is repaired by translating the cp1252-specific characters back to their byte values
  (U+0080..U+009F), encoding with ISO-8859-1 (exact byte images, never fails on U+0000..U+00FF)
  and keeping the result only when ``try_validate_utf8`` accepts it.
* Catalyst expressions are trees, so a value used several times by later steps is copied. To keep
  plans small, multi-step rules bind an intermediate value once with :func:`_let` (a one-element
  ``transform``), which is evaluated without code generation but avoids exponential plan growth.

TODO (performance): the goal is >= 3x the Python-UDF baseline per rule (``python -m
lakehouse.silver.udf_baseline``, ratio = UDF seconds / native seconds). Measured at 200k rows on the shared
2-core machine (load average 8-13, so ratios varied by up to ~1.5x between runs of the same code):
cmnd 3.6x, sex 3.0x, date 2.7x, ethnicity 2.5x, phone 2.4x, insurance 2.0x, cccd 1.4x, name 1.3x,
tax_code 1.1x, address 1.3-2.0x (0.8x before the address rewrite; 18-25k rows/s native, a
long way from 200k rows/s). Address time is now mostly Java regex matching (abbreviation passes,
the cleaning/expansion gates, unit keys) and ``translate``. Still to do: name, cccd and tax_code
nest ``_let`` (interpreted ``transform``) bindings; replacing them with projections below
(:func:`_pre`) or plain column expressions is the next step.

Known limitation: upper-cased mojibake ("NGUYá»…N" upper-cased after mis-decoding) is not repaired;
the bytes are partly lost and the name is then not idempotent.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from typing import Callable, Mapping

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text

__all__ = [
    "GSO_PROVINCE_CODES",
    "TAX_WEIGHTS",
    "admin_units_frame",
    "expand_address_abbreviations",
    "fold",
    "new_units_frame",
    "nfc",
    "parse_date",
    "repair_mojibake",
    "standardise_address",
    "standardise_cccd",
    "standardise_cmnd",
    "standardise_ethnicity",
    "standardise_insurance_number",
    "standardise_name",
    "standardise_phone",
    "standardise_sex",
    "standardise_tax_code",
    "to_new_tone",
    "unit_key",
]

ColumnOrName = Column | str

#: DOMAIN.md "Citizen identity number": the 63-province-era GSO codes, with a leading "0".
GSO_PROVINCE_CODES: tuple[str, ...] = tuple(f"0{c}" for c in (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 "
    "48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96"
).split())

#: DOMAIN.md "Tax code (MST)": weights over the first nine digits.
TAX_WEIGHTS: tuple[int, ...] = (31, 29, 23, 19, 17, 13, 7, 5, 3)

_COMBINING = "[\u0300-\u036f]"
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


# --------------------------------------------------------------------------- small helpers

def _col(c: ColumnOrName) -> Column:
    return F.col(c) if isinstance(c, str) else c


def _rx_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in sorted(set(chars)))


def _literal_map(pairs: Mapping[str, str] | list[tuple[str, str]]) -> Column:
    """A literal ``map<string,string>`` as ONE leaf of the expression tree (``str_to_map`` of a
    literal, constant-folded by the optimizer): ``create_map`` would add two leaves per entry to
    every copy of the expression that uses it."""
    items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
    assert all("\x01" not in k + v and "\x02" not in k + v for k, v in items)
    body = "\x01".join(f"{k}\x02{v}" for k, v in items)
    return F.str_to_map(F.lit(body), F.lit("\x01"), F.lit("\x02"))


def _literal_array(values: list[str]) -> Column:
    """A literal ``array<string>`` as ONE leaf of the expression tree (``split`` of a literal,
    constant-folded), for O(1) lookups by position."""
    assert all("\x01" not in v for v in values)
    return F.split(F.lit("\x01".join(values)), "\x01")


def _let(value: Column, fn: Callable[[Column], Column]) -> Column:
    """``fn(x)`` with ``x`` bound to ``value``, like SQL ``LET``: a one-element ``transform``.

    The only binding construct Spark offers that keeps the expression TREE linear: without it,
    every use of ``x`` copies ``value``'s whole subtree, the copies multiply across the steps of
    a rule, and analysing/optimising the plan takes seconds to minutes (an inlined
    ``standardise_name`` had 730k leaves). ``fn`` and ``value`` run interpreted (higher-order
    functions have no code generation in Spark 4.1), so keep both cheap, or compute ``value``
    with :func:`_pre` below.
    """
    return F.transform(F.array(value), fn)[0]


def _pre(value: Column, never: Column | str = "") -> Column:
    """``value`` evaluated by generated code in a projection BELOW the current one.

    ``NULLIF(value, never)`` is a ``With`` expression; the optimizer (``RewriteWithExpression``)
    moves its operand into a new projection underneath when it sits in an always-evaluated
    position (not inside a CASE branch), and the rest of the plan reads it as a column. Used for
    the argument of :func:`_let`: the heavy, linear part of a rule then runs with code generation
    and the interpreted lambda only sees a column. ``value`` must never equal ``never`` (the
    result would be null).
    """
    return F.nullif(value, never if isinstance(never, Column) else F.lit(never))


def _blank_to_null(c: Column) -> Column:
    """'' -> null. ``c`` is evaluated twice: pass a bound (lambda) variable or a column."""
    return F.when(F.length(c) > 0, c)


# --------------------------------------------------------------------------- Vietnamese tables

@lru_cache(maxsize=None)
def _vi_letters() -> tuple[str, ...]:
    """Every precomposed Vietnamese letter (lower and upper), plus đ/Đ."""
    out = []
    for base in "aăâeêioôơuưy":
        for tone in ("",) + _TONES:
            ch = unicodedata.normalize("NFC", base + tone)
            out += [ch, ch.upper()]
    return tuple(dict.fromkeys(out + ["đ", "Đ"]))


@lru_cache(maxsize=None)
def _nfc_table() -> tuple[tuple[str, str], ...]:
    """Decomposed / half-decomposed (Windows-1258) / mis-ordered clusters -> NFC letter.

    Generated from ``unicodedata``: for each Vietnamese letter, its base letter followed by every
    ordering of its marks, and every partly composed letter followed by the remaining marks.
    """
    table: dict[str, str] = {}
    for ch in _vi_letters():
        d = unicodedata.normalize("NFD", ch)
        base, marks = d[0], d[1:]
        if not marks:
            continue
        for r in range(0, len(marks)):
            for subset in itertools.combinations(marks, r):
                head = unicodedata.normalize("NFC", base + "".join(subset))
                if len(head) != 1:
                    continue
                rest = list(marks)
                for m in subset:
                    rest.remove(m)
                for perm in itertools.permutations(rest):
                    table.setdefault(head + "".join(perm), ch)
    return tuple(table.items())


@lru_cache(maxsize=None)
def _fold_translate() -> tuple[str, str]:
    """(src, dst) for ``translate``: accented capitals -> ASCII capitals, combining marks deleted."""
    src, dst = [], []
    for cp in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        if not ch.isupper():
            continue
        plain = text.strip_diacritics(ch)
        if len(plain) == 1 and plain.isascii() and plain != ch:
            src.append(ch)
            dst.append(plain.upper())
    marks = "".join(chr(c) for c in range(0x300, 0x370))
    return "".join(src) + marks, "".join(dst)


@lru_cache(maxsize=None)
def _mojibake_tables() -> tuple[str, str, str]:
    """(cp1252 specials, their byte values as U+0080..U+009F, regex telltale of UTF-8-as-cp1252)."""
    table = [bytes([i]).decode("cp1252", errors="ignore") or chr(i) for i in range(256)]
    specials = "".join(table[i] for i in range(0x80, 0xA0) if table[i] != chr(i))
    byte_chars = "".join(chr(i) for i in range(0x80, 0xA0) if table[i] != chr(i))
    cont = _rx_class("".join(table[i] for i in range(0x80, 0xC0)))
    lead2 = _rx_class("".join(table[i] for i in range(0xC2, 0xE0)))
    lead3 = _rx_class("".join(table[i] for i in range(0xE0, 0xF0)))
    telltale = f"[{lead2}][{cont}]|[{lead3}][{cont}][{cont}]"
    return specials, byte_chars, telltale


#: Internal marker (a Unicode noncharacter, reserved for internal use) put in front of each
#: oa/oe/uy cluster that :func:`to_new_tone` rewrites.
_MARK = "\ufdd0"


@lru_cache(maxsize=None)
def _tone_marking() -> tuple[str, tuple[tuple[str, str], ...]]:
    """(regex of the clusters to move, (marker + old cluster, new cluster) literal pairs).

    Same rule as ``text.to_new_tone``: the tone moves from the 2nd to the 1st vowel of oa/oe/uy
    only at the end of a syllable (no letter or mark follows), never after another vowel, and
    ``uy`` never after ``q``. One regex marks every such cluster (clusters cannot overlap or touch:
    each is followed by a non-letter), then one literal ``replace`` per cluster rewrites it.
    """
    vowels = _rx_class("".join(ch for ch in _vi_letters()
                               if text.strip_diacritics(ch).lower() in "aeiouy"))
    o_second = _rx_class("".join(k[1] for k in text._OLD_TO_NEW if k[0] in "oO"))
    u_second = _rx_class("".join(k[1] for k in text._OLD_TO_NEW if k[0] in "uU"))
    end = "(?![\\p{L}\\p{M}])"
    # The literal first letter comes first and the look-behind checks the letter before it:
    # a leading look-behind over the ~140-letter vowel class ran at every position (10x slower).
    pattern = (f"[oO](?<![{vowels}][oO])[{o_second}]{end}"
               f"|[uU](?<![{vowels}qQ][uU])[{u_second}]{end}")
    return pattern, tuple((_MARK + old, new) for old, new in text._OLD_TO_NEW.items())


# --------------------------------------------------------------------------- text primitives

def _repair_telltale_value(s: Column) -> Column:
    """:func:`repair_mojibake` of a value known to contain the telltale: once(once(s))."""
    specials, byte_chars, telltale = _mojibake_tables()

    def fixed(x: Column) -> Column:
        latin = F.regexp_replace(F.translate(x, specials, byte_chars), "[^\\x00-\\xff]", "\u00ff")
        return F.try_validate_utf8(F.encode(latin, "ISO-8859-1").cast("string"))

    first = F.coalesce(fixed(s), s)
    return F.when(first.rlike(telltale), F.coalesce(fixed(first), first)).otherwise(first)


def repair_mojibake(col: ColumnOrName) -> Column:
    """Undo UTF-8 bytes mis-read as cp1252 ("Nguyá»…n" -> "Nguyễn"); DOMAIN.md "Legacy encodings".

    Applied only when the value contains a UTF-8-as-cp1252 telltale (a lead byte image such as
    "Ã"/"Ä"/"Æ"/"á" followed by continuation-byte images such as "»"/"º"). The repair maps every
    character back to its cp1252 byte and decodes the bytes as UTF-8; if they are not valid UTF-8
    (or contain characters outside cp1252) the value is returned unchanged. Repairs twice, so
    doubly mis-decoded text is fixed and the function stays idempotent on it. Clean values (the
    vast majority) cost one regex test.
    """
    s = _col(col).cast("string")
    return F.when(s.rlike(_mojibake_tables()[2]), _repair_telltale_value(s)).otherwise(s)


def nfc(col: ColumnOrName) -> Column:
    """Compose decomposed Vietnamese letters into NFC; DOMAIN.md "Composed vs decomposed Unicode".

    Spark has no ``normalize()``. Only values containing a combining mark (U+0300..U+036F) take
    the slow path: split into clusters (a base character plus its combining marks) and replace
    each multi-character cluster through a literal map generated from ``unicodedata`` (NFD forms,
    Windows-1258 half-decomposed forms, any mark order). Already-NFC text is returned as is.
    """
    s = _col(col).cast("string")
    table = _literal_map(list(_nfc_table()))
    composed = F.array_join(F.transform(
        F.split(s, f"(?={_COMBINING.replace('[', '[^', 1)})"),
        lambda p: F.when(F.length(p) > 1, F.coalesce(F.try_element_at(table, p), p)).otherwise(p)), "")
    return F.when(s.rlike(_COMBINING), composed).otherwise(s)


def to_new_tone(col: ColumnOrName) -> Column:
    """Canonical NEW tone placement: hoà->hòa, thuỷ->thủy, khoẻ->khỏe, Thuý->Thúy.

    DOMAIN.md "Old vs new tone placement" (this project's canonical style). Same rule as
    ``lakehouse.reference.text.to_new_tone``: only oa/oe/uy at the end of a syllable, not after
    another vowel, ``uy`` not after ``q`` (quý stays). Input must be NFC.
    """
    s = _col(col)
    pattern, pairs = _tone_marking()
    moved = F.regexp_replace(s, pattern, _MARK + "$0")
    for old, new in pairs:
        moved = F.replace(moved, F.lit(old), F.lit(new))
    return F.when(s.rlike(pattern), moved).otherwise(s)


def _fold_chars(c: Column) -> Column:
    src, dst = _fold_translate()
    return F.translate(F.upper(c), src, dst)


def _fold_spaces(x: Column, bound: bool = False) -> Column:
    """Collapse whitespace runs and trim. The string is rebuilt only when needed; the test is a
    regex (``x`` named 3 times) or, for a bound ``x``, byte searches for two spaces or a non-space
    whitespace (Java's \\s), cheaper but naming ``x`` 8 times."""
    if bound:
        rebuild = x.contains("  ")
        for ch in "\t\n\x0b\x0c\r":
            rebuild = rebuild | x.contains(ch)
    else:
        rebuild = x.rlike("\\s\\s|[\\t\\n\\x0B\\f\\r]")
    return F.trim(F.when(rebuild, F.regexp_replace(x, "\\s+", " ")).otherwise(x))


def fold(col: ColumnOrName) -> Column:
    """Matching key: upper case, no diacritics, Đ->D, single spaces, trimmed.

    DOMAIN.md "Stripped diacritics" (Đ is not decomposed by NFD, so it is mapped explicitly).
    Input should be NFC; stray combining marks are deleted.
    """
    return _fold_spaces(_fold_chars(_col(col)))


def _squeeze(s: Column) -> Column:
    """NFC, whitespace runs (incl. NBSP) -> one space, trimmed."""
    return F.trim(F.regexp_replace(nfc(s), "[\\s\u00a0]+", " "))


def _clean_text(col: ColumnOrName) -> Column:
    """mojibake repair -> NFC -> whitespace collapsed and trimmed (empty -> null)."""
    return F.nullif(_squeeze(repair_mojibake(col)), F.lit(""))    # one copy of the operand


# --------------------------------------------------------------------------- names

@lru_cache(maxsize=None)
def _name_forms(kind: str) -> tuple[str, ...]:
    """Title-cased surname / middle-name forms: as listed, new tone placement, no diacritics."""
    rows = reference.surnames() if kind == "surname" else \
        list(reference.middle_names("M")) + list(reference.middle_names("F"))
    forms = set()
    for r in rows:
        n = str(r["name"])
        for v in (n, text.to_new_tone(n), text.strip_diacritics(n)):
            forms.add(v[:1].upper() + v[1:].lower())
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


@lru_cache(maxsize=None)
def _name_alternation(kind: str) -> str:
    """The forms as a regex alternation (used by the Python oracle in ``udf_baseline``)."""
    return "(?:" + "|".join(_name_forms(kind)) + ")"


#: Reorders "A B C D" (tokens separated by single spaces) by replacement: kept, surname moved
#: first ("D A B C") or surname first and given name last ("D B C A").
_REORDER_RX = "^(\\S+)((?: \\S+)*?) (\\S+)$"
_REORDER_REPL = ("$1$2 $3", "$3 $1$2", "$3$2 $1")


def _name_order(t: Column) -> Column:
    """0 keep | 1 surname first | 2 surname first and given name last, for a Title-cased name
    with single spaces (step 5 of :func:`standardise_name`); ``t`` should be a bound variable.

    Token tests are hashed set lookups (``isin`` of many literals becomes ``InSet``) on
    ``substring_index`` tokens: the same rule as the Python oracle's regexes
    ``^(?!SUR )\\S+( \\S+)* SUR$`` (swap) and ``^(?!MID )\\S+ MID( \\S+)* \\S+$`` (given name
    first). ``AND`` and ``CASE`` stop early, so most names cost a space test and one lookup.
    """
    sur, mid = _name_forms("surname"), _name_forms("middle")
    first = F.substring_index(t, " ", 1)
    swapped = t.contains(" ") & F.substring_index(t, " ", -1).isin(*sur) & ~first.isin(*sur)
    first_two = F.substring_index(t, " ", 2)
    given_first = (first_two != t) & ~first.isin(*mid) & F.substring_index(first_two, " ", -1).isin(*mid)
    return F.when(swapped, F.when(given_first, 2).otherwise(1)).otherwise(0)


#: One regex test on the raw value picks the slow path: a mojibake telltale, a combining mark,
#: a whitespace run or non-space whitespace, a blank value, or an oa/oe/uy cluster whose tone may
#: sit on the 2nd vowel (any case: initcap runs later). Other names only need trim + initcap.
@lru_cache(maxsize=None)
def _name_slow_path() -> str:
    _, _, telltale = _mojibake_tables()
    old = _rx_class("".join(k[1] for k in text._OLD_TO_NEW))
    return f"{telltale}|{_COMBINING}|[\\s\u00a0]{{2}}|[\\t\\n\\x0B\\f\\r\u00a0]|^ *$|[oOuU][{old}]"


def standardise_name(col: ColumnOrName) -> Column:
    """Standardise a Vietnamese personal name.

    Returns ``struct<name, name_folded, order_swapped, mojibake_repaired, was_decomposed,
    old_tone, no_diacritics>``. Steps (DOMAIN.md "Text faults seen in Vietnamese personal data"):

    1. repair UTF-8-as-cp1252 mojibake ("Nguyá»…n" -> "Nguyễn");
    2. compose to NFC (NFD and Windows-1258 half-decomposed input);
    3. collapse spaces, trim, Title Case per word (Vietnamese capitals: "ĐẶNG" -> "Đặng");
    4. canonical NEW tone placement at oa/oe/uy syllable ends (Hoà -> Hòa, Thuý -> Thúy);
    5. reversed order (given name ... surname): when the LAST token is a known surname
       (``reference.surnames()``, with or without diacritics) and the FIRST is not, the surname is
       moved first and ``order_swapped`` is set. If the first remaining token is not a known
       middle name but the second is ("Hòa Thị Nguyễn"), the given name goes last
       ("Nguyễn Thị Hòa"); otherwise the order of the rest is kept ("Thị Hòa Nguyễn").
       Surnames are never a match key on their own (Nguyễn ~38%): this only reorders.
    6. ``name_folded``: upper case, no diacritics, Đ->D, single spaces, for matching.

    ``no_diacritics`` marks names written without any diacritics (weaker evidence when matching).
    """
    _, _, telltale = _mojibake_tables()
    raw = _col(col).cast("string")
    slow = raw.rlike(_name_slow_path())
    # Generated code, in a projection below (see _pre): the cleaned Title-cased name, its folded
    # key and flags (bit 4: slow path, 2: mojibake, 1: decomposed). Folding ignores where the tone
    # sits (hoà and hòa both fold to HOA), so the key of the unswapped name is fold(initcap).
    squeezed = F.when(slow, F.when(raw.rlike(telltale), _squeeze(_repair_telltale_value(raw)))
                      .otherwise(_squeeze(raw))).otherwise(F.trim(raw))
    initcap = F.initcap(squeezed)
    bound = F.struct(
        _pre(initcap).alias("i"),                                             # '' -> null
        _pre(fold(initcap)).alias("k"),
        _pre(F.when(slow, 4 + raw.rlike(telltale).cast("int") * 2 + raw.rlike(_COMBINING).cast("int"))
             .otherwise(0), F.lit(-1)).alias("f"))
    repl = F.array(*map(F.lit, _REORDER_REPL))

    def result(x: Column, t: Column, order: Column) -> Column:
        name = F.when(order == 0, t).otherwise(F.regexp_replace(t, _REORDER_RX, F.element_at(repl, order + 1)))
        folded = F.when(order == 0, x["k"]).otherwise(_let(_fold_chars(name), lambda c: _fold_spaces(c, bound=True)))
        return F.struct(
            name.alias("name"),
            _blank_to_null(folded).alias("name_folded"),
            F.coalesce(order > 0, F.lit(False)).alias("order_swapped"),
            F.coalesce(x["f"].bitwiseAND(2) > 0, F.lit(False)).alias("mojibake_repaired"),
            F.coalesce(x["f"].bitwiseAND(1) > 0, F.lit(False)).alias("was_decomposed"),
            F.coalesce(x["i"] != t, F.lit(False)).alias("old_tone"),
            # all ASCII <=> one UTF-8 byte per character (reordering keeps the characters)
            F.coalesce(F.length(t) == F.octet_length(t), F.lit(False)).alias("no_diacritics"))

    return _let(bound, lambda x: _let(
        F.when(x["f"] >= 4, to_new_tone(x["i"])).otherwise(x["i"]),     # fast path: no oa/oe/uy
        lambda t: _let(_name_order(t), lambda order: result(x, t, order))))


# --------------------------------------------------------------------------- dates

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

    DOMAIN.md "Dates": dd/MM/yyyy, d/M/yyyy, d/M/yy (pivot: yy > current yy -> 19yy, else 20yy),
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


# --------------------------------------------------------------------------- CCCD / CMND

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
    birth_year>``. DOMAIN.md "Citizen identity number":

    * strip spaces, dots, dashes (and a spreadsheet ".0"); 11 digits -> restore the lost leading
      zero (``lost_leading_zero``); 12 digits required;
    * 9 digits is an old CMND, not a CCCD: cccd null, reason 'cmnd'; other lengths 'bad_length',
      non-digits 'not_digits';
    * ``PPP`` must be one of :data:`GSO_PROVINCE_CODES` ('bad_province'); G in 0..5
      ('bad_century'; even = male, odd = female, 0/1 = 1900s, 2/3 = 2000s, 4/5 = 2100s);
    * with ``birth_date``: century + YY must equal the birth year ('birth_year_mismatch');
      with ``sex_is_female`` (boolean): G parity must agree ('sex_mismatch').

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

    DOMAIN.md "The old 9-digit CMND": digits only; 9 digits ('cmnd9'), 8 digits -> leading zero
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

    DOMAIN.md "Tax code (MST)": layout ``PP SSSSSSS C`` with optional ``-BBB`` branch suffix.
    Spaces and dots are removed; the canonical forms are 'dddddddddd' ('enterprise10'),
    'dddddddddd-BBB' ('branch13', also written without the dash) and 'dddddddddddd'
    ('personal12': since 1 July 2025 individuals use their 12-digit personal ID, validated with
    the CCCD structure: province code and century digit). A lost leading zero is restored for
    9 digits (-> 10), 12 digits not starting with 0 (-> 13, branch) and 11 digits (-> personal 12).

    Check digit: S = sum(w_i * d_i) with weights (31,29,23,19,17,13,7,5,3), C = 10 - (S mod 11);
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
    DOMAIN.md "Social and health insurance": the BHXH number is 10 digits (no check digit);
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


# --------------------------------------------------------------------------- phones

@lru_cache(maxsize=None)
def _phone_tables() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    rows = reference.mobile_prefixes()
    carriers = tuple((r["prefix"], r["carrier"]) for r in rows)
    old = tuple((r["old_prefix"], r["prefix"]) for r in rows if r["old_prefix"])
    return carriers, old


def standardise_phone(col: ColumnOrName) -> Column:
    """Standardise a Vietnamese phone number.

    Returns ``struct<phone, carrier, kind, valid, converted_from_11, note>``. DOMAIN.md "Mobile
    numbers":

    * everything but digits is dropped (spaces, dots, dashes, brackets); +84 / 84 / 0084 -> 0;
      a lost leading zero is restored (9-digit mobile, 10-digit old 1xx…);
    * 11-digit old mobile prefixes 01xx -> new 0xx (last 7 digits kept; ``converted_from_11``),
      table from ``mobile_prefixes.csv``;
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
    assert all(k.startswith("01") and len(k) == 4 for k in old_by)
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


# --------------------------------------------------------------------------- sex / ethnicity

#: Default meaning of numeric sex codes. Sources differ: the population registry style is
#: 1=male, 2=female (the default); some systems use 1=male, 0=female; pass ``codes`` for those.
DEFAULT_SEX_CODES: Mapping[str, str] = {"1": "M", "2": "F"}
_SEX_WORDS = {"NAM": "M", "M": "M", "MALE": "M", "TRAI": "M", "NAM GIOI": "M",
              "NU": "F", "F": "F", "FEMALE": "F", "GAI": "F", "NU GIOI": "F", "W": "F"}


def standardise_sex(col: ColumnOrName, codes: Mapping[str, str] | None = None) -> Column:
    """'M' / 'F' / null from Nam/Nữ/Nu/nam/M/F/male/female or a numeric code.

    Numeric codes are per source (DOMAIN.md lists no national code): ``codes`` maps them, default
    :data:`DEFAULT_SEX_CODES` (1=M, 2=F). A source using 1=M, 0=F passes ``{"1": "M", "0": "F"}``.
    Anything unknown -> null. (Matches the CCCD G digit rule: even = male, odd = female.)
    """
    table = {**_SEX_WORDS, **dict(codes if codes is not None else DEFAULT_SEX_CODES)}
    key = fold(repair_mojibake(nfc(_col(col).cast("string"))))
    key = F.regexp_replace(key, r"^(\d+)\.0+$", "$1")
    return F.try_element_at(_literal_map(table), key)


_ETHNIC_ALIASES = {"HMONG": "08", "MEO": "08", "MNONG": "20", "BRU": "23", "VANKIEU": "23",
                   "KHOME": "05", "KHMU": "29", "TAYOI": "31", "PATHEN": "46", "XODANG": "14",
                   "EDE": "12", "GIARAI": "10", "JRAI": "10", "BANA": "13", "RAGLAI": "21",
                   "XTIENG": "22", "STIENG": "22", "HOA": "04", "NGUOIHOA": "04", "VIET": "01"}


def _ethnic_key(c: Column) -> Column:
    k = F.regexp_replace(fold(c), r"^(DAN TOC|DT)\s*", "")
    return F.regexp_replace(k, r"[^A-Z0-9]", "")


@lru_cache(maxsize=None)
def _ethnic_table() -> tuple[tuple[str, str], ...]:
    out = {}
    for r in reference.ethnicities():
        key = "".join(ch for ch in text.strip_diacritics(str(r["name"])).upper() if ch.isalnum())
        out[key] = str(r["code"])
    for k, v in _ETHNIC_ALIASES.items():
        out.setdefault(k, v)
    return tuple(out.items())


def standardise_ethnicity(col: ColumnOrName) -> Column:
    """2-digit GSO ethnicity code ("01".."54") from a code or a name.

    ``ethnicities.csv`` (Decision 121-TCTK/PPCĐ codes). Numbers 1..54 are zero-padded; names match
    upper case without diacritics, spaces, hyphens or apostrophes, with an optional "Dân tộc"
    prefix, so "Kinh", "KINH", "Ê Đê", "Ê-đê", "H'Mông", "Hmong", "Mèo" all resolve. Unknown -> null.
    """
    s = F.trim(nfc(repair_mojibake(_col(col).cast("string"))))
    num = F.regexp_extract(s, r"^0*(\d{1,2})(?:\.0+)?$", 1)
    code = F.when(num != "", F.lpad(num, 2, "0"))
    code = F.when(code.between("01", "54"), code)
    return F.coalesce(code, F.try_element_at(_literal_map(list(_ethnic_table())), _ethnic_key(s)))


# --------------------------------------------------------------------------- addresses

_HCM = "Thành phố Hồ Chí Minh"
_BOUND = r"(?<![\p{L}\p{M}\d])"


@lru_cache(maxsize=None)
def _address_rules() -> tuple[tuple[str, str], ...]:
    """(Java regex, replacement) pairs of :func:`expand_address_abbreviations`, applied in order.

    Each pattern starts with a look-ahead for its possible first letters: Java tries a pattern at
    every position, and a leading look-behind over Unicode classes at every position of every
    address part was the main cost of address standardisation."""
    return (
        (rf"(?i)(?=[TSH]){_BOUND}(?:TP\.?\s*H[ồo]\s*Ch[íi]\s*Minh|TP\.?\s*HCM|S[àa]i\s*G[òo]n|HCM)(?![\p{{L}}\d])",
         _HCM),
        (rf"(?i)(?=T){_BOUND}Thành phố Thành phố ", "Thành phố "),
        (rf"(?=[PF]){_BOUND}[PF]\.?\s*(\d{{1,2}})(?!\d)", "Phường $1"),
        (rf"(?=Q){_BOUND}Q\.?\s*(\d{{1,2}})(?!\d)", "Quận $1"),
        (rf"(?=T){_BOUND}TX\.\s*", "Thị xã "),
        (rf"(?=T){_BOUND}TT\.\s*", "Thị trấn "),
        (rf"(?=T){_BOUND}TP\.\s*", "Thành phố "),
        (rf"(?=[PF]){_BOUND}[PF]\.\s*", "Phường "),
        (rf"(?=Q){_BOUND}Q\.\s*", "Quận "),
        (rf"(?=H){_BOUND}H\.\s*", "Huyện "),
        (rf"(?=X){_BOUND}X\.\s*", "Xã "),
    )


#: Internal markers (Unicode noncharacters): the replacement words of the abbreviation rules are
#: appended to a value after ``_DICT`` (separated by ``_WORD``) so that ONE regex pass can copy
#: each rule's replacement from there with a capturing look-ahead (see :func:`_merged_rules`).
_DICT = "\ufdd1"
_WORD = "\ufdd2"


def _scoped(pattern: str) -> str:
    """A rule pattern as a group whose leading inline flags apply to it only."""
    return f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"


@lru_cache(maxsize=None)
def _merged_rules() -> tuple[str, str, str]:
    """(regex, replacement, suffix): rules 2..11 of :func:`_address_rules` as ONE regex pass.

    Each rule becomes an alternative followed by a look-ahead that captures its replacement word
    from the suffix (``_DICT`` + words joined by ``_WORD``, appended to the value; the look-ahead
    finds the LAST ``_DICT``, so input containing the marker is still safe). Groups that did not
    take part in a match append nothing, so the replacement is every group in order. Same result
    as applying the rules one after the other: no rule matches text another rule produced (none
    matches inside the replacement words; rule 2 only collapses "Thành phố Thành phố ", which the
    later rules cannot produce before it runs) and matches never overlap, so leftmost-first
    alternation picks the same matches. Rule 1 (-> "Thành phố Hồ Chí Minh") stays a separate pass
    before: rule 2 must see its output. None of the rules can match in or across the suffix (its
    characters are neither letters, digits nor spaces); a last alternative deletes it.
    """
    rules = _address_rules()[1:]
    words: list[str] = []
    alts, refs, group = [], [], 0
    dict_rx, word_rx = f"\\x{{{ord(_DICT):X}}}", f"\\x{{{ord(_WORD):X}}}"
    for pattern, repl in rules:
        word = repl.removesuffix("$1")
        assert "$" not in word and _DICT not in word and _WORD not in word
        if word not in words:
            words.append(word)
        own = len(re.findall(r"(?<!\\)\((?!\?)", pattern))
        assert own == (1 if repl.endswith("$1") else 0)
        look = f"(?=(?s:.*){dict_rx}(?:[^{word_rx}]*+{word_rx}){{{words.index(word)}}}([^{word_rx}]*+))"
        alts.append(f"{_scoped(pattern)}{look}")
        num = f"${group + 1}" if own else ""
        group += own + 1
        refs.append(f"${group}{num}")
    # the suffix itself (from the last marker on) is replaced by nothing: no group takes part
    alts.append(f"{dict_rx}(?!(?s:.*){dict_rx})(?s:.*)")
    first = "PFQTtHX" + _DICT
    return f"(?=[{first}])(?:{'|'.join(alts)})", "".join(refs), _DICT + _WORD.join(words)


def _expand_rules(s: Column) -> Column:
    """The rules of :func:`_address_rules` on a cleaned value, in two regex passes (the second
    also removes the suffix it appends)."""
    rx, repl, suffix = _merged_rules()
    first_rx, first_repl = _address_rules()[0]
    return F.regexp_replace(F.concat(F.regexp_replace(s, first_rx, first_repl), F.lit(suffix)), rx, repl)


@lru_cache(maxsize=None)
def _clean_gate() -> str:
    """Regex of the values :func:`_clean_text` changes beyond trimming: a mojibake telltale, a
    combining mark, a whitespace run or a non-space whitespace character."""
    return f"{_mojibake_tables()[2]}|{_COMBINING}|[\\s\u00a0]{{2}}|[\\t\\n\\x0B\\f\\r\u00a0]"


def _expand_core(col: ColumnOrName) -> Column:
    """:func:`expand_address_abbreviations` except that a blank value gives '' (not null). One
    regex test spots the (rare) values that need more cleaning than trimming."""
    s = _col(col).cast("string")
    return _expand_rules(F.when(s.rlike(_clean_gate()), _squeeze(repair_mojibake(s))).otherwise(F.trim(s)))


def expand_address_abbreviations(col: ColumnOrName) -> Column:
    """Expand abbreviations in free-text addresses (DOMAIN.md "Abbreviations in free-text").

    "TP.HCM" / "TPHCM" / "TP. Hồ Chí Minh" / "Sài Gòn" / "HCM" -> "Thành phố Hồ Chí Minh";
    "P." / "F." -> "Phường ", "Q." -> "Quận ", "TX." -> "Thị xã ", "TT." -> "Thị trấn ",
    "H." -> "Huyện ", "TP." -> "Thành phố ", "X." -> "Xã "; "P1"/"F.1"/"Q3" -> "Phường 1"/"Quận 3".
    Also repairs mojibake, composes NFC and collapses spaces.
    """
    return F.nullif(_expand_core(col), F.lit(""))


_UNIT_TYPES = r"^(TINH|THANH PHO|THI XA|THI TRAN|QUAN|HUYEN|PHUONG|XA|DAC KHU) "
_PROVINCE_ALIASES = {"HUE": "46"}  # old "Tỉnh Thừa Thiên Huế" is often written "Huế"


@lru_cache(maxsize=None)
def _expand_gate() -> str:
    """Regex matching (at least) every value :func:`expand_address_abbreviations` changes beyond
    trimming: the :func:`_clean_gate`, or text without which no rule of :func:`_address_rules`
    can match ("TP" + "H", "HCM", "Sài Gòn", "Thành phố Thành phố ", a letter P/F/Q/H/X + ".",
    "TX."/"TT."/"TP.", P/F/Q + a number). A superset is enough (the expansion runs on matches)
    and much cheaper than the rules' own patterns. No look-around: a match in a comma-separated
    part of a text is a match in the text (see :func:`standardise_address`)."""
    rules = r"(?=[PFQHXTtSsh])(?:[PFQHX]\.|T[XTP]\.|[PFQ]\s*\d|(?i:TP\.?\s*H|HCM|S[àa]i\s*G[òo]n|Thành phố Thành phố ))"
    return f"{_clean_gate()}|{rules}"


def _key_of(e: Column) -> Column:
    """The key of an expanded unit name: folded, runs of anything but A-Z/0-9 -> one space,
    trimmed, leading unit type and leading zeros of numbers removed (one pass each)."""
    k = F.trim(F.regexp_replace(_fold_chars(e), "[^A-Z0-9]+", " "))
    # = the type removal then (?<![0-9])0+(?=[0-9]) -> '': the removed type ends with a space
    k = F.regexp_replace(k, _UNIT_TYPES + "|0(?<![0-9]0)0*(?=[0-9])", "")
    return F.nullif(F.trim(k), F.lit(""))


def _unit_key_gated(s: Column, expand: Column) -> Column:
    return _key_of(F.when(expand, _expand_core(s)).otherwise(s))


def unit_key(col: ColumnOrName) -> Column:
    """Matching key of an administrative unit name: abbreviations expanded, folded, unit type
    removed, numbers without leading zeros ("Phường 01" -> "1", "Tỉnh Hoà Bình" -> "HOA BINH").

    Values that need no cleaning and contain no abbreviation (one regex test) skip the expansion,
    which would leave them unchanged (the key ignores surrounding spaces)."""
    s = _col(col).cast("string")
    return _unit_key_gated(s, s.rlike(_expand_gate()))


@lru_cache(maxsize=8)
def admin_units_frame(spark: SparkSession) -> DataFrame:
    """Old ward -> new ward(s) reference, one row per old ward (10,056 rows), with match keys.

    Built from ``old_units.csv``, ``province_old_to_new.csv`` and ``ward_old_to_new.csv``
    (DOMAIN.md "Administrative units: the 2025 reform"). Columns: old_province_code,
    old_province_name, old_district_code, old_district_name, old_ward_code, old_ward_name,
    new_province_code, new_ward_codes (array; several for the 441 split wards, empty for the 28
    unmapped ones), province_key, district_key, ward_key (see :func:`unit_key`).
    """
    p_map = reference.province_old_to_new()
    wmap: dict[str, list[str]] = {}
    for r in reference.ward_old_to_new():
        wmap.setdefault(r["old_ward_code"], []).append(r["new_ward_code"])
    rows = [(u["province_code"], u["province_name"], u["district_code"], u["district_name"],
             u["ward_code"] or None, u["ward_name"] or None, p_map[u["province_code"]],
             sorted(set(wmap.get(u["ward_code"], [])))) for u in reference.old_units()]
    df = spark.createDataFrame(rows, "old_province_code string, old_province_name string, "
                               "old_district_code string, old_district_name string, old_ward_code string, "
                               "old_ward_name string, new_province_code string, new_ward_codes array<string>")
    return df.select("*", unit_key("old_province_name").alias("province_key"),
                     unit_key("old_district_name").alias("district_key"),
                     unit_key("old_ward_name").alias("ward_key"))


@lru_cache(maxsize=8)
def new_units_frame(spark: SparkSession) -> DataFrame:
    """The 3,321 post-2025 wards (``new_units.csv``) with province_key and ward_key."""
    rows = [(u["province_code"], u["province_name"], u["ward_code"], u["ward_name"])
            for u in reference.new_units()]
    df = spark.createDataFrame(rows, "province_code string, province_name string, ward_code string, ward_name string")
    return df.select("*", unit_key("province_name").alias("province_key"),
                     unit_key("ward_name").alias("ward_key"))


_DISTRICT_TYPES = "Quận|Huyện|Thị xã|Thành phố"
_WARD_TYPES = "Phường|Xã|Thị trấn|Đặc khu"


def _last_typed_part(types: str) -> str:
    """Regex whose group 1 is the LAST comma-separated part (trimmed of spaces) that starts with
    one of ``types`` (ASCII case-insensitive) and a space, among the parts followed by a comma."""
    return f"(?s)^(?:.*,)? *((?i:{types}) [^,]*[^ ,]) *,"


def _split_address(t: Column) -> tuple[Column, Column, Column, Column, Column]:
    """(typed ward, district, province, untyped-ward-if-no-district, untyped-ward-if-district)
    text from an expanded free-text address ``t`` (a column: it is used several times), with
    string functions instead of an array of parts and higher-order functions.

    The parts are the comma-separated pieces, trimmed. The last part is the province; the last
    part but one typed Quận/Huyện/Thị xã/Thành phố is the district, the last one typed
    Phường/Xã/Thị trấn/Đặc khu the ward (a single part counts for both); otherwise the ward is the
    part before the district (or before the province)."""
    one_part = ~t.contains(",")
    x = F.when(one_part, F.concat(t, F.lit(","))).otherwise(t)
    district = F.nullif(F.regexp_extract(x, _last_typed_part(_DISTRICT_TYPES), 1), F.lit(""))
    typed_ward = F.nullif(F.regexp_extract(x, _last_typed_part(_WARD_TYPES), 1), F.lit(""))
    province = F.when(~one_part, F.trim(F.substring_index(t, ",", -1)))
    commas = F.length(t) - F.length(F.replace(t, F.lit(","), F.lit("")))

    def part_from_end(i: int) -> Column:
        return F.trim(F.substring_index(F.substring_index(t, ",", -i), ",", 1))

    untyped_no_d = F.when(commas >= 1, part_from_end(2))
    untyped_d = F.when(commas >= 2, part_from_end(3))
    return typed_ward, district, province, untyped_no_d, untyped_d


@lru_cache(maxsize=8)
def _address_lookups(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """Two small keyed lookup frames for :func:`standardise_address`, computed once and cached.

    * provinces by key ``_pk``: ``_opc`` (old code), ``_npc_old`` (its new code), ``_npc`` (a new
      province of that name);
    * wards by (``_pk``, ``_wk``): ``_old`` = the old wards of that name in the old province
      (n, code, sorted distinct new codes, name of the single new code), ``_by_dk`` = the same per
      district key, ``_nc`` = the new wards of that name in the new province (sorted) and
      ``_nn`` their name when there is one.

    The candidate lists are aggregated here, once, so that rows need only two hash joins and a
    small map lookup (no arrays of structs and no higher-order functions per row).
    """
    old = admin_units_frame(spark)
    new = new_units_frame(spark)
    names = new.select(F.col("ward_code").alias("_one"), F.col("ward_name").alias("name"))
    old_prov = old.select(F.col("province_key").alias("_pk"), F.col("old_province_code").alias("_opc"),
                          F.col("new_province_code").alias("_npc_old")).distinct()
    alias_rows = [(k, c, reference.province_old_to_new()[c]) for k, c in _PROVINCE_ALIASES.items()]
    # distinct: the alias may repeat a key the data already has
    old_prov = old_prov.unionByName(spark.createDataFrame(alias_rows, "_pk string, _opc string, _npc_old string")) \
        .distinct()
    new_prov = new.select(F.col("province_key").alias("_pk"), F.col("province_code").alias("_npc")).distinct()
    prov = old_prov.join(new_prov, "_pk", "full").where(F.col("_pk").isNotNull()).cache()
    dup = prov.groupBy("_pk").count().where("count > 1").collect()
    assert not dup, f"province keys naming several provinces: {dup}"

    def candidates(keys: list[str]) -> DataFrame:
        agg = (old.where(F.col("ward_key").isNotNull())
               .select(F.col("old_province_code").alias("_opc"), F.col("ward_key").alias("_wk"),
                       F.col("district_key").alias("_dk"), "old_ward_code", "new_ward_codes")
               .groupBy(*keys)
               .agg(F.count("*").alias("n"), F.min("old_ward_code").alias("code"),
                    F.array_sort(F.array_distinct(F.flatten(F.collect_list("new_ward_codes")))).alias("codes")))
        agg = agg.withColumn("_one", F.when(F.size("codes") == 1, F.col("codes")[0]))
        return agg.join(names, "_one", "left").drop("_one")

    fields = ["n", "code", "codes", "name"]
    all_old = candidates(["_opc", "_wk"]).select("_opc", "_wk", F.struct(*fields).alias("_old"))
    by_dk = (candidates(["_opc", "_wk", "_dk"]).where(F.col("_dk").isNotNull())
             .groupBy("_opc", "_wk")
             .agg(F.map_from_entries(F.collect_list(F.struct("_dk", F.struct(*fields)))).alias("_by_dk")))
    old_side = (prov.where(F.col("_opc").isNotNull()).select("_pk", "_opc")
                .join(all_old, "_opc").join(by_dk, ["_opc", "_wk"], "left").drop("_opc"))
    new_wards = (new.groupBy(F.col("province_code").alias("_npc"), F.col("ward_key").alias("_wk"))
                 .agg(F.sort_array(F.collect_set("ward_code")).alias("_nc")))
    new_wards = (new_wards.withColumn("_one", F.when(F.size("_nc") == 1, F.col("_nc")[0]))
                 .join(names.withColumnRenamed("name", "_nn"), "_one", "left").drop("_one"))
    new_side = prov.where(F.col("_npc").isNotNull()).select("_pk", "_npc").join(new_wards, "_npc").drop("_npc")
    wards = old_side.join(new_side, ["_pk", "_wk"], "full")
    frames = tuple(f.coalesce(1).cache() for f in (prov, wards))
    for f in frames:
        f.count()
    prov.unpersist()
    return frames


def standardise_address(df: DataFrame, *, address: str | None = None, ward: str | None = None,
                        district: str | None = None, province: str | None = None,
                        prefix: str = "addr_") -> DataFrame:
    """Map an address (free text or split columns) to the new 2-level units; adds columns.

    DOMAIN.md "Administrative units: the 2025 reform". Abbreviations are expanded first
    (:func:`expand_address_abbreviations`); units are matched by folded name without type
    (:func:`unit_key`) through broadcast hash joins against lookups aggregated once from
    :func:`admin_units_frame` and :func:`new_units_frame`:

    1. the OLD province by name; the old ward within it by name, narrowed by the district name
       when several wards share the name ('ward_ambiguous' when still several); the new province
       is exact (province_old_to_new.csv) and the new ward(s) come from ward_old_to_new.csv.
       A split old ward returns ALL new candidates and flag 'ward_split', never a guess.
    2. addresses already in the new 2-level form (ward + new province, no district) are matched
       against the new units directly (level 'new2').

    Added columns (prefixed): old_province_code, old_ward_code, new_province_code,
    new_ward_codes (array), new_ward_code (only when exactly one candidate), new_ward_name,
    level ('old3' | 'old2' | 'new2' | null) and flag ('ward_split' | 'ward_ambiguous' |
    'ward_unmapped' | 'ward_not_found' | 'province_not_found' | null).

    Performance: each step is its own projection over columns (an intermediate used several
    times is never copied into the next expression, and the optimizer does not inline it), every
    expression has generated code, and the lookups are two broadcast hash joins.
    """
    spark = df.sparkSession
    p = prefix
    tmp = "__addr"
    internal = [f"{tmp}_{n}" for n in ("t", "tw", "d", "p", "u2", "u3")]
    t, tw, d, pv, u2, u3 = (F.col(c) for c in internal)
    null = F.lit(None).cast("string")
    if address:
        df1 = df.withColumn(internal[0], expand_address_abbreviations(F.col(address)))
        typed_ward, dist, prov_txt, untyped_no_d, untyped_d = _split_address(t)
        df1 = df1.withColumns(dict(zip(internal[1:6], (typed_ward, dist, prov_txt, untyped_no_d, untyped_d))))
        aw = F.coalesce(tw, F.when(d.isNotNull(), u3).otherwise(u2))
        w_txt = F.coalesce(F.col(ward), aw) if ward else aw
        d_txt = F.coalesce(F.col(district), d) if district else d
        p_txt = F.coalesce(F.col(province), pv) if province else pv
    else:
        df1 = df
        w_txt, d_txt, p_txt = (F.col(c) if c else null for c in (ward, district, province))
    texts = [f"{tmp}_w", f"{tmp}_dt", f"{tmp}_pt"]
    df2 = df1.withColumns(dict(zip(texts, (w_txt, d_txt, p_txt))))
    if address and not (ward or district or province):
        # The parts are pieces of the expanded text between commas: when the text does not match
        # the (look-around free) expansion gate, no part does and none needs expanding again.
        df2 = df2.withColumn(f"{tmp}_g", t.rlike(_expand_gate()))
        keys = {k: _unit_key_gated(F.col(c), F.col(f"{tmp}_g")) for k, c in zip(("_wk", "_dk", "_pk"), texts)}
    else:
        keys = {k: unit_key(F.col(c)) for k, c in zip(("_wk", "_dk", "_pk"), texts)}
    keyed = df2.withColumns(keys).drop(*internal, *texts, f"{tmp}_g")

    prov, wards = _address_lookups(spark)
    j = keyed.join(F.broadcast(prov), "_pk", "left").join(F.broadcast(wards), ["_pk", "_wk"], "left")
    # the candidate old wards: those of the district when it names some, else all of that name
    j = j.withColumn("_ci", F.coalesce(F.try_element_at(F.col("_by_dk"), F.col("_dk")), F.col("_old")))
    n_c = F.coalesce(F.col("_ci.n"), F.lit(0))
    n_new = F.coalesce(F.size("_nc"), F.lit(0))
    use_new = (n_new > 0) & (F.col("_dk").isNull() | (n_c == 0))
    j = j.withColumn("_use", F.when(use_new, 1).when(n_c > 0, 2).otherwise(0))
    u_new, u_old = F.col("_use") == 1, F.col("_use") == 2
    new_codes = F.when(u_new, F.col("_nc")).when(u_old, F.col("_ci.codes"))
    new_prov_code = F.when(u_new, F.col("_npc")).otherwise(F.coalesce(F.col("_npc_old"), F.col("_npc")))
    level = F.when(u_new, "new2").when(u_old & F.col("_dk").isNotNull(), "old3").when(u_old, "old2")
    flag = (F.when(new_prov_code.isNull(), "province_not_found")
            .when(F.col("_use") == 0, "ward_not_found")
            .when(u_old & (n_c > 1), "ward_ambiguous")
            .when(u_new & (n_new > 1), "ward_ambiguous")
            .when(F.size(new_codes) > 1, "ward_split")
            .when(F.size(new_codes) == 0, "ward_unmapped"))
    one = F.size(new_codes) == 1
    out = j.withColumns({
        f"{p}old_province_code": F.col("_opc"),
        f"{p}old_ward_code": F.when(u_old & (n_c == 1), F.col("_ci.code")),
        f"{p}new_province_code": new_prov_code,
        f"{p}new_ward_codes": new_codes,
        f"{p}new_ward_code": F.when(one, new_codes[0]),
        f"{p}new_ward_name": F.when(one, F.when(u_new, F.col("_nn")).otherwise(F.col("_ci.name"))),
        f"{p}level": level,
        f"{p}flag": flag,
    })
    return out.select(*df.columns, f"{p}old_province_code", f"{p}old_ward_code", f"{p}new_province_code",
                      f"{p}new_ward_codes", f"{p}new_ward_code", f"{p}new_ward_name", f"{p}level", f"{p}flag")
