"""Right to erasure: remove one person from every layer, including old file versions.

Usage (identifiers come from stdin or a file, never from the command line, where shell history and
``ps`` would keep them)::

    echo "cccd:001234567890" | python -m lakehouse.security.erase            # or: make erase < request.txt
    python -m lakehouse.security.erase --file /secure/request.txt [--dry-run] [hydra overrides...]

One identifier per line, ``kind:value`` or a bare value of the default kind (``--kind``, default
cccd); blank lines and ``#`` comments are skipped. Accepted kinds: ``security.erasure.input_kinds``.

What happens (:func:`erase`):

1. **Discover** the Delta tables of ``security.erasure.layers`` (from :mod:`lakehouse.catalog`, at
   any depth: kept silver staging tables ``silver/_staging/<source>/...`` included) and what each
   can be matched on, from column conventions (``security.erasure``) and, for bronze, the source
   specs (record key and identifier columns of conf/sources/<source>.yaml): golden keys
   (``citizen_key``), pseudonyms (``<kind>_token``), source records (``source``, ``record_key``),
   clear identifiers, raw text.
2. **Find the person**: tokens of the identifier under every key version in the keyring; golden
   keys from gold rows carrying those tokens; source records from silver/bronze rows carrying the
   identifier (digits compared without separators or leading zeros); then ``gold/xref_citizen``
   links both ways (every record resolved to the person, every key of a matched record).
3. **Delete** the matching rows, bronze first and gold last (so a failed run can be repeated: the
   links it needs survive until the end), with a Delta MERGE against a small frame of match values:
   the identifiers never appear as literals in a plan or in the Delta commit's recorded predicate.
   Links to the person in other rows (``owner_citizen_key``) are set to null.
4. **Physically remove** old data: VACUUM RETAIN 0 HOURS on every searched table (the retention
   check is disabled for this session only while it runs), then a fresh checkpoint and removal of
   the older Delta log files, whose ``add`` actions keep per-file min/max statistics.
5. **Audit**: one ``erase`` record with the request id, the tables and versions written and the row
   counts; never the identifier or its pseudonym.

Run it while no other job writes: VACUUM with zero retention deletes files a concurrent writer or
long reader may still need, and the history (time travel) of every searched table is cut.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io as _pyio
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, TextIO

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse import catalog
from lakehouse.config import SourceSpec, source_spec
from lakehouse.errors import SecurityError
from lakehouse.security import tables as T
from lakehouse.security.audit import audited_run
from lakehouse.security.keys import Keyring, load_keyring
from lakehouse.security.protect import local_frame
from lakehouse.storage.delta import (
    drop_history,
    last_commit_metrics,
    log_version,
    read_delta,
)
from lakehouse.storage.uri import sql_path

LAYER_ORDER = {"bronze": 0, "silver": 1, "gold": 2}
# Valid lengths of each identifier kind after normalisation (digits only).
LENGTHS = {"cccd": (12,), "cmnd": (9, 12), "bhxh": (10,), "tax_code": (10, 12, 13), "phone": (10, 11)}
DEFAULT_INPUT_KINDS = ("cccd", "cmnd", "bhxh", "tax_code")
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
_SRC = StructType([StructField("r", StringType()), StructField("a", StringType()), StructField("b", StringType())])


class ErasureError(SecurityError, ValueError):
    """A bad erasure request (messages name the line, never the identifier)."""


# --- input -----------------------------------------------------------------------------------

def _settings(cfg: Any) -> dict[str, Any]:
    return T.erasure_settings(cfg)


def normalise_identifier(kind: str, value: str) -> str | None:
    digits = re.sub(r"[^0-9]", "", value)
    if kind == "phone" and len(digits) == 11 and digits.startswith("84"):
        digits = "0" + digits[2:]
    return digits if len(digits) in LENGTHS.get(kind, ()) else None


def read_identifiers(source: TextIO | str | os.PathLike, default_kind: str = "cccd",
                     kinds: Iterable[str] = DEFAULT_INPUT_KINDS) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs from a text stream (stdin) or a file path."""
    kinds = tuple(kinds)
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    else:
        text = source.read()
    out: list[tuple[str, str]] = []
    for n, line in enumerate(_pyio.StringIO(text), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, value = line.partition(":") if ":" in line else (default_kind, "", line)
        kind = kind.strip().lower()
        if kind not in kinds:
            raise ErasureError(f"line {n}: identifier kind '{kind}' is not accepted (accepted: {list(kinds)})")
        norm = normalise_identifier(kind, value)
        if norm is None:
            raise ErasureError(f"line {n}: not a valid {kind} "
                               f"({' or '.join(str(x) for x in LENGTHS[kind])} digits expected)")
        if (kind, norm) not in out:
            out.append((kind, norm))
    if not out:
        raise ErasureError("no identifiers given (one per line on stdin or in the file)")
    return out


# --- discovery -------------------------------------------------------------------------------

@dataclass
class Target:
    """One Delta table and what to match in it."""

    name: str
    path: str
    citizen_key: list[str] = field(default_factory=list)
    nullify: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)           # column -> kind
    pairs: tuple[str, str] | None = None                           # (source column, record key column)
    source_key: tuple[str, str] | None = None                      # bronze: (source name, key column)
    identifiers: dict[str, str] = field(default_factory=dict)      # column -> kind
    raw: list[str] = field(default_factory=list)

    @property
    def layer(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def matchable(self) -> bool:
        return bool(self.citizen_key or self.nullify or self.tokens or self.pairs or self.source_key
                     or self.identifiers or self.raw)


def _bronze_spec(cfg: Any, table: str) -> SourceSpec | None:
    sources = cfg.get("sources") or {}
    if table not in sources:
        return None
    try:
        return source_spec(table, sources[table])
    except ValueError:
        return None


def target_for(cfg: Any, name: str, path: str, columns: Iterable[str], kinds: Iterable[str]) -> Target:
    """What erasure matches in a table with these columns (conventions in security.erasure)."""
    s = _settings(cfg)
    cols = list(columns)
    kinds = list(kinds)
    t = Target(name, path)
    t.citizen_key = [c for c in s.get("citizen_key_columns", ["citizen_key"]) if c in cols]
    t.nullify = [c for c in s.get("nullify_columns", []) if c in cols]
    suffix = s.get("token_suffix", "_token")
    for c in cols:
        for kind in kinds:
            if c == f"{kind}{suffix}" or c.endswith(f"_{kind}{suffix}"):
                t.tokens[c] = kind
    rk = s.get("record_key") or {"source": "source", "key": "record_key"}
    if rk.get("source") in cols and rk.get("key") in cols:
        t.pairs = (rk["source"], rk["key"])
    for kind, names in (s.get("identifier_columns") or {}).items():
        for c in names or []:
            if c in cols and kind in LENGTHS:
                t.identifiers[c] = kind
    layer, table = T.split_name(name)
    if layer == "bronze":
        spec = _bronze_spec(cfg, table)
        if spec is not None:
            from lakehouse.bronze.transforms import safe_name

            def stored(name: str | None) -> str | None:  # bronze keeps columns under their safe names
                return next((n for n in (name, safe_name(name)) if n in cols), None) if name else None

            if stored(spec.key):
                t.source_key = (spec.name, stored(spec.key))
            for kind, names in (s.get("identifier_columns") or {}).items():
                for canonical in names or []:
                    c = stored(spec.column(canonical))
                    if c and kind in LENGTHS:
                        t.identifiers[c] = kind
    t.raw = [c for c in s.get("raw_text_columns", []) if c in cols]
    return t


def discover_targets(spark: SparkSession, cfg: Any, kinds: Iterable[str] | None = None) -> list[Target]:
    """Every table erasure must search (the catalog's tables of security.erasure.layers, nested ones
    included), in deletion order (bronze, silver, gold)."""
    s = _settings(cfg)
    kinds = list(kinds or ((cfg.get("security") or {}).get("pseudonym_kinds") or LENGTHS))
    exclude = list(s.get("exclude") or [])
    targets: dict[str, Target] = {}
    for table in catalog.tables(cfg, spark, s.get("layers") or ["bronze", "silver", "gold"]):
        name = table.qualified_name
        if any(fnmatch.fnmatchcase(name, p) for p in exclude):
            continue
        t = target_for(cfg, name, table.path, table.columns, kinds)
        if t.matchable:
            targets[name] = t
    for extra in s.get("extra_targets") or []:
        name, path = T.resolve(cfg, extra["table"])
        t = targets.get(name) or Target(name, path)
        t.citizen_key += list(extra.get("citizen_key") or [])
        t.nullify += list(extra.get("nullify") or [])
        t.tokens.update(extra.get("tokens") or {})
        t.identifiers.update(extra.get("identifier") or {})
        t.raw += list(extra.get("raw") or [])
        if extra.get("pairs"):
            t.pairs = tuple(extra["pairs"])  # type: ignore[assignment]
        targets[name] = t
    return sorted(targets.values(), key=lambda t: (LAYER_ORDER.get(t.layer, 9), t.name))


# --- finding the person ----------------------------------------------------------------------

@dataclass
class Subject:
    """Everything that identifies the person in the lake. Held in memory only; never logged."""

    values: dict[str, set[str]]           # kind -> normalised identifiers
    tokens: dict[str, set[str]]           # kind -> pseudonyms under every key version
    citizen_keys: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)

    def stripped(self, kind: str) -> set[str]:
        return {v.lstrip("0") or "0" for v in self.values.get(kind, ())}

    def __repr__(self) -> str:  # counts only
        return (f"Subject(identifiers={sum(len(v) for v in self.values.values())}, "
                f"citizen_keys={len(self.citizen_keys)}, source_records={len(self.pairs)})")


