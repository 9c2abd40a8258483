"""Personal names: mojibake / NFC / spacing / case / tone repaired, reversed order detected from
the reference surnames and middle names, and the folded matching key (docs/domain.md#text-faults,
#surnames-and-blocking).
"""

from __future__ import annotations

from functools import lru_cache

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver.standardise._expr import (
    ColumnOrName,
    _blank_to_null,
    _col,
    _let,
    _pre,
    _rx_class,
)
from lakehouse.silver.standardise.text import (
    _COMBINING,
    _fold_chars,
    _fold_spaces,
    _mojibake_tables,
    _repair_telltale_value,
    _squeeze,
    fold,
    to_new_tone,
)


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
    """The forms as a regex alternation (used by the Python oracle, tests/oracles/standardisers.py)."""
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
    old_tone, no_diacritics>``. Steps (docs/domain.md#text-faults):

    1. repair UTF-8-as-cp1252 mojibake ("Nguyá»…n" -> "Nguyễn");
    2. compose to NFC (NFD and Windows-1258 half-decomposed input);
    3. collapse spaces, trim, Title Case per word (Vietnamese capitals: "ĐẶNG" -> "Đặng");
    4. canonical NEW tone placement at oa/oe/uy syllable ends (Hoà -> Hòa, Thuý -> Thúy);
    5. reversed order (given name ... surname): when the LAST token is a known surname
       (``reference.surnames()``, with or without diacritics) and the FIRST is not, the surname is
       moved first and ``order_swapped`` is set. If the first remaining token is not a known
       middle name but the second is ("Hòa Thị Nguyễn"), the given name goes last
       ("Nguyễn Thị Hòa"); otherwise the order of the rest is kept ("Thị Hòa Nguyễn").
       Surnames are never a match key on their own (Nguyễn ~38%; docs/domain.md#surnames-and-blocking):
       this only reorders.
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
