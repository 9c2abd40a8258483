"""Raw values for the standardiser oracles, with the faults of docs/domain.md#text-faults, from ONE source of truth
for two kinds of test:

* property tests (no JVM): ``strategy(rule)`` is a hypothesis strategy; the generators draw from a
  hypothesis-controlled :class:`random.Random` (``st.randoms``), so failures shrink and print the
  raw value;
* the native/oracle agreement test (one Spark job): ``fixed_values(rule)`` is a deterministic list
  from a seeded :class:`random.Random` (same values on every run and machine), plus edge values.

Every generator takes a :class:`random.Random` and returns one raw value (a string, or None).
"""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache
from typing import Callable

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver import standardise as S

__all__ = ["EDGE", "GENERATORS", "cccd_context", "fixed_values", "strategy"]


@lru_cache(maxsize=None)
def _names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return (tuple(str(r["name"]) for r in reference.surnames()),
            tuple(str(r["name"]) for r in reference.middle_names("M") + reference.middle_names("F")),
            tuple(str(r["name"]) for r in reference.given_names("M") + reference.given_names("F")))


# Layout faults first, then at most one encoding fault (as the simulator does). Upper-casing text
# that is already mojibake destroys bytes and is a known limitation (standardise's docstring).
LAYOUT_FAULTS: tuple[Callable[[str], str], ...] = (
    lambda s: s, str.upper, str.lower, lambda s: "  " + s.replace(" ", "   ") + " ")
ENCODING_FAULTS: tuple[Callable[[str], str], ...] = (
    lambda s: s, text.nfd, text.to_old_tone, text.strip_diacritics, text.mojibake, text.to_windows1258_form,
    lambda s: text.nfd(text.to_old_tone(s)))


def clean_name(r: random.Random) -> tuple[str, bool]:
    """(surname middle given, or given middle surname one time in four; reversed?)"""
    sur, mid, giv = _names()
    parts = [r.choice(sur), r.choice(mid), r.choice(giv)]
    reversed_ = r.randrange(4) == 0
    return " ".join(parts[::-1] if reversed_ else parts), reversed_


def name(r: random.Random) -> str:
    s, _ = clean_name(r)
    return r.choice(ENCODING_FAULTS)(r.choice(LAYOUT_FAULTS)(s))


def some_date(r: random.Random) -> dt.date:
    return dt.date(1920, 1, 1) + dt.timedelta(days=r.randrange((dt.date(2024, 12, 31) - dt.date(1920, 1, 1)).days + 1))


def date(r: random.Random) -> str:
    d = some_date(r)
    y = d.year
    return r.choice([
        d.strftime("%d/%m/%Y"), f"{d.day}/{d.month}/{y}", f"{d.day}/{d.month}/{y % 100:02d}", d.isoformat(),
        d.strftime("%d-%m-%Y"), str(y), f"ngày {d.day} tháng {d.month} năm {y}",
        f"ngay {d.day} thang {d.month} nam {y}", f"01/01/{y}", f"00/00/{y}", f"31/02/{y}",
        f"{d.month:02d}/{d.day:02d}/{y}", f"{y}-{d.day:02d}-{d.month:02d}", "x" + str(y),
        f"00/{d.month:02d}/{y}", f"  {d.day:02d} / {d.month:02d} / {y} "])


def cccd_digits(r: random.Random, valid: bool = False) -> str:
    """12 digits: GSO province (or a non-issued one), century/sex digit, year, serial."""
    provinces = S.GSO_PROVINCE_CODES if valid else S.GSO_PROVINCE_CODES + ("003", "099")
    return r.choice(provinces) + str(r.randrange(6 if valid else 10)) + f"{r.randrange(100):02d}" + \
        f"{r.randrange(10**6):06d}"


def cccd(r: random.Random) -> str:
    c = cccd_digits(r)
    return r.choice([c, c, c.lstrip("0"), f"{c[:3]} {c[3:6]} {c[6:9]} {c[9:]}", f"{c[:3]}.{c[3:6]}.{c[6:9]}.{c[9:]}",
                     c[3:], c + ".0", c[:-1] + "x", c[1:]])


