"""Pure DataFrame transforms for bronze: raw landing records in, bronze rows (raw string values,
safe column names, rescued data, audit columns) and quarantine rows out. No storage access here.

The text formats (CSV, JSON lines, XML) arrive as one row per file, `(path, content)` bytes. They are
decoded with the source's charset, split into physical lines / XML records with their position, and
parsed natively (`from_csv`, `from_json`, `from_xml`), so each file is read once and malformed
records are caught in the same pass. Every record leaves with `_reason` null (a bronze row) or set
(a quarantine row)."""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.config import SourceSpec

AUDIT_COLUMNS = ("_rescued_data", "_source_file", "_source_position", "_source_batch", "_source_watermark",
                 "_record_hash", "_run_id", "_ingested_at")
QUARANTINE_COLUMNS = ("source", "_source_batch", "_source_file", "_source_position", "level", "reason",
                      "detail", "raw_record", "records", "_run_id", "_ingested_at")
REPLACEMENT_CHAR = "\ufffd"
# CSV reader options that describe the dialect (the rest, such as header/encoding, are handled here).
_CSV_DIALECT = ("sep", "quote", "escape", "comment", "ignoreLeadingWhiteSpace", "ignoreTrailingWhiteSpace",
                "unescapedQuoteHandling", "charToEscapeQuoteEscaping")
_NEVER = "\u0000\u0001never\u0001"   # a nullValue that never occurs: empty fields stay "", missing ones null


# --- names -------------------------------------------------------------------------------------

