"""Text primitives: mojibake repair, NFC composition, new-style tone placement and folding to a
matching key (docs/domain.md#text-faults: #mojibake, #unicode-normalisation-nfc-and-nfd,
#windows-1258, #tone-placement-old-and-new-style). Lookup tables are generated once from
``unicodedata`` and :mod:`lakehouse.reference.text` and embedded as literals.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.reference import text
from lakehouse.silver.standardise._expr import (
    ColumnOrName,
    _col,
    _literal_map,
    _rx_class,
)

_COMBINING = "[\u0300-\u036f]"
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


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
    """Undo UTF-8 bytes mis-read as cp1252 ("Nguyá»…n" -> "Nguyễn"); docs/domain.md#mojibake.

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
    """Compose decomposed Vietnamese letters into NFC; docs/domain.md#unicode-normalisation-nfc-and-nfd
    and #windows-1258.

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

    docs/domain.md#tone-placement-old-and-new-style (this project's canonical style). Same rule as
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

    docs/domain.md#stripped-diacritics (Đ is not decomposed by NFD, so it is mapped explicitly).
    Input should be NFC; stray combining marks are deleted.
    """
    return _fold_spaces(_fold_chars(_col(col)))


def _squeeze(s: Column) -> Column:
    """NFC, whitespace runs (incl. NBSP) -> one space, trimmed."""
    return F.trim(F.regexp_replace(nfc(s), "[\\s\u00a0]+", " "))


def _clean_text(col: ColumnOrName) -> Column:
    """mojibake repair -> NFC -> whitespace collapsed and trimmed (empty -> null)."""
    return F.nullif(_squeeze(repair_mojibake(col)), F.lit(""))    # one copy of the operand
