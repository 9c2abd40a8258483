"""Pure-Python Vietnamese text helpers.

These are meant for precomputing small pools (names, place names) and for unit tests,
not for hot paths over millions of rows.

Tone-style naming follows docs/domain.md#tone-placement-old-and-new-style:

* "old" style puts the tone on the *second* vowel of an open ``oa``/``oe``/``uy``
  syllable: ``hoà``, ``khoẻ``, ``thuỷ``, ``Thuý``;
* "new" style (the project's canonical form, also used by the 2025 unit names) puts it on
  the *first* vowel: ``hòa``, ``khỏe``, ``thủy``, ``Thúy``.

(Linguists sometimes label these two the other way round; only the spelling matters here.)
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "TONE_STYLE_PAIRS",
    "cp1258_roundtrip",
    "fix_mojibake",
    "mojibake",
    "nfc",
    "nfd",
    "strip_diacritics",
    "to_new_tone",
    "to_old_tone",
    "to_windows1258_form",
]

# Combining tone marks: grave, acute, tilde, hook above, dot below.
_TONE_MARKS = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_TONE_SET = frozenset(_TONE_MARKS)


def nfc(s: str) -> str:
    """Return ``s`` in Unicode NFC (composed) form."""
    return unicodedata.normalize("NFC", s)


def nfd(s: str) -> str:
    """Return ``s`` in Unicode NFD (decomposed) form."""
    return unicodedata.normalize("NFD", s)


_D_MAP = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"})


def strip_diacritics(s: str) -> str:
    """Remove every diacritic (tone and vowel-quality marks); map Đ→D and đ→d.

    >>> strip_diacritics("Đặng Thị Hoà")
    'Dang Thi Hoa'
    """
    decomposed = nfd(s).translate(_D_MAP)
    return nfc("".join(ch for ch in decomposed if not unicodedata.combining(ch)))


# --------------------------------------------------------------------------- tone style

def _with_tone(base: str, tone: str) -> str:
    return nfc(base + tone)


def _build_tone_pairs() -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for tone in _TONE_MARKS:
            old = first + _with_tone(second, tone)
            new = _with_tone(first, tone) + second
            pairs.append((old, new))
    return pairs


#: (old, new) lower-case vowel-cluster pairs, e.g. ("oà", "òa"), ("uỷ", "ủy"), ("oẻ", "ỏe").
#: They are applied only at the end of a syllable (no final consonant or vowel follows),
#: never after another vowel, and ``uy`` never after ``q`` (in "quý" the u belongs to "qu").
TONE_STYLE_PAIRS: list[tuple[str, str]] = _build_tone_pairs()


def _case_variants(cluster: str) -> list[str]:
    a, b = cluster[0], cluster[1]
    return [a + b, a.upper() + b, a + b.upper(), a.upper() + b.upper()]


def _apply_case(template: str, target: str) -> str:
    return "".join(t.upper() if s.isupper() else t.lower() for s, t in zip(template, target))


def _build_map(old_to_new: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for old, new in TONE_STYLE_PAIRS:
        src, dst = (old, new) if old_to_new else (new, old)
        for variant in _case_variants(src):
            out[variant] = _apply_case(variant, dst)
    return out


_OLD_TO_NEW = _build_map(True)
_NEW_TO_OLD = _build_map(False)
_VOWELS = frozenset("aăâeêioôơuưy")


def _make_pattern(mapping: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted(map(re.escape, mapping), key=len, reverse=True))
    # Followed by a non-letter (or end): the cluster ends the syllable.
    return re.compile(f"(?:{alternatives})(?![^\\W\\d_])")


_OLD_PATTERN = _make_pattern(_OLD_TO_NEW)
_NEW_PATTERN = _make_pattern(_NEW_TO_OLD)


def _convert(s: str, pattern: re.Pattern[str], mapping: dict[str, str]) -> str:
    s = nfc(s)

    def repl(m: re.Match[str]) -> str:
        cluster = m.group(0)
        start = m.start()
        if start > 0:
            prev = strip_diacritics(s[start - 1]).lower()
            if prev in _VOWELS:
                return cluster
            if prev == "q" and cluster[0] in "uU":
                return cluster
        return mapping[cluster]

    return pattern.sub(repl, s)


def to_new_tone(s: str) -> str:
    """Move tones to the project's canonical ("new") style: hoà→hòa, thuỷ→thủy, Thuý→Thúy.

    Case is preserved, the result is NFC, and the function is idempotent. Syllables with a
    final consonant (hoàng, toàn, quỳnh) and "qu" + y (quý) are left alone.
    """
    return _convert(s, _OLD_PATTERN, _OLD_TO_NEW)


def to_old_tone(s: str) -> str:
    """Move tones to the "old" style: hòa→hoà, thủy→thuỷ, khỏe→khoẻ, Thúy→Thuý.

    Inverse of :func:`to_new_tone`; case-preserving, NFC output, idempotent.
    """
    return _convert(s, _NEW_PATTERN, _NEW_TO_OLD)


# --------------------------------------------------------------------------- Windows-1258

def _encodable_cp1258(ch: str) -> bool:
    try:
        ch.encode("cp1258")
    except UnicodeEncodeError:
        return False
    return True


def _cp1258_char(ch: str) -> str:
    """Half-decomposed cp1258 form of a single NFC character."""
    if _encodable_cp1258(ch):
        return ch
    parts = nfd(ch)
    if len(parts) == 1:
        return ch  # not decomposable (e.g. a CJK character); leave as is
    base, marks = parts[0], list(parts[1:])
    # Prefer composing the base with a vowel-quality mark (circumflex, breve, horn), then
    # with any mark, as long as the composed letter exists in cp1258.
    ordered = [m for m in marks if m not in _TONE_SET] + [m for m in marks if m in _TONE_SET]
    for mark in ordered:
        composed = nfc(base + mark)
        if len(composed) == 1 and _encodable_cp1258(composed):
            rest = list(marks)
            rest.remove(mark)
            return composed + "".join(rest)
    return base + "".join(marks)


def to_windows1258_form(s: str) -> str:
    """Return the "half-decomposed" form used by Windows-1258.

    Characters that exist precomposed in cp1258 are kept (â ă ê ô ơ ư đ, their capitals,
    and the few toned letters the code page has, such as à á é í ó ú); every other toned
    letter becomes a cp1258 base letter plus a combining tone mark (U+0300, U+0301, U+0303,
    U+0309, U+0323), e.g. "ễ" → "ê" + U+0303. Any Vietnamese text then satisfies
    ``to_windows1258_form(s).encode("cp1258")``.
    """
    return "".join(_cp1258_char(ch) for ch in nfc(s))


def cp1258_roundtrip(s: str) -> str:
    """Encode ``s`` to cp1258 (via :func:`to_windows1258_form`), decode it back, and NFC it.

    For Vietnamese text the result equals ``nfc(s)``.
    """
    return nfc(to_windows1258_form(s).encode("cp1258").decode("cp1258"))


# --------------------------------------------------------------------------- mojibake

def _cp1252_table() -> list[str]:
    table = []
    for i in range(256):
        try:
            table.append(bytes([i]).decode("cp1252"))
        except UnicodeDecodeError:
            # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in cp1252: fall back to the
            # Latin-1 C1 control, as browsers and most "sloppy" decoders do.
            table.append(chr(i))
    return table


_CP1252 = _cp1252_table()
_CP1252_REVERSE = {ch: i for i, ch in enumerate(_CP1252)}


def mojibake(s: str) -> str:
    """Simulate UTF-8 bytes mis-decoded as cp1252: "Nguyễn" → "Nguyá»…n".

    Bytes undefined in cp1252 become the matching C1 control character, so every byte
    yields exactly one character and :func:`fix_mojibake` can invert the damage.
    """
    return "".join(_CP1252[b] for b in nfc(s).encode("utf-8"))


def fix_mojibake(s: str) -> str:
    """Invert :func:`mojibake`; return ``s`` unchanged if it is not such mojibake."""
    try:
        raw = bytes(_CP1252_REVERSE[ch] for ch in s)
        return nfc(raw.decode("utf-8"))
    except (KeyError, UnicodeDecodeError):
        return s