def safe_name(name: str) -> str:
    """A column name that is safe but recognisable: ASCII, lower case, no spaces; a nested path
    `chu_the.ho_ten` becomes `chu_the__ho_ten`. Names that would start with `_` or a digit get `c_`."""
    s = name.replace("\ufeff", "").replace("đ", "d").replace("Đ", "D")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = s.encode("ascii", "ignore").decode().lower().strip()
    parts = [re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", p)).strip("_") for p in s.split(".")]
    s = "__".join(p for p in parts if p) or "col"
    if s[0].isdigit() or s.startswith("_"):
        s = f"c_{s}"
    return s


def safe_names(names: Iterable[str]) -> dict[str, str]:
    """Original -> safe name, made unique with a numeric suffix (order preserved)."""
    out: dict[str, str] = {}
    used: set[str] = set(AUDIT_COLUMNS)
    for n in names:
        if n in out:
            continue
        base = safe_name(n)
        cand, i = base, 2
        while cand in used:
            cand, i = f"{base}_{i}", i + 1
        out[n] = cand
        used.add(cand)
    return out


def expected_columns(spec: SourceSpec) -> list[str]:
    """The source's declared columns (YAML `columns` values, plus key / op / updated_at)."""
    cols: list[str] = []
    for c in [spec.key, *spec.columns.values(), *spec.schema.keys(), spec.op, spec.updated_at]:
        if c and c not in cols:
            cols.append(str(c))
    return cols


def unique_header(header: Sequence[str]) -> list[str]:
    """Header names made unique (a repeated or empty name keeps its data under a suffixed name)."""
    out: list[str] = []
    for h in header:
        cand, i = h, 2
        while cand in out:
            cand, i = f"{h}#{i}", i + 1
        out.append(cand)
    return out


def file_columns(spec: SourceSpec, layout: Sequence[str] | None) -> list[str]:
    """A file's columns: its own layout (header / first record) first, then declared columns it lacks
    (they become null)."""
    cols = unique_header(layout or ())
    return cols + [c for c in expected_columns(spec) if c not in cols]


# --- common steps ------------------------------------------------------------------------------

def with_source_location(df: DataFrame, source: str) -> DataFrame:
    """`_source_file` (relative to the landing root) and `_source_batch` from a file's path/URI."""
    path = F.url_decode(F.col("path"))
    rel = F.regexp_extract(path, rf"({re.escape(source)}/batch-[0-9]+/[^/]+)$", 1)
    return df.withColumn("_source_file", F.when(rel != "", rel).otherwise(F.col("path"))) \
             .withColumn("_source_batch", F.regexp_extract(path, r"batch-([0-9]+)/[^/]+$", 1).cast("int"))


def decoded_lines(files: DataFrame, spec: SourceSpec) -> DataFrame:
    """(path, content) -> one row per non-empty physical line: _source_file, _source_batch,
    _source_position (1-based line number), line, _last (a last line with no newline after it)."""
    text = F.decode(F.col("content"), spec.encoding or "utf-8")
    # posexplode_outer: Spark infers no `size(...) > 0` filter for it, which would decode and split
    # every file a second time; the line count is taken before the generator so the array is not
    # carried along with every line.
    df = with_source_location(files, spec.name).select(
        "_source_file", "_source_batch", F.split(text, "\n").alias("_lines"))
    df = df.select("_source_file", "_source_batch", F.size("_lines").alias("_n"), "_lines")
    df = df.select("_source_file", "_source_batch", "_n", F.posexplode_outer("_lines").alias("_pos", "line"))
    line = F.expr("trim(TRAILING '\r' FROM line)")
    line = F.when(F.col("_pos") == 0, F.expr("trim(LEADING '\ufeff' FROM trim(TRAILING '\r' FROM line))")).otherwise(line)
    return (df.withColumn("line", line).where(F.col("line").isNotNull() & (F.col("line") != ""))
              .select("_source_file", "_source_batch", (F.col("_pos") + 1).cast("long").alias("_source_position"),
                      "line", (F.col("_pos") == F.col("_n") - 1).alias("_last")))


def _common_reason(require_final_newline: bool) -> Column:
    truncated = F.col("_last") if require_final_newline else F.lit(False)
    return (F.when(truncated, F.lit("truncated_record"))
             .when(F.instr(F.col("line"), REPLACEMENT_CHAR) > 0, F.lit("undecodable_bytes")))


# --- CSV -----------------------------------------------------------------------------------------

def parse_csv(lines: DataFrame, spec: SourceSpec, header: Sequence[str], spare_fields: int = 16,
              require_final_newline: bool = True) -> DataFrame:
    """Parse CSV lines (header line excluded here) against the file's header. Missing fields ->
    quarantine (`too_few_fields`); extra fields -> `_rescued_data` (or quarantine beyond
    `spare_fields`); declared columns absent from the header -> null columns."""
    header = unique_header(header)
    opts = {k: str(v) for k, v in spec.reader.items() if k in _CSV_DIALECT}
    opts.update({"mode": "PERMISSIVE", "nullValue": _NEVER, "emptyValue": ""})
    spares = [f"_x{i}" for i in range(1, spare_fields + 1)]
    fields = [f"f{i}" for i in range(len(header))]
    schema = ", ".join(f"`{f}` STRING" for f in fields + spares)
    data = lines.where(F.col("_source_position") > 1).withColumn("_r", F.from_csv("line", schema, opts))
    last = F.col(f"_r.{fields[-1]}") if fields else F.lit("")
    extra = F.filter(F.array(*[F.col(f"_r.{s}") for s in spares]), lambda x: x.isNotNull())
    reason = (_common_reason(require_final_newline)
              .when(last.isNull(), F.lit("too_few_fields"))
              .when(F.col(f"_r.{spares[-1]}").isNotNull(), F.lit("too_many_fields")))
    names = safe_names(file_columns(spec, header))
    cols = [F.col(f"_r.{f}").alias(names[h]) for f, h in zip(fields, header)]
    present = {names[h] for h in header if h in names}
    cols += [F.lit(None).cast("string").alias(n) for n in names.values() if n not in present]
    rescued = F.when(F.size(extra) > 0, F.to_json(F.struct(extra.alias("_extra_fields"))))
    return data.select(*cols, rescued.alias("_rescued_data"), "_source_file", "_source_position", "_source_batch",
                       F.sha2("line", 256).alias("_record_hash"), reason.alias("_reason"), F.col("line").alias("_raw"))


# --- JSON lines ------------------------------------------------------------------------------------

def parse_json(lines: DataFrame, spec: SourceSpec, layout: Sequence[str] = (),
               require_final_newline: bool = True) -> DataFrame:
    """Parse JSON lines to raw strings, flattening nested objects along the known column paths
    (`a.b` -> `a__b`). Keys not known from the spec or the file's first record go to `_rescued_data`."""
    columns = file_columns(spec, layout)
    names = safe_names(columns)
    paths = [c.split(".") for c in columns]
    parents = sorted({tuple(p[:i]) for p in paths for i in range(1, len(p))}, key=len)
    maps: dict[tuple[str, ...], Column] = {(): F.from_json("line", "map<string,string>")}
    df = lines.withColumn("_m", maps[()])
    for i, parent in enumerate(parents):
        up = F.col("_m" if len(parent) == 1 else f"_m{parents.index(parent[:-1])}")
        df = df.withColumn(f"_m{i}", F.from_json(up.getItem(parent[-1]), "map<string,string>"))

    def map_of(parent: tuple[str, ...]) -> Column:
        return F.col("_m") if not parent else F.col(f"_m{parents.index(parent)}")

    cols = [map_of(tuple(p[:-1])).getItem(p[-1]).alias(names[c]) for c, p in zip(columns, paths)]
    rescued_parts = []
    for parent in [(), *parents]:
        known = sorted({p[len(parent)] for p in paths if len(p) > len(parent) and tuple(p[:len(parent)]) == parent})
        known_arr = F.array(*[F.lit(k) for k in known]) if known else F.array().cast("array<string>")
        part = F.map_filter(map_of(parent), lambda k, v: ~F.array_contains(known_arr, k))
        if parent:
            prefix = ".".join(parent) + "."
            part = F.transform_keys(part, lambda k, v: F.concat(F.lit(prefix), k))
        rescued_parts.append(F.coalesce(part, F.create_map().cast("map<string,string>")))
    rescued = F.map_concat(*rescued_parts) if len(rescued_parts) > 1 else rescued_parts[0]
    reason = _common_reason(require_final_newline).when(F.col("_m").isNull(), F.lit("malformed_json"))
    return df.select(*cols, F.when(F.size(rescued) > 0, F.to_json(rescued)).alias("_rescued_data"),
                     "_source_file", "_source_position", "_source_batch", F.sha2("line", 256).alias("_record_hash"),
                     reason.alias("_reason"), F.col("line").alias("_raw"))


# --- XML -------------------------------------------------------------------------------------------

def xml_records(files: DataFrame, spec: SourceSpec) -> DataFrame:
    """(path, content) -> one row per `row_tag` record: _source_position is the record's ordinal in
    the file; a record with no closing tag (a cut-off file) has `_complete` false."""
    tag = re.escape(spec.row_tag)
    text = F.decode(F.col("content"), spec.encoding or "utf-8")
    df = with_source_location(files, spec.name).select(
        "_source_file", "_source_batch", F.posexplode_outer(F.split(text, rf"<{tag}(?=[\s>/])")).alias("_pos", "_chunk"))
    df = df.where((F.col("_pos") > 0) & F.col("_chunk").isNotNull())
    close = f"</{spec.row_tag}>"
    complete = (F.instr("_chunk", close) > 0) | F.col("_chunk").rlike(r"^[^>]*/>")
    body = F.when(F.instr("_chunk", close) > 0, F.concat(F.substring_index("_chunk", close, 1), F.lit(close))) \
        .otherwise(F.regexp_replace("_chunk", r"\s+$", ""))
    return df.select("_source_file", "_source_batch", F.col("_pos").cast("long").alias("_source_position"),
                     F.concat(F.lit(f"<{spec.row_tag}"), body).alias("line"), complete.alias("_complete"))


def parse_xml(records: DataFrame, spec: SourceSpec, layout: Sequence[str] = ()) -> DataFrame:
    """Parse XML records natively (`from_xml`); child elements not known from the spec or the file's
    first record go to `_rescued_data` with their raw content."""
    columns = file_columns(spec, layout)
    names = safe_names(columns)
    fields = [f"f{i}" for i in range(len(columns))]
    # from_xml matches elements by name, so the schema must use the real (source) names.
    schema = ", ".join(f"`{c}` STRING" for c in columns) + ", `_corrupt_record` STRING"
    parsed = F.from_xml("line", schema, {"columnNameOfCorruptRecord": "_corrupt_record", "mode": "PERMISSIVE"})
    df = records.withColumn("_r", parsed)
    tags = F.regexp_extract_all("line", F.lit(r"<([A-Za-z_][\w.\-:]*)[\s>/]"), 1)
    known = F.array(*[F.lit(c) for c in [spec.row_tag, *columns]])
    unknown = F.array_except(tags, known)
    values = F.transform(unknown, lambda t: F.call_function(
        "regexp_extract", F.col("line"),
        F.concat(F.lit("<"), t, F.lit(r"(?:\s[^>]*)?>([\s\S]*?)</"), t, F.lit(">")), F.lit(1)))
    rescued = F.when(F.size(unknown) > 0, F.to_json(F.map_from_arrays(unknown, values)))
    reason = (F.when(~F.col("_complete"), F.lit("truncated_record"))
               .when(F.instr(F.col("line"), REPLACEMENT_CHAR) > 0, F.lit("undecodable_bytes"))
               .when(F.col("_r").isNull() | F.col("_r._corrupt_record").isNotNull(), F.lit("malformed_xml")))
    cols = [F.col("_r").getField(c).alias(names[c]) for c, _ in zip(columns, fields)]
    return df.select(*cols, rescued.alias("_rescued_data"), "_source_file", "_source_position", "_source_batch",
                     F.sha2("line", 256).alias("_record_hash"), reason.alias("_reason"), F.col("line").alias("_raw"))


# --- structured sources (parquet, database) --------------------------------------------------------

def raw_strings(df: DataFrame, data_columns: Sequence[str]) -> tuple[list[Column], Column]:
    """Every data column as a string under its safe name, and a sha2 of the raw values."""
    names = safe_names(data_columns)
    cols = [F.col(f"`{c}`").cast("string").alias(names[c]) for c in data_columns]
    record = F.to_json(F.struct(*[F.col(f"`{c}`").cast("string").alias(c) for c in data_columns]))
    return cols, F.sha2(record, 256)


def parse_parquet(df: DataFrame, spec: SourceSpec) -> DataFrame:
    """(path, row_index, columns...) -> bronze rows; declared columns missing from the files -> null."""
    data_cols = [c for c in df.columns if c not in ("path", "row_index")]
    cols, digest = raw_strings(df, data_cols)
    names = safe_names(file_columns(spec, data_cols))
    present = set(safe_names(data_cols).values())
    missing = [F.lit(None).cast("string").alias(n) for n in names.values() if n not in present]
    df = with_source_location(df, spec.name)
    return df.select(*cols, *missing, F.lit(None).cast("string").alias("_rescued_data"), "_source_file",
                     (F.col("row_index") + 1).cast("long").alias("_source_position"), "_source_batch",
                     digest.alias("_record_hash"), F.lit(None).cast("string").alias("_reason"),
                     F.lit(None).cast("string").alias("_raw"))


def parse_database(df: DataFrame, spec: SourceSpec, source_file: str, batch: int) -> DataFrame:
    """Rows read from a source table -> bronze rows; position = the record key."""
    data_cols = list(df.columns)
    cols, digest = raw_strings(df, data_cols)
    return df.select(*cols, F.lit(None).cast("string").alias("_rescued_data"),
                     F.lit(source_file).alias("_source_file"),
                     F.col(f"`{spec.key}`").cast("long").alias("_source_position"),
                     F.lit(batch).cast("int").alias("_source_batch"), digest.alias("_record_hash"),
                     F.lit(None).cast("string").alias("_reason"), F.lit(None).cast("string").alias("_raw"))


# --- outputs -----------------------------------------------------------------------------------------

def bronze_rows(parsed: DataFrame, run_id: str, ingested_at, watermark: str | None = None) -> DataFrame:
    """Good records with their audit columns (the data columns first, audit columns last)."""
    data = [c for c in parsed.columns if c not in AUDIT_COLUMNS and c not in ("_reason", "_raw")]
    return parsed.where(F.col("_reason").isNull()).select(
        *data, "_rescued_data", "_source_file", "_source_position", "_source_batch",
        F.lit(watermark).cast("string").alias("_source_watermark"), "_record_hash",
        F.lit(run_id).alias("_run_id"), F.lit(ingested_at).cast("timestamp").alias("_ingested_at"))


def quarantined_records(parsed: DataFrame, source: str, run_id: str, ingested_at) -> DataFrame:
    """Rejected records: one quarantine row each, with the raw record and the reason."""
    return parsed.where(F.col("_reason").isNotNull()).select(
        F.lit(source).alias("source"), "_source_batch", "_source_file", "_source_position",
        F.lit("record").alias("level"), F.col("_reason").alias("reason"), F.lit(None).cast("string").alias("detail"),
        F.col("_raw").alias("raw_record"), F.lit(1).alias("records"), F.lit(run_id).alias("_run_id"),
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"))


def counts_by_file(parsed: DataFrame) -> DataFrame:
    """Per landing file: records landed in bronze (`good`) and quarantined (`bad`)."""
    bad = F.col("_reason").isNotNull().cast("long")
    return parsed.groupBy("_source_file").agg(F.sum(1 - bad).alias("good"), F.sum(bad).alias("bad"))


QUARANTINE_SCHEMA = ("source STRING, _source_batch INT, _source_file STRING, _source_position LONG, level STRING, "
                     "reason STRING, detail STRING, raw_record STRING, records INT, _run_id STRING, "
                     "_ingested_at TIMESTAMP")
