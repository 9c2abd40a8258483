"""Committed reference data (administrative units, name pools, code lists) and loaders.

Every loader reads one CSV from ``lakehouse/reference/data/`` with the stdlib ``csv`` module
and is cached with :func:`functools.lru_cache`, so the returned objects are shared between
callers: treat them as read-only. Codes are zero-padded strings ("01", "001", "00001");
``weight`` columns are floats. ``data/SOURCES.md`` says where each file came from.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import io
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = [
    "DATA_FILES",
    "data_path",
    "ethnicities",
    "given_names",
    "middle_names",
    "mobile_prefixes",
    "new_units",
    "old_units",
    "province_old_to_new",
    "surnames",
    "tax_office_prefix",
    "vsic_sections",
    "ward_old_to_new",
]

Row = dict[str, str]
WeightedRow = dict[str, str | float]

DATA_FILES: tuple[str, ...] = (
    "old_units.csv",
    "new_units.csv",
    "ward_old_to_new.csv",
    "province_old_to_new.csv",
    "surnames.csv",
    "middle_names.csv",
    "given_names.csv",
    "vsic_sections.csv",
    "ethnicities.csv",
    "tax_office_prefix.csv",
    "mobile_prefixes.csv",
)

_SEXES = ("M", "F")
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _resource(name: str) -> resources.abc.Traversable:
    res = resources.files(__name__).joinpath("data", name)
    if not res.is_file():
        raise FileNotFoundError(f"no reference data file {name!r}")
    return res


@lru_cache(maxsize=None)
def data_path(name: str) -> str:
    """Return a filesystem path to data file ``name`` (e.g. "old_units.csv"), for Spark."""
    res = _resource(name)
    if isinstance(res, Path):
        return str(res)
    # Installed as a zip: extract once and keep the copy for the life of the process.
    return str(_extracted.enter_context(resources.as_file(res)))


def _read(name: str) -> list[Row]:
    text = _resource(name).read_text(encoding="utf-8")
    return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]


def _read_weighted(name: str) -> list[WeightedRow]:
    rows: list[WeightedRow] = []
    for row in _read(name):
        out: WeightedRow = dict(row)
        out["weight"] = float(row["weight"])
        rows.append(out)
    return rows


def _check_sex(sex: str) -> str:
    if sex not in _SEXES:
        raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")
    return sex


@lru_cache(maxsize=None)
def old_units() -> list[Row]:
    """Pre-July-2025 wards with their district and province (63 / 696 / 10,051).

    Keys: province_code, province_name, district_code, district_name, ward_code, ward_name.
    The five island districts without communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn,
    Côn Đảo) have one row each with empty ward_code and ward_name.
    """
    return _read("old_units.csv")


@lru_cache(maxsize=None)
def new_units() -> list[Row]:
    """Post-1-July-2025 wards (3,321) with their province (34).

    Keys: province_code, province_name, ward_code, ward_name.
    """
    return _read("new_units.csv")


@lru_cache(maxsize=None)
def ward_old_to_new() -> list[Row]:
    """Old→new ward pairs; an old ward split across several new wards has several rows.

    Keys: old_ward_code, new_ward_code, is_partly_merged ("1" when only part of the old
    ward went to the new ward(s) listed). Some old codes have no row: see SOURCES.md.
    """
    return _read("ward_old_to_new.csv")


@lru_cache(maxsize=None)
def province_old_to_new() -> dict[str, str]:
    """Map each of the 63 old province codes to its new (34-era) province code."""
    return {r["old_province_code"]: r["new_province_code"] for r in _read("province_old_to_new.csv")}


@lru_cache(maxsize=None)
def surnames() -> list[WeightedRow]:
    """Surnames with approximate population share in percent. Keys: name, weight."""
    return _read_weighted("surnames.csv")


@lru_cache(maxsize=None)
def middle_names(sex: str) -> list[WeightedRow]:
    """Middle names for ``sex`` ("M" or "F") with relative weights. Keys: sex, name, weight."""
    _check_sex(sex)
    return [r for r in _read_weighted("middle_names.csv") if r["sex"] == sex]


@lru_cache(maxsize=None)
def given_names(sex: str) -> list[WeightedRow]:
    """Given names for ``sex`` ("M" or "F"), new tone style (Hòa, Thủy), relative weights.

    Keys: sex, name, weight.
    """
    _check_sex(sex)
    return [r for r in _read_weighted("given_names.csv") if r["sex"] == sex]


@lru_cache(maxsize=None)
def vsic_sections() -> list[WeightedRow]:
    """VSIC 2018 level-1 sections A–U. Keys: code, name, weight (rough % of enterprises)."""
    return _read_weighted("vsic_sections.csv")


@lru_cache(maxsize=None)
def ethnicities() -> list[WeightedRow]:
    """The 54 ethnic groups. Keys: code ("01".."54"), name, weight (% of population)."""
    return _read_weighted("ethnicities.csv")


@lru_cache(maxsize=None)
def tax_office_prefix() -> dict[str, str]:
    """Map old province code → 2-digit MST (tax code) prefix of its tax department."""
    return {r["old_province_code"]: r["mst_prefix"] for r in _read("tax_office_prefix.csv")}


@lru_cache(maxsize=None)
def mobile_prefixes() -> list[Row]:
    """Mobile prefixes. Keys: prefix ("032"), carrier, old_prefix ("0162" or "").

    carrier is "uncertain" for prefixes docs/domain.md#current-mobile-prefixes lists as uncertain (055, 087).
    """
    return _read("mobile_prefixes.csv")
