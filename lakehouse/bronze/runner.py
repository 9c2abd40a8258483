"""Bronze orchestration: land every new landing file and every database increment in
`bronze/<source>`, quarantine what cannot be landed, log what was done in `ops/`, reconcile counts.

Idempotence and crash safety: per source and run there are three commits, in this order:
1. `bronze/<source>`: Delta replaceWhere on exactly the files (or the database watermark) of this run;
2. `bronze/_quarantine`: replaceWhere on the same files for this source;
3. `ops/bronze_ingest_log`: one row per file (or database read), with its content hash and counts.
A file counts as done only once it is in the log. A run killed between (1) and (3) leaves data whose
files are not logged; the next run reads those files again and its replaceWhere swaps the partial
rows for the same rows, so the tables end exactly as a clean run leaves them."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf
from pyspark.sql import DataFrame, SparkSession

from lakehouse import io
from lakehouse.bronze import transforms as T
from lakehouse.config import SourceSpec, selected_sources, table_path
from lakehouse.errors import BronzeError
from lakehouse.runctx import new_run_id

QUARANTINE_TABLE = "_quarantine"
INGEST_LOG = "bronze_ingest_log"
RECONCILIATION = "bronze_reconciliation"

LOG_SCHEMA = ("source STRING, unit STRING, file STRING, batch INT, sha256 STRING, size_bytes LONG, status STRING, "
              "duplicate_of STRING, landing_records LONG, bronze_rows LONG, quarantined_records LONG, "
              "watermark_from STRING, watermark_to STRING, run_id STRING, logged_at TIMESTAMP")
BRONZE_STATS = ("_source_file", "_source_batch", "_source_position", "_run_id")
QUARANTINE_STATS = ("source", "_source_file", "_source_batch", "level", "reason")
RECON_SCHEMA = ("run_id STRING, source STRING, files INT, landing_records LONG, bronze_rows LONG, "
                "quarantined_records LONG, duplicate_records LONG, difference LONG, reconciled BOOLEAN, "
                "error_rate DOUBLE, checked_at TIMESTAMP")


@dataclass(frozen=True)
class BronzeSettings:
    """`bronze:` keys of the root config (all optional)."""

    max_error_rate: float = 0.05          # quarantined records / landing records, per source per run
    spare_fields: int = 16                # extra CSV fields kept in _rescued_data before quarantining
    require_final_newline: bool = True    # a last line without "\n" is a cut-off (truncated) record
    pause_after_write_s: float = 0.0      # testing aid: sleep between the data commit and the log

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "BronzeSettings":
        node = cfg.get("bronze") or {}
        values = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class SourceRun:
    source: str
    format: str
    files: int = 0
    landing_records: int = 0
    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0
    duplicate_records: int = 0
    file_faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def difference(self) -> int:
        return self.landing_records - (self.rows + self.quarantined + self.duplicate_records)

    @property
    def error_rate(self) -> float:
        return self.quarantined / self.landing_records if self.landing_records else 0.0


@dataclass
class BronzeResult:
    run_id: str
    sources: list[SourceRun]
    errors: list[str]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)


class BronzeRun:
    """One bronze run over the selected sources."""

    def __init__(self, spark: SparkSession, cfg: DictConfig, log: Callable[[str], None] = print,
                 run_id: str | None = None):
        self.spark, self.cfg, self.log = spark, cfg, log
        self.settings = BronzeSettings.from_config(cfg)
        self.now = dt.datetime.now().replace(microsecond=0)
        self.run_id = run_id or new_run_id("bronze")
        self.landing = str(cfg.paths.landing)
        self.quarantine_path = table_path(cfg, "bronze", QUARANTINE_TABLE)
        self.log_path = table_path(cfg, "ops", INGEST_LOG)
        self.recon_path = table_path(cfg, "ops", RECONCILIATION)
        self._log_rows: list[dict[str, Any]] | None = None
        self.commit_errors: list[str] = []

    # --- driver ---------------------------------------------------------------------------------
    def run(self) -> BronzeResult:
        t0 = time.perf_counter()
        specs = selected_sources(self.cfg)
        self.log(f"bronze: run {self.run_id}, {len(specs)} sources, landing {self.landing}")
        results, errors = [], []
        for i, spec in enumerate(specs, 1):
            t1 = time.perf_counter()
            res = self.ingest_database(spec) if spec.is_database else self.ingest_files(spec)
            res.seconds = time.perf_counter() - t1
            results.append(res)
            self.log(f"  [{i:2d}/{len(specs)}] {progress_line(res)}")
            if res.difference != 0:
                errors.append(f"{spec.name}: reconciliation failed: {res.landing_records} landing records != "
                              f"{res.rows} bronze + {res.quarantined} quarantined + {res.duplicate_records} "
                              f"duplicate (difference {res.difference})")
            if res.error_rate > self.settings.max_error_rate:
                errors.append(f"{spec.name}: {res.quarantined} of {res.landing_records} records quarantined "
                              f"({res.error_rate:.2%}) exceeds bronze.max_error_rate={self.settings.max_error_rate:.2%}")
        self.write_reconciliation(results)
        result = BronzeResult(self.run_id, results, errors + self.commit_errors, time.perf_counter() - t0)
        self.log(summary_table(result))
        return result

    # --- file sources -----------------------------------------------------------------------------
    def logged(self, source: str) -> list[dict[str, Any]]:
        """This source's ingest-log entries (the log is read once per run)."""
        if self._log_rows is None:
            self._log_rows = io.read_delta_rows(self.spark, self.log_path)
        return [r for r in self._log_rows if r["source"] == source]

    def ingest_files(self, spec: SourceSpec) -> SourceRun:
        res = SourceRun(spec.name, spec.format)
        logged = self.logged(spec.name)
        done = {r["file"] for r in logged}
        first_holder: dict[str, str] = {}
        for r in sorted(logged, key=lambda r: (r["logged_at"], r["file"])):
            if r["status"] == "ingested" and r["sha256"]:
                first_holder.setdefault(r["sha256"], r["file"])
        new = [(b, p, rel) for b, p, rel in io.landing_inventory(self.landing, spec.name) if rel not in done]
        if not new:
            return res
        scans = [io.scan_landing_file(spec, b, p, rel) for b, p, rel in new]
        status: dict[str, tuple[str, str | None]] = {}
        file_rows: list[tuple] = []
        for f in scans:
            if f.problem == "empty_file":
                status[f.rel] = ("empty", None)
                file_rows.append(self._file_q(spec, f, "empty_file", "0 bytes", 0))
            elif f.problem:
                status[f.rel] = ("unreadable", None)
                file_rows.append(self._file_q(spec, f, "unreadable_file", f.problem, 0))
            elif f.sha256 in first_holder:
                status[f.rel] = ("duplicate", first_holder[f.sha256])
                file_rows.append(self._file_q(spec, f, "duplicate_file",
                                              f"same content (sha256) as {first_holder[f.sha256]}", f.records))
            else:
                first_holder[f.sha256] = f.rel
                status[f.rel] = ("ingested", None)
                if self.settings.require_final_newline and not f.final_newline and spec.format != "parquet":
                    file_rows.append(self._file_q(spec, f, "truncated_file",
                                                  "file does not end with a newline: last record cut off", 0))
        ingest = [f for f in scans if status[f.rel][0] == "ingested"]
        files = [f.rel for f in scans]
        bronze_path = table_path(self.cfg, "bronze", spec.name)
        # Two native passes over the new files (one per table) cost less than caching the parse.
        parsed = self.parse_files(spec, ingest) if ingest else None
        if parsed is not None:
            predicate = f"{io.sql_in('_source_batch', sorted({f.batch for f in ingest}))} AND " \
                        f"{io.sql_in('_source_file', [f.rel for f in ingest])}"
            io.replace_delta(T.bronze_rows(parsed, self.run_id, self.now), bronze_path, predicate, BRONZE_STATS)
        quarantine = self.spark.createDataFrame(file_rows, T.QUARANTINE_SCHEMA)
        if parsed is not None:
            quarantine = T.quarantined_records(parsed, spec.name, self.run_id, self.now).unionByName(quarantine)
        before = io.delta_version(self.spark, self.quarantine_path)
        io.replace_delta(quarantine, self.quarantine_path,
                         f"source = '{spec.name}' AND {io.sql_in('_source_file', files)}", QUARANTINE_STATS)
        if self.settings.pause_after_write_s:
            time.sleep(self.settings.pause_after_write_s)
        # Reconcile against what the tables hold, not what the plan meant to write.
        rows = io.count_by_file(self.spark, bronze_path, [f.rel for f in ingest]) if ingest else {}
        quarantined = io.count_by_file(self.spark, self.quarantine_path, files,
                                       where=f"source = '{spec.name}' AND level = 'record'")
        self.check_commit(spec.name, self.quarantine_path, sum(quarantined.values()) + len(file_rows), before)
        log_rows = []
        for f in scans:
            st, dup_of = status[f.rel]
            log_rows.append((spec.name, "file", f.rel, f.batch, f.sha256, f.size, st, dup_of, f.records,
                             rows.get(f.rel, 0), quarantined.get(f.rel, 0), None, None, self.run_id,
                             dt.datetime.now()))
            res.files += 1
            res.landing_records += f.records
            res.rows += rows.get(f.rel, 0)
            res.quarantined += quarantined.get(f.rel, 0)
            if st == "duplicate":
                res.duplicates += 1
                res.duplicate_records += f.records
            if st != "ingested":
                res.file_faults[st] = res.file_faults.get(st, 0) + 1
            elif not f.final_newline and spec.format not in ("parquet", "xml"):
                res.file_faults["truncated"] = res.file_faults.get("truncated", 0) + 1
        io.append_delta(self.spark.createDataFrame(log_rows, LOG_SCHEMA), self.log_path)
        return res

    def check_commit(self, source: str, path: str, expected: int, version_before: int | None) -> None:
        """The rows the Delta commit reports as written must be the rows the parse produced."""
        if io.delta_version(self.spark, path) == version_before:
            written = 0  # nothing to write: Delta made no commit
        else:
            written = io.last_commit_metrics(self.spark, path).get("numOutputRows")
        if written is not None and int(written) != expected:
            self.commit_errors.append(f"{source}: {path} commit wrote {written} rows, expected {expected}")

    def _file_q(self, spec: SourceSpec, f: io.LandingFile, reason: str, detail: str, records: int) -> tuple:
        return (spec.name, f.batch, f.rel, None, "file", reason, detail, None, records, self.run_id, self.now)

    def parse_files(self, spec: SourceSpec, files: list[io.LandingFile]) -> DataFrame:
        """All new files of a source parsed into one frame; files are grouped by their own layout
        (header / first record), each group read in one pass."""
        groups: dict[tuple, list[io.LandingFile]] = {}
        for f in files:
            groups.setdefault(tuple(f.layout or ()), []).append(f)
        frames = []
        s = self.settings
        for layout, group in groups.items():
            paths = [f.path for f in group]
            if spec.format == "parquet":
                frames.append(T.parse_parquet(io.read_landing_parquet(self.spark, paths), spec))
            elif spec.format == "xml":
                frames.append(T.parse_xml(T.xml_records(io.read_landing_bytes(self.spark, paths), spec), spec, layout))
            else:
                lines = T.decoded_lines(io.read_landing_bytes(self.spark, paths), spec)
                if spec.format == "csv":
                    frames.append(T.parse_csv(lines, spec, layout, s.spare_fields, s.require_final_newline))
                else:
                    frames.append(T.parse_json(lines, spec, layout, s.require_final_newline))
        out = frames[0]
        for fr in frames[1:]:
            out = out.unionByName(fr, allowMissingColumns=True)
        return out

    # --- database sources ---------------------------------------------------------------------------
    def ingest_database(self, spec: SourceSpec) -> SourceRun:
        res = SourceRun(spec.name, spec.format)
        db = io.Database.from_config(self.cfg.database)
        logged = [r for r in self.logged(spec.name) if r["unit"] == "jdbc"]
        after = max(logged, key=lambda r: r["logged_at"])["watermark_to"] if logged else None
        plan = io.database_increment(db, spec, after)
        if plan["rows"] == 0:
            return res
        source_file = f"jdbc:{db.kind}:{spec.table}"
        mark = after or ""
        df = io.read_database(self.spark, spec, db, where=plan["where"], bounds=plan["bounds"])
        parsed = T.parse_database(df, spec, source_file, int(self.cfg.get("batch", 0)))
        bronze_path = table_path(self.cfg, "bronze", spec.name)
        predicate = f"_source_file = {io.sql_str(source_file)} AND _source_watermark = {io.sql_str(mark)}"
        io.replace_delta(T.bronze_rows(parsed, self.run_id, self.now, watermark=mark), bronze_path, predicate,
                         BRONZE_STATS + ("_source_watermark",))
        if self.settings.pause_after_write_s:
            time.sleep(self.settings.pause_after_write_s)
        rows = int(io.last_commit_metrics(self.spark, bronze_path).get("numOutputRows", -1))
        log_row = (spec.name, "jdbc", source_file, int(self.cfg.get("batch", 0)), None, None, "ingested", None,
                   plan["rows"], rows, 0, after, plan["high"], self.run_id, dt.datetime.now())
        io.append_delta(self.spark.createDataFrame([log_row], LOG_SCHEMA), self.log_path)
        res.files, res.landing_records, res.rows = 1, plan["rows"], rows
        return res

    # --- reconciliation -----------------------------------------------------------------------------
    def write_reconciliation(self, results: list[SourceRun]) -> None:
        rows = [(self.run_id, r.source, r.files, r.landing_records, r.rows, r.quarantined, r.duplicate_records,
                 r.difference, r.difference == 0, float(r.error_rate), dt.datetime.now()) for r in results]
        io.append_delta(self.spark.createDataFrame(rows, RECON_SCHEMA), self.recon_path)


