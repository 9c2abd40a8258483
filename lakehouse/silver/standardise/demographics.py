"""Demographics: sex and ethnicity codes."""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse import reference
from lakehouse.reference import text
from lakehouse.silver.standardise._expr import ColumnOrName, _col, _literal_map
from lakehouse.silver.standardise.text import fold, nfc, repair_mojibake

#: Default meaning of numeric sex codes. Sources differ: the population registry style is
#: 1=male, 2=female (the default); some systems use 1=male, 0=female; pass ``codes`` for those.
DEFAULT_SEX_CODES: Mapping[str, str] = {"1": "M", "2": "F"}
_SEX_WORDS = {"NAM": "M", "M": "M", "MALE": "M", "TRAI": "M", "NAM GIOI": "M",
              "NU": "F", "F": "F", "FEMALE": "F", "GAI": "F", "NU GIOI": "F", "W": "F"}


def standardise_sex(col: ColumnOrName, codes: Mapping[str, str] | None = None) -> Column:
    """'M' / 'F' / null from Nam/Nữ/Nu/nam/M/F/male/female or a numeric code.

    Numeric codes are per source (docs/domain.md lists no national code): ``codes`` maps them, default
    :data:`DEFAULT_SEX_CODES` (1=M, 2=F). A source using 1=M, 0=F passes ``{"1": "M", "0": "F"}``.
    Anything unknown -> null. (Matches the CCCD G digit rule: even = male, odd = female;
    docs/domain.md#cccd-century-and-sex-digit.)
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
