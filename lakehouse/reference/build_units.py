"""Regenerate the administrative-unit CSVs in ``data/`` from vietnam-provinces wheels.

Maintenance script, not imported by the package. Usage::

    pip download --no-deps vietnam-provinces==0.6.0 -d /tmp/vp06
    pip download --no-deps --python-version 3.12 --only-binary=:all: \
        vietnam-provinces==2026.9.0 -d /tmp/vpnew
    python -m lakehouse.reference.build_units /tmp/vp06/vietnam_provinces-0.6.0-py3-none-any.whl \
        /tmp/vpnew/vietnam_provinces-2026.9.0-py3-none-any.whl

Writes old_units.csv, new_units.csv and ward_old_to_new.csv. Names are NFC, runs of
whitespace are collapsed and the first letter is upper-cased (the 2026.9.0 data has one
"xã Bắc Sơn"); nothing else is changed. The five island districts that have no
commune-level units get one old_units row each with empty ward_code and ward_name.
"""

from __future__ import annotations

import csv
import json
import runpy
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")


def _clean(name: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    return name[:1].upper() + name[1:]


def _read_json(wheel: Path, member: str) -> object:
    with zipfile.ZipFile(wheel) as zf:
        return json.loads(zf.read(member).decode("utf-8"))


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def build_old(wheel_06: Path) -> set[int]:
    provinces = _read_json(wheel_06, "vietnam_provinces/data/nested-divisions.json")
    rows = []
    for p in provinces:
        for d in p["districts"]:
            if not d["wards"]:
                # Island districts with no commune level (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa,
                # Lý Sơn, Côn Đảo): one row with empty ward fields.
                rows.append([f"{p['code']:02d}", _clean(p["name"]),
                             f"{d['code']:03d}", _clean(d["name"]), "", ""])
            for w in d["wards"]:
                rows.append([
                    f"{p['code']:02d}", _clean(p["name"]),
                    f"{d['code']:03d}", _clean(d["name"]),
                    f"{w['code']:05d}", _clean(w["name"]),
                ])
    rows.sort(key=lambda r: (r[0], r[2], r[4]))
    _write(DATA_DIR / "old_units.csv",
           ["province_code", "province_name", "district_code", "district_name",
            "ward_code", "ward_name"], rows)
    return {int(r[4]) for r in rows if r[4]}


def build_new_and_mapping(wheel_new: Path) -> None:
    provinces = _read_json(wheel_new, "vietnam_provinces/data/nested-divisions.json")
    rows = []
    for p in provinces:
        for w in p["wards"]:
            rows.append([f"{p['code']:02d}", _clean(p["name"]),
                         f"{w['code']:05d}", _clean(w["name"])])
    rows.sort(key=lambda r: (r[0], r[2]))
    _write(DATA_DIR / "new_units.csv",
           ["province_code", "province_name", "ward_code", "ward_name"], rows)

    with zipfile.ZipFile(wheel_new) as zf, tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "_ward_conversion_2025.py"
        src.write_bytes(zf.read("vietnam_provinces/_ward_conversion_2025.py"))
        module = runpy.run_path(str(src))  # only defines NamedTuples and dict literals
    mapping = module["OLD_TO_NEW"]
    pairs = []
    for old_code, entry in mapping.items():
        partly = "1" if entry.old_ward.is_partly_merged else "0"
        for new in entry.new_wards:
            pairs.append([f"{old_code:05d}", f"{new.code:05d}", partly])
    pairs.sort()
    _write(DATA_DIR / "ward_old_to_new.csv",
           ["old_ward_code", "new_ward_code", "is_partly_merged"], pairs)


def main(argv: list[str]) -> None:
    wheel_06, wheel_new = Path(argv[0]), Path(argv[1])
    build_old(wheel_06)
    build_new_and_mapping(wheel_new)


if __name__ == "__main__":
    main(sys.argv[1:])