def cccd_context(r: random.Random, raw: str | None) -> tuple[dt.date | None, bool | None]:
    """(birth_date, is_female) to check a CCCD against: absent, consistent or not, as in the sources."""
    digits = "".join(ch for ch in raw or "" if ch.isdigit())
    birth = sex = None
    if r.randrange(2):
        if len(digits) == 12 and r.randrange(3):
            g = int(digits[3])
            birth = dt.date(1900 + (g // 2) * 100 + int(digits[4:6]), r.randint(1, 12), r.randint(1, 28))
        else:
            birth = some_date(r)
    if r.randrange(2):
        sex = int(digits[3]) % 2 == 1 if len(digits) == 12 and r.randrange(3) else bool(r.randrange(2))
    return birth, sex


def cmnd(r: random.Random) -> str:
    c = cccd_digits(r)
    return r.choice([c[3:], c[4:], c[3:6] + " " + c[6:], c, c[3:] + ".0", "12-34", c[5:], c[3:] + "x"])


def _check_digit(body9: str) -> tuple[int, bool]:
    """MST check digit of 9 digits, and whether the prefix is issuable (remainder != 0)."""
    rem = sum(int(c) * w for c, w in zip(body9, S.TAX_WEIGHTS)) % 11
    return (10 - rem) % 10, rem != 0


def tax_code(r: random.Random) -> str:
    body = r.choice(["01", "03", "02", "04", "48", "79"]) + f"{r.randrange(10**7):07d}"
    check, _ = _check_digit(body)
    code = body + str(check if r.randrange(3) else r.randrange(10))
    return r.choice([code, code, code + "-" + f"{r.randrange(1000):03d}", code + "-001", code[1:],
                     code + f"{r.randrange(1000):03d}", "0" + code + "1", f"{code[:4]} {code[4:]}",
                     f"{code[:2]}.{code[2:5]}.{code[5:]}", code + "-000", cccd_digits(r), code[:9] + "x"])


def insurance(r: random.Random) -> str:
    bhxh = f"{r.randrange(10**10):010d}"
    card = r.choice(["DN", "HC", "HT", "TE", "HS", "HN", "CN"]) + str(r.randrange(1, 6)) + \
        f"{r.randrange(1, 97):02d}" + bhxh
    return r.choice([bhxh, bhxh[1:], card, card.lower(), f"{card[:2]} {card[2]} {card[3:5]} {bhxh}",
                     card[:2] + "7" + card[3:], "x" + bhxh, f"{bhxh[:4]}.{bhxh[4:7]}.{bhxh[7:]}", bhxh[2:]])


@lru_cache(maxsize=None)
def _prefixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(r["prefix"] for r in reference.mobile_prefixes()),
            tuple(r["old_prefix"] for r in reference.mobile_prefixes() if r["old_prefix"]))


def phone(r: random.Random) -> str:
    new, old = _prefixes()
    tail = f"{r.randrange(10**7):07d}"
    n = r.choice([r.choice(new) + tail, r.choice(new) + tail, r.choice(old) + tail, "04" + tail + "1",
                  "024" + tail + "1", "0" + tail, "08" + tail + "1"])
    return r.choice([n, "+84" + n[1:], "84" + n[1:], "0084" + n[1:], f"{n[:4]}.{n[4:7]}.{n[7:]}",
                     f"{n[:4]}-{n[4:7]}-{n[7:]}", "+84 " + n[1:4] + " " + n[4:], n[1:], f"({n[:4]}) {n[4:]}"])


SEX_WORDS = ("Nam", "Nữ", "nu", "NỮ", "1", "2", "0", "M", "f", "F", "female", "Male", "nam giới", "nữ giới",
             "?", "2.0", "1.0", "Khác", "")


def sex(r: random.Random) -> str:
    w = r.choice(SEX_WORDS)
    return r.choice([lambda s: s, str.upper, str.lower, text.nfd, text.strip_diacritics,
                     lambda s: f"  {s} "])(w)


@lru_cache(maxsize=None)
def _ethnic_names() -> tuple[str, ...]:
    return tuple(str(r["name"]) for r in reference.ethnicities())


def ethnicity(r: random.Random) -> str:
    n = r.choice(_ethnic_names())
    return r.choice([n, n.upper(), text.strip_diacritics(n), "Dân tộc " + n, "DT " + n, text.nfd(n),
                     str(r.randrange(1, 60)), f"{r.randrange(1, 55):02d}", f"{r.randrange(1, 55)}.0",
                     "H'Mông", "Mèo", "?"])


_STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung")
_ABBREV = (("Thành phố ", "TP. "), ("Tỉnh ", ""), ("Quận ", "Q. "), ("Huyện ", "H. "), ("Thị xã ", "TX. "),
           ("Phường ", "P. "), ("Xã ", "X. "), ("Thị trấn ", "TT. "))


def _short(unit: str) -> str:
    for full, ab in _ABBREV:
        if unit.startswith(full):
            return ab + unit[len(full):]
    return unit


@lru_cache(maxsize=None)
def _units() -> tuple[list[dict], list[dict]]:
    return [u for u in reference.old_units() if u["ward_name"]], reference.new_units()


def address(r: random.Random) -> str:
    old, new = _units()
    street = f"{r.randrange(1, 300)} {r.choice(_STREETS)}"
    if r.randrange(4) == 0:
        u = r.choice(new)
        return f"{street}, {u['ward_name']}, {u['province_name']}"
    u = r.choice(old)
    parts = [u["ward_name"], u["district_name"], u["province_name"]]
    if r.randrange(2):
        parts = [_short(p) for p in parts]
    if r.randrange(5) == 0:
        parts = [text.strip_diacritics(p) for p in parts]
    if r.randrange(6) == 0:
        parts = parts[:1] + parts[2:]          # district left out
    return ", ".join([street] + parts)


#: rule (the names of ``benchmarks.udf_baseline.RULES`` / ``tests.oracles.standardisers.ORACLES``)
#: -> generator of one raw value.
GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "name": name, "date": date, "cccd": cccd, "cmnd": cmnd, "tax_code": tax_code, "insurance": insurance,
    "phone": phone, "sex": sex, "ethnicity": ethnicity, "address": address,
}