def run_bronze(spark: SparkSession, cfg: DictConfig, log: Callable[[str], None] = print,
               raise_on_error: bool = True, run_id: str | None = None) -> BronzeResult:
    """Run bronze for the selected sources; raise BronzeError (after all writes and the summary) when a
    source crosses its error-rate threshold or does not reconcile. ``run_id`` (the job's, see
    :mod:`lakehouse.runctx`) stamps ``_run_id`` and the ops rows; a fresh one if omitted."""
    result = BronzeRun(spark, cfg, log, run_id=run_id).run()
    if result.errors and raise_on_error:
        raise BronzeError("bronze run " + result.run_id + " failed:\n  " + "\n  ".join(result.errors))
    return result


# --- reporting -----------------------------------------------------------------------------------------

def progress_line(r: SourceRun) -> str:
    faults = ", ".join(f"{k} {v}" for k, v in sorted(r.file_faults.items()))
    return (f"{r.source:<26} {r.format:<8} files {r.files:>4}  rows {r.rows:>11,}  quarantined {r.quarantined:>7,}  "
            f"duplicates {r.duplicates:>3}  {r.seconds:>6.1f} s" + (f"  ({faults})" if faults else ""))


def summary_table(result: BronzeResult) -> str:
    head = (f"{'source':<26} {'files':>5} {'landing':>11} {'bronze':>11} {'quarant.':>9} {'dup.rec':>8} "
            f"{'diff':>6} {'err%':>6} {'secs':>7}  status")
    lines = ["bronze reconciliation (landing = bronze + quarantined + duplicate records):", head, "-" * len(head)]
    for r in result.sources:
        ok = "ok" if r.difference == 0 else "MISMATCH"
        lines.append(f"{r.source:<26} {r.files:>5} {r.landing_records:>11,} {r.rows:>11,} {r.quarantined:>9,} "
                     f"{r.duplicate_records:>8,} {r.difference:>6} {100 * r.error_rate:>5.2f}% {r.seconds:>7.1f}  {ok}")
    total_rows = result.rows
    lines.append(f"run {result.run_id}: {total_rows:,} rows in {result.seconds:.1f} s"
                 + (f" ({total_rows / result.seconds:,.0f} rows/s)" if result.seconds > 0 and total_rows else ""))
    for e in result.errors:
        lines.append(f"ERROR {e}")
    return "\n".join(lines)


def result_dict(result: BronzeResult) -> dict[str, Any]:
    return {"run_id": result.run_id, "seconds": result.seconds, "errors": result.errors,
            "sources": [{**asdict(s), "difference": s.difference, "error_rate": s.error_rate} for s in result.sources]}
