"""How a source serialises its records: CSV dialects and JSON lines built as text natively, so that
quoting, byte-order marks and malformed lines are exactly what the source would send."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.config import SourceSpec
from lakehouse.simulate.sources import TRUTH_PREFIX

BOM = "\ufeff"


def _is_malformed() -> Column:
    return F.array_contains(F.col(f"{TRUTH_PREFIX}faults"), "malformed")


def _quoted(value: Column, sep: str, style: str) -> Column:
    text = F.coalesce(value.cast("string"), F.lit(""))
    wrapped = F.concat(F.lit('"'), F.regexp_replace(text, '"', '""'), F.lit('"'))
    if style == "all":
        return F.when(value.isNull(), F.lit("")).otherwise(wrapped)
    if style == "none":
        return text
    needs = text.contains(sep) | text.contains('"') | text.contains("\n")
    return F.when(needs, wrapped).otherwise(text)


def csv_lines(df: DataFrame, spec: SourceSpec) -> DataFrame:
    """One string column per line. The column's *name* is the header line, so Spark's CSV writer
    (with a separator and quote that never occur) writes header and lines verbatim, in any encoding."""
    sep = spec.reader.get("sep", ",")
    style = spec.generator.get("quote", "minimal")
    cols = [c for c in df.columns if not c.startswith(TRUTH_PREFIX)]
    staged = df.select(*[_quoted(F.col(f"`{c}`"), sep, style).alias(f"q{i}") for i, c in enumerate(cols)],
                       _is_malformed().alias("_malformed"))
    fields = [F.col(f"q{i}") for i in range(len(cols))]
    line = F.concat_ws(sep, *fields)
    # A broken line: the last field is lost, or a stray separator splits a value.
    broken = F.when(F.length(line) % 2 == 0, F.concat_ws(sep, *fields[:-1])) \
        .otherwise(F.concat(line, F.lit(sep), F.lit("???")))
    header = sep.join(cols)
    if spec.raw.get("format", {}).get("bom"):
        header = BOM + header
    return staged.select(F.when(F.col("_malformed"), broken).otherwise(line).alias(header))


def json_lines(df: DataFrame) -> DataFrame:
    """JSON lines; a malformed record is cut in the middle."""
    cols = [F.col(f"`{c}`") for c in df.columns if not c.startswith(TRUTH_PREFIX)]
    doc = F.to_json(F.struct(*cols))
    cut = F.substring(doc, 1, (F.length(doc) / 2).cast("int"))
    return df.select(F.when(_is_malformed(), cut).otherwise(doc).alias("value"))


def landing_columns(df: DataFrame) -> DataFrame:
    return df.select([F.col(f"`{c}`") for c in df.columns if not c.startswith(TRUTH_PREFIX)])


def truth_columns(df: DataFrame, source: str, batch: int) -> DataFrame:
    return df.select(F.lit(source).alias("source"), F.lit(batch).alias("batch"),
                     *[F.col(c).alias(c[len(TRUTH_PREFIX):]) for c in df.columns if c.startswith(TRUTH_PREFIX)])