def _digits(c: Column) -> Column:
    return F.regexp_replace(c.cast("string"), "[^0-9]", "")


def _stripped(c: Column) -> Column:
    """Digits without separators or leading zeros (a CCCD stored as a number lost its zero)."""
    return F.regexp_replace(_digits(c), "^0+", "")


def _frame(spark: SparkSession, rows: Iterable[tuple[str, str | None, str | None]]) -> DataFrame:
    return local_frame(spark, [tuple(r) for r in rows], _SRC)


def _col(alias: str, name: str) -> Column:
    return F.col(f"{alias}.`{name}`")


def _collect_distinct(df: DataFrame, *cols: str) -> set:
    """Distinct non-null values (tuples for several columns), cast to string."""
    sel = df.select(*[F.col(f"`{c}`").cast("string").alias(f"c{i}") for i, c in enumerate(cols)])
    for i in range(len(cols)):
        sel = sel.where(F.col(f"c{i}").isNotNull())
    rows = sel.distinct().collect()
    return {tuple(r) if len(cols) > 1 else r[0] for r in rows}


def find_subject(spark: SparkSession, targets: list[Target], identifiers: list[tuple[str, str]],
                 keyring: Keyring) -> Subject:
    values: dict[str, set[str]] = {}
    for kind, value in identifiers:
        values.setdefault(kind, set()).add(value)
    tokens = {kind: {keyring.token(v, kind, ver) for v in vs for ver in keyring.versions}
              for kind, vs in values.items() if kind in keyring.kinds}
    subj = Subject(values, tokens)
    id_rows = [("id:" + k, v, None) for k in values for v in subj.stripped(k)]
    tok_rows = [("tok:" + k, t, None) for k, ts in tokens.items() for t in ts]
    ids = _frame(spark, id_rows)
    toks = _frame(spark, tok_rows)
    for t in targets:
        df = read_delta(spark, t.path).alias("t")
        # golden keys through pseudonyms
        if t.citizen_key and t.tokens and tok_rows:
            cond = _or([(F.col("s.r") == f"tok:{kind}") & (_col("t", c) == F.col("s.a")) for c, kind in t.tokens.items()])
            hit = df.join(toks.alias("s"), cond, "left_semi")
            for c in t.citizen_key:
                subj.citizen_keys |= _collect_distinct(hit, c)
        # source records through clear identifiers
        id_cols = {c: k for c, k in t.identifiers.items() if k in values}
        if id_cols and (t.pairs or t.source_key or t.citizen_key):
            cond = _or([(F.col("s.r") == f"id:{k}") & (_stripped(_col("t", c)) == F.col("s.a"))
                        for c, k in id_cols.items()])
            hit = df.join(ids.alias("s"), cond, "left_semi")
            if t.pairs:
                subj.pairs |= _collect_distinct(hit, *t.pairs)
            if t.source_key:
                subj.pairs |= {(t.source_key[0], str(k)) for k in _collect_distinct(hit, t.source_key[1])}
            for c in t.citizen_key:
                subj.citizen_keys |= _collect_distinct(hit, c)
    # cross-reference tables (source, record_key, citizen_key): both directions
    for t in targets:
        if t.pairs and t.citizen_key:
            df = read_delta(spark, t.path).alias("t")
            if subj.pairs:
                src = _frame(spark, [("pair", a, b) for a, b in subj.pairs]).alias("s")
                hit = df.join(src, (_col("t", t.pairs[0]) == F.col("s.a")) & (_col("t", t.pairs[1]) == F.col("s.b")),
                              "left_semi")
                for c in t.citizen_key:
                    subj.citizen_keys |= _collect_distinct(hit, c)
            if subj.citizen_keys:
                src = _frame(spark, [("ck", k, None) for k in subj.citizen_keys]).alias("s")
                hit = df.join(src, _or([_col("t", c) == F.col("s.a") for c in t.citizen_key]), "left_semi")
                subj.pairs |= _collect_distinct(hit, *t.pairs)
    return subj