#: Values every rule must survive: blanks, and Unicode spaces and digits that Java's regex classes
#: (\s, \d: ASCII only) and Python's (Unicode) treat differently. Not here: a value ENDING in a line
#: terminator (e.g. "0100109106\u2028"): Java's $ matches before it, and the native CCCD, insurance
#: and date rules accept or misread such values (the tax code rule uses \z); a known gap.
EDGE: tuple[str | None, ...] = (
    None, "", "   ", "?", "0", "x", "1.0", "\t\n", "\u00a0", "\u2028", "05/03/1990\u00a0", "2\u00a0",
    " Nam\u00a0", "Kinh\u3000", "079190001234\u3000", "0912\u00a0345\u00a0678", "Nguy\u1ec5n\u00a0V\u0103n\u2028An",
    "\uff10\uff15/\uff10\uff13/\uff11\uff19\uff19\uff10",                 # fullwidth 05/03/1990
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")    # Arabic-Indic 0123456789


def strategy(rule: str):
    """Hypothesis strategy of raw values for ``rule`` (hypothesis imported here: only tests need it)."""
    from hypothesis import strategies as st

    return st.randoms(use_true_random=False).map(GENERATORS[rule])


def fixed_values(rule: str, n: int = 300, seed: int = 20260101) -> list[str | None]:
    """``n`` deterministic raw values for ``rule`` (a seeded generator per rule), then :data:`EDGE`."""
    r = random.Random(f"{seed}-{rule}")
    return [GENERATORS[rule](r) for _ in range(n)] + list(EDGE)
