"""Write tiny landing files the way the generator's contract describes (independent of the generator)."""

from __future__ import annotations

import json
import os
from typing import Sequence

from lakehouse.config import SourceSpec
from lakehouse.storage.landing import batch_dir

EXT = {"csv": "csv", "json": "jsonl", "xml": "xml", "parquet": "parquet"}


def columns_of(spec: SourceSpec) -> list[str]:
    cols = list(dict.fromkeys([spec.key, *spec.columns.values(), spec.op, spec.updated_at]))
    return cols


def record(spec: SourceSpec, i: int, extra: dict | None = None) -> dict[str, str]:
    rec = {c: f"{c}-{i}" for c in columns_of(spec)}
    rec[spec.key] = f"K{i:06d}"
    rec[spec.op] = "I"
    rec[spec.updated_at] = f"2026-01-01 00:00:{i % 60:02d}"
    rec.update(extra or {})
    return rec


def file_path(landing: str, spec: SourceSpec, batch: int, part: int = 0, suffix: str = "") -> str:
    d = batch_dir(landing, spec.name, batch)
    os.makedirs(d, exist_ok=True)
    return f"{d}/{spec.name}_batch-{batch:05d}_p{part:05d}{suffix}.{EXT[spec.format]}"


def csv_text(spec: SourceSpec, rows: Sequence[dict], header: Sequence[str] | None = None) -> str:
    sep = spec.reader.get("sep", ",")
    header = list(header or rows[0].keys())
    quote = spec.reader.get("quote", '"')

    def q(v: str) -> str:
        if quote and (sep in v or quote in v):
            return quote + v.replace(quote, quote * 2) + quote
        return v
    lines = [sep.join(header)] + [sep.join(q(str(r.get(h, ""))) for h in header) for r in rows]
    bom = "\ufeff" if spec.raw.get("format", {}).get("bom") else ""
    return bom + "\n".join(lines) + "\n"


def nest(rec: dict) -> dict:
    out: dict = {}
    for k, v in rec.items():
        parts = k.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


def json_text(rows: Sequence[dict]) -> str:
    return "".join(json.dumps(nest(r), ensure_ascii=False) + "\n" for r in rows)


def xml_text(spec: SourceSpec, rows: Sequence[dict]) -> str:
    from xml.sax.saxutils import escape

    root = spec.raw["format"].get("root_tag", "ROWS")
    body = "".join("    <{t}>\n{f}    </{t}>\n".format(
        t=spec.row_tag, f="".join(f"        <{k}>{escape(str(v))}</{k}>\n" for k, v in r.items() if v is not None))
        for r in rows)
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{root}>\n{body}</{root}>\n'


def write_text(path: str, text: str, encoding: str = "utf-8") -> str:
    with open(path, "wb") as fh:
        fh.write(text.encode(encoding))
    return path


def write_parquet(path: str, rows: Sequence[dict]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = list(rows[0].keys())
    pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in cols}), path)
    return path


def write_file(landing: str, spec: SourceSpec, batch: int, rows: Sequence[dict], part: int = 0) -> str:
    path = file_path(landing, spec, batch, part)
    if spec.format == "csv":
        return write_text(path, csv_text(spec, rows), spec.encoding if spec.encoding != "utf-8" else "utf-8")
    if spec.format == "json":
        return write_text(path, json_text(rows))
    if spec.format == "xml":
        return write_text(path, xml_text(spec, rows))
    return write_parquet(path, rows)


def row(spec: SourceSpec, key: str, **values: str) -> dict[str, str]:
    """One landing record of `spec`: every column empty, then the key, an insert op, a fixed timestamp
    and `values` given by canonical field name."""
    rec = {c: "" for c in columns_of(spec)}
    rec.update({spec.key: key, spec.op: "I", spec.updated_at: "2025-12-01 08:00:00"})
    for canonical, v in values.items():
        rec[spec.columns.get(canonical, canonical)] = v
    return rec