def _or(conds: list[Column]) -> Column:
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out


# --- deleting --------------------------------------------------------------------------------

def _match(t: Target, subj: Subject) -> tuple[list[tuple], Column | None]:
    """Source rows and MERGE condition deleting the person's rows of one table."""
    rows: list[tuple] = []
    conds: list[Column] = []
    s = lambda name: F.col(f"s.{name}")  # noqa: E731
    if t.citizen_key and subj.citizen_keys:
        rows += [("ck", k, None) for k in subj.citizen_keys]
        conds += [(s("r") == "ck") & (_col("t", c) == s("a")) for c in t.citizen_key]
    for c, kind in t.tokens.items():
        if subj.tokens.get(kind):
            rows += [(f"tok:{kind}", v, None) for v in subj.tokens[kind] if (f"tok:{kind}", v, None) not in rows]
            conds.append((s("r") == f"tok:{kind}") & (_col("t", c) == s("a")))
    if subj.pairs and (t.pairs or t.source_key):
        rows += [("pair", a, b) for a, b in subj.pairs]
        if t.pairs:
            conds.append((s("r") == "pair") & (_col("t", t.pairs[0]) == s("a")) & (_col("t", t.pairs[1]) == s("b")))
        if t.source_key:
            conds.append((s("r") == "pair") & (s("a") == t.source_key[0])
                         & (_col("t", t.source_key[1]).cast("string") == s("b")))
    for c, kind in t.identifiers.items():
        if subj.values.get(kind):
            tag = f"id:{kind}"
            rows += [(tag, v, None) for v in subj.stripped(kind) if (tag, v, None) not in rows]
            conds.append((s("r") == tag) & (_stripped(_col("t", c)) == s("a")))
    if t.raw:
        digits = {v for kind in subj.values for v in subj.stripped(kind)}
        if digits:
            rows += [("raw", v, None) for v in digits]
            conds += [(s("r") == "raw") & (F.instr(_digits(_col("t", c)), s("a")) > 0) for c in t.raw]
    return rows, (_or(conds) if conds else None)


def _properties(spark: SparkSession, path: str) -> dict[str, str]:
    return {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {sql_path(path)}").collect()}


def _set_property(spark: SparkSession, path: str, key: str, value: str) -> None:
    spark.sql(f"ALTER TABLE {sql_path(path)} SET TBLPROPERTIES ('{key}' = '{value}')")


def _merge_delete(spark: SparkSession, t: Target, subj: Subject, dry_run: bool) -> int:
    from delta.tables import DeltaTable

    rows, cond = _match(t, subj)
    if cond is None or not rows:
        return 0
    src = _frame(spark, rows).alias("s")
    matched = read_delta(spark, t.path).alias("t").join(src, cond, "left_semi").count()
    if dry_run or not matched:  # a count is much cheaper than a MERGE that finds nothing
        return matched
    DeltaTable.forPath(spark, t.path).alias("t").merge(src, cond).whenMatchedDelete().execute()
    return int(last_commit_metrics(spark, t.path).get("numTargetRowsDeleted", 0) or 0)


def _merge_nullify(spark: SparkSession, t: Target, subj: Subject, dry_run: bool) -> int:
    from delta.tables import DeltaTable

    if not t.nullify or not subj.citizen_keys:
        return 0
    src = _frame(spark, [("ck", k, None) for k in subj.citizen_keys]).alias("s")
    n = 0
    for c in t.nullify:
        cond = _col("t", c) == F.col("s.a")
        matched = read_delta(spark, t.path).alias("t").join(src, cond, "left_semi").count()
        if dry_run or not matched:
            n += matched
            continue
        (DeltaTable.forPath(spark, t.path).alias("t").merge(src, cond)
         .whenMatchedUpdate(set={f"`{c}`": F.lit(None).cast("string")}).execute())
        n += int(last_commit_metrics(spark, t.path).get("numTargetRowsUpdated", 0) or 0)
    return n


# --- physical removal ------------------------------------------------------------------------

@contextlib.contextmanager
def retention_check_disabled(spark: SparkSession, listing_parallelism: int | None = None) -> Iterator[None]:
    """Allow VACUUM RETAIN 0 HOURS in this session while the block runs (and skip vacuum's own
    START/END commits, which the log purge would remove anyway); the previous settings come back.
    VACUUM lists a table's files with spark.sql.sources.parallelPartitionDiscovery.parallelism tasks
    (default 10000: over a minute per small table in local mode); it is set to `listing_parallelism`
    (default: the context's default parallelism) meanwhile."""
    saved = {k: spark.conf.get(k, None) for k in (RETENTION_CHECK, VACUUM_LOGGING, LISTING_PARALLELISM)}
    spark.conf.set(RETENTION_CHECK, "false")
    spark.conf.set(VACUUM_LOGGING, "false")
    spark.conf.set(LISTING_PARALLELISM, str(listing_parallelism or max(2, spark.sparkContext.defaultParallelism)))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def vacuum_now(spark: SparkSession, path: str) -> None:
    """VACUUM RETAIN 0 HOURS: files no longer in the current version are deleted now."""
    with retention_check_disabled(spark):
        spark.sql(f"VACUUM {sql_path(path)} RETAIN 0 HOURS")


def purge_log_history(spark: SparkSession, path: str) -> int:
    """Checkpoint the current version, then delete the log files of older versions (commits, their
    checksums, older checkpoints): Delta itself only drops them after delta.logRetentionDuration, but
    their add actions carry per-file column statistics (min/max values). Time travel before the
    checkpoint is no longer possible. Returns the number of files deleted."""
    return drop_history(spark, path)


# --- the whole request -----------------------------------------------------------------------

@dataclass
class ErasureReport:
    request_id: str
    identifiers: int
    citizen_keys: int
    source_records: int
    deleted: dict[str, int] = field(default_factory=dict)
    nullified: dict[str, int] = field(default_factory=dict)
    vacuumed: list[str] = field(default_factory=list)
    log_files_removed: int = 0
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return sum(self.deleted.values()) + sum(self.nullified.values())

    def summary(self) -> str:
        head = "erasure (dry run: nothing deleted)" if self.dry_run else "erasure"
        lines = [f"{head} {self.request_id}: {self.identifiers} identifier(s), {self.citizen_keys} golden key(s), "
                 f"{self.source_records} source record(s)"]
        for name in sorted(set(self.deleted) | set(self.nullified)):
            d, n = self.deleted.get(name, 0), self.nullified.get(name, 0)
            if d or n:
                lines.append(f"  {name:<40} deleted {d:>6}" + (f"  links nulled {n}" if n else ""))
        if not self.dry_run:
            lines.append(f"  vacuumed {len(self.vacuumed)} table(s) with zero retention; "
                         f"{self.log_files_removed} old log file(s) removed")
        return "\n".join(lines)


def _parallel(fn: Callable[[Target], Any], items: list[Target], workers: int) -> list[Any]:
    """fn over items on `workers` threads (Spark runs their jobs concurrently); results in order."""
    if workers <= 1 or len(items) <= 1:
        return [fn(t) for t in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="erase") as pool:
        return list(pool.map(fn, items))


def _erase_rows(spark: SparkSession, t: Target, subj: Subject, dry_run: bool) -> tuple[int, int, int | None]:
    """(rows deleted, links nulled, new version) for one table."""
    props = {} if dry_run else _properties(spark, t.path)
    append_only = props.get("delta.appendOnly") == "true"
    if append_only:
        _set_property(spark, t.path, "delta.appendOnly", "false")
    try:
        deleted = _merge_delete(spark, t, subj, dry_run)
        nulled = _merge_nullify(spark, t, subj, dry_run)
    finally:
        if append_only:
            _set_property(spark, t.path, "delta.appendOnly", "true")
    if not dry_run and (deleted or nulled) and props.get("delta.enableDeletionVectors") == "true":
        spark.sql(f"REORG TABLE {sql_path(t.path)} APPLY (PURGE)")  # rewrite files, drop the vectors
    return deleted, nulled, (None if dry_run else log_version(spark, t.path))


def erase(spark: SparkSession, cfg: Any, identifiers: list[tuple[str, str]], keyring: Keyring | None = None,
          targets: list[Target] | None = None, dry_run: bool = False, principal: str | None = None,
          log: Callable[[str], None] = lambda _: None) -> ErasureReport:
    """Erase the people named by `identifiers` ((kind, value) pairs from read_identifiers).
    `log` receives progress lines (table names, counts, seconds; never identifiers)."""
    s = _settings(cfg)
    workers = int(s.get("parallelism", 4) or 1)
    t0 = time.monotonic()
    keyring = keyring or load_keyring(cfg)
    request_id = f"erase-{uuid.uuid4().hex[:12]}"
    with audited_run(spark, cfg, job="erase", run_id=request_id, principal=principal, action="erase") as audit:
        audit.note("dry_run", str(dry_run).lower())
        audit.note("request_id", request_id)
        targets = targets if targets is not None else discover_targets(spark, cfg, keyring.kinds)
        for t in targets:
            audit.read(t.name)
        log(f"{request_id}: {len(targets)} table(s) to search ({time.monotonic() - t0:.1f} s)")
        subj = find_subject(spark, targets, identifiers, keyring)
        report = ErasureReport(request_id, len(identifiers), len(subj.citizen_keys), len(subj.pairs), dry_run=dry_run)
        log(f"found {report.citizen_keys} golden key(s), {report.source_records} source record(s) "
            f"({time.monotonic() - t0:.1f} s)")
        # Layer by layer (bronze, silver, gold): the links a repeated run needs are deleted last.
        for layer in sorted({t.layer for t in targets}, key=lambda x: LAYER_ORDER.get(x, 9)):
            batch = [t for t in targets if t.layer == layer]
            for t, (deleted, nulled, version) in zip(batch, _parallel(
                    lambda t: _erase_rows(spark, t, subj, dry_run), batch, workers)):
                report.deleted[t.name], report.nullified[t.name] = deleted, nulled
                if deleted or nulled:
                    if not dry_run:
                        audit.wrote(t.name, version=version, rows=deleted + nulled)
                    log(f"  {t.name}: {'would delete' if dry_run else 'deleted'} {deleted}"
                        + (f", links nulled {nulled}" if nulled else ""))
        log(f"rows {'matched' if dry_run else 'deleted'} ({time.monotonic() - t0:.1f} s)")
        if not dry_run and (s.get("vacuum", True) or s.get("purge_log", True)):
            def physical(t: Target) -> int:
                if s.get("vacuum", True):
                    spark.sql(f"VACUUM {sql_path(t.path)} RETAIN 0 HOURS")
                return purge_log_history(spark, t.path) if s.get("purge_log", True) else 0

            with retention_check_disabled(spark, s.get("listing_parallelism")):
                removed = _parallel(physical, targets, workers)
            report.vacuumed = [t.name for t in targets] if s.get("vacuum", True) else []
            report.log_files_removed = sum(removed)
            log(f"old files and log history removed from {len(targets)} table(s) ({time.monotonic() - t0:.1f} s)")
        audit.count("identifiers", report.identifiers)
        audit.count("citizen_keys", report.citizen_keys)
        audit.count("source_records", report.source_records)
        audit.count("rows", report.rows)
        audit.count("tables_vacuumed", len(report.vacuumed))
    return report


def run_erasure(spark: SparkSession, cfg: Any, source: TextIO | str | os.PathLike, default_kind: str = "cccd",
                dry_run: bool = False, log: Callable[[str], None] = lambda _: None) -> ErasureReport:
    """Read the request (stdin stream or file path) and erase. For jobs/erase.py and `make erase`."""
    kinds = _settings(cfg).get("input_kinds") or DEFAULT_INPUT_KINDS
    return erase(spark, cfg, read_identifiers(source, default_kind, kinds), dry_run=dry_run, log=log)


USAGE = ("usage: python -m lakehouse.security.erase [--file PATH] [--kind cccd] [--dry-run] [hydra overrides]\n"
         "identifiers are read from stdin (or --file), one per line; never from the command line")


def main(argv: list[str] | None = None) -> int:
    from lakehouse.config import compose
    from lakehouse.session import build_spark

    args = list(sys.argv[1:] if argv is None else argv)
    path, kind, dry_run, overrides = None, "cccd", False, []
    it = iter(args)
    for a in it:
        if a == "--file":
            path = next(it, None)
        elif a == "--kind":
            kind = next(it, "cccd")
        elif a == "--dry-run":
            dry_run = True
        elif a in ("-h", "--help"):
            print(USAGE)
            return 0
        elif re.search(r"\d{9,}", a):
            print("refusing: an identifier-like value is on the command line (it would stay in shell history "
                  "and process listings). " + USAGE, file=sys.stderr)
            return 2
        else:
            overrides.append(a)
    if path is None and sys.stdin.isatty():
        print(USAGE, file=sys.stderr)
        return 2
    cfg = compose(overrides)
    spark = build_spark(cfg.spark, str(cfg.spark_master))
    try:
        report = run_erasure(spark, cfg, path if path else sys.stdin, kind, dry_run, log=print)
    except ErasureError as exc:
        print(f"erasure request rejected: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
