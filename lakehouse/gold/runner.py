"""Gold: resolve silver into citizens and enterprises, build golden records, aggregates, insights
and the quality scorecard. Contracts: :mod:`lakehouse.gold.schema`.

Every gold table is rebuilt from the current silver state in each run (overwrite), so a re-run
gives the same tables; the golden keys are stable because they derive from the cluster's validated
identifier (else its first record) through a keyed HMAC. Only the scorecard accumulates: one set of
rows per run, with the trend against the previous run.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import io
from lakehouse.config import table_path
from lakehouse.errors import GoldError
from lakehouse.gold import resolve as R
from lakehouse.runctx import new_run_id
from lakehouse.security.keys import load_keyring
from lakehouse.security.protect import protect_columns, pseudonymise, with_keys, drop_keys

PERSON_ID_COLS = ("source", "record_key", "full_name", "name_folded", "birth_date", "birth_date_precision", "sex",
                  "cccd", "cmnd", "phone", "province_code", "ward_code", "address_text")
ENTERPRISE_ID_COLS = ("source", "record_key", "tax_code", "enterprise_name", "name_folded", "province_code",
                      "address_text", "owner_name_folded", "owner_cccd", "phone")
AGE_BANDS = ((0, 14, "0-14"), (15, 24, "15-24"), (25, 39, "25-39"), (40, 59, "40-59"), (60, 74, "60-74"),
             (75, 200, "75+"))


@dataclass
class GoldResult:
    run_id: str
    tables: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    scorecard: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    source_records: int = 0


def _settings(cfg: DictConfig) -> dict[str, Any]:
    node = cfg.get("gold") or {}
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def _current(spark: SparkSession, cfg: DictConfig, table: str) -> DataFrame | None:
    path = table_path(cfg, "silver", table)
    if not io.delta_exists(spark, path):
        return None
    return io.read_delta(spark, path).where("is_current AND NOT is_deleted")


def _fact(spark: SparkSession, cfg: DictConfig, name: str) -> DataFrame | None:
    path = table_path(cfg, "silver", f"fact_{name}")
    if not io.delta_exists(spark, path):
        return None
    return io.read_delta(spark, path).where("NOT is_deleted")


def _rank(ranking: list[str]) -> Column:
    """Position of the record's source in a trust ranking (unlisted sources rank last)."""
    expr = F.lit(len(ranking))
    for i, s in reversed(list(enumerate(ranking))):
        expr = F.when(F.col("source") == s, F.lit(i)).otherwise(expr)
    return expr


def survive(df: DataFrame, key: str, attrs: dict[str, list[str]], group_extra: list[Column] = ()) -> DataFrame:
    """One row per ``key``: for each attribute (with its source trust ranking) the value of the best
    record: non-null first, then the ranking, then completeness (date precision), then recency.
    ``<attr>_source`` names the source that won."""
    aggs = []
    recency = -F.coalesce(F.unix_timestamp("updated_at"), F.lit(0))
    for attr, ranking in attrs.items():
        if attr not in df.columns:
            continue
        extra = [F.col(f"{attr}_precision")] if f"{attr}_precision" in df.columns else []
        order = F.struct(F.col(attr).isNull().alias("n"), _rank(ranking).alias("r"),
                         *[e.alias(f"e{i}") for i, e in enumerate(extra)], recency.alias("t"))
        best = F.min_by(F.struct(F.col(attr).alias("v"), F.col("source").alias("s"),
                                 *[e.alias(f"p{i}") for i, e in enumerate(extra)]), order)
        aggs.append(best.alias(f"_best_{attr}"))
    out = df.groupBy(key).agg(*aggs, *group_extra)
    cols = [key]
    for attr in attrs:
        if f"_best_{attr}" not in out.columns:
            continue
        cols += [F.col(f"_best_{attr}.v").alias(attr), F.col(f"_best_{attr}.s").alias(f"{attr}_source")]
        if f"{attr}_precision" in df.columns:
            cols.append(F.col(f"_best_{attr}.p0").alias(f"{attr}_precision"))
    rest = [c for c in out.columns if not c.startswith("_best_") and c != key]
    return out.select(*cols, *rest)


def _resolve(df: DataFrame, cols: tuple[str, ...], fn: Callable, settings: dict) -> tuple[DataFrame, Any]:
    present = [c for c in cols if c in df.columns]
    res = fn(df.select(*present), settings)
    return res.clusters, res.stats


def _write(spark: SparkSession, cfg: DictConfig, name: str, df: DataFrame, result: GoldResult) -> DataFrame:
    path = table_path(cfg, "gold", name)
    io.overwrite_delta(df, path)
    out = io.read_delta(spark, path)
    result.tables[name] = int(io.last_commit_metrics(spark, path).get("numOutputRows", 0))
    return out


def _enterprise_key(c: Column) -> Column:
    return F.sha2(F.concat(F.lit("enterprise:"), c), 256).substr(1, 32)


def _late_filing(period: Column, filed: Column, due_days: int) -> Column:
    q = F.regexp_extract(period, r"Q(\d)", 1).try_cast("int")
    y = F.regexp_extract(period, r"(\d{4})", 1).try_cast("int")
    due = F.date_add(F.make_date(y, q * 3, F.lit(1)), due_days)
    return filed > due


def run_gold(spark: SparkSession, cfg: DictConfig, log: Callable[[str], None] = print,
             run_id: str | None = None) -> GoldResult:
    """Rebuild gold from silver. ``run_id`` (the job's, see :mod:`lakehouse.runctx`) stamps ``_run_id``
    and the scorecard rows; a fresh one if omitted."""
    t0 = time.perf_counter()
    settings = _settings(cfg)
    result = GoldResult(run_id or new_run_id("gold"))
    citizens = _current(spark, cfg, "citizen_records")
    firms = _current(spark, cfg, "enterprise_records")
    if citizens is None or firms is None:
        raise GoldError("gold: silver/citizen_records or silver/enterprise_records is missing: run `make silver` first")
    ring = load_keyring(cfg)
    surv = settings.get("survivorship") or {}

    # --- enterprises first: citizens' employers and owners point at them
    t = time.perf_counter()
    eclusters, estats = _resolve(firms, ENTERPRISE_ID_COLS, R.resolve_enterprises, settings.get("resolve_enterprises"))
    eclusters = eclusters.persist()
    result.stats["enterprises"] = estats.as_dict()
    log(f"gold: enterprises resolved: {estats.records:,} records -> {estats.clusters:,} clusters "
        f"in {time.perf_counter() - t:.1f} s ({estats.pairs_scored:,} pairs scored)")
    erec = firms.join(eclusters, ["source", "record_key"])
    anchor = erec.groupBy("cluster_id").agg(F.min("tax_code").alias("_tax"))
    ekeys = anchor.select("cluster_id", _enterprise_key(F.coalesce(F.col("_tax"), F.col("cluster_id")))
                          .alias("enterprise_key"))
    erec = erec.join(ekeys, "cluster_id")
    xref_e = _write(spark, cfg, "xref_enterprise", erec.select("source", "record_key", "enterprise_key", "match_method",
                                                              "match_probability"), result)

    filings = _fact(spark, cfg, "tax_filings")
    due_days = int(settings.get("filing_due_days", 60))
    if filings is not None:
        f = filings.join(xref_e.select("source", "record_key", "enterprise_key"), ["source", "record_key"])
        f = f.withColumn("_late", _late_filing(F.col("period"), F.col("filed_date"), due_days))
        fstats = f.groupBy("enterprise_key").agg(
            F.count(F.lit(1)).cast("int").alias("n_tax_filings"),
            F.sum(F.col("_late").cast("int")).cast("int").alias("n_late_filings"),
            F.max_by("period", F.concat(F.regexp_extract("period", r"(\d{4})", 1), F.col("period"))).alias("last_filing_period"),
            F.max_by("revenue", F.concat(F.regexp_extract("period", r"(\d{4})", 1), F.col("period"))).alias("revenue_last"))
    else:
        fstats = None
    e_attrs = {a: surv.get(a, ["enterprise_registration", "enterprise_tax"]) for a in
               ("tax_code", "enterprise_name", "sector", "province_code", "status", "founded_date", "dissolved_date",
                "employees", "capital", "owner_cccd")}
    dim_e = survive(erec, "enterprise_key", e_attrs,
                    [F.countDistinct("source").cast("int").alias("n_sources"),
                     F.count(F.lit(1)).cast("int").alias("n_records")])
    dim_e = dim_e.withColumn("status", F.when(F.col("dissolved_date").isNotNull(), F.lit("dissolved"))
                             .otherwise(F.coalesce(F.col("status"), F.lit("active"))))
    if fstats is not None:
        dim_e = dim_e.join(fstats, "enterprise_key", "left")
    # --- citizens
    t = time.perf_counter()
    cclusters, cstats = _resolve(citizens, PERSON_ID_COLS, R.resolve_people, settings.get("resolve_people"))
    cclusters = cclusters.persist()
    result.stats["citizens"] = cstats.as_dict()
    log(f"gold: citizens resolved: {cstats.records:,} records -> {cstats.clusters:,} clusters "
        f"in {time.perf_counter() - t:.1f} s ({cstats.pairs_scored:,} pairs scored, "
        f"{cstats.records_per_s:,.0f} records/s)")
    crec = citizens.join(cclusters, ["source", "record_key"])
    anchor = crec.groupBy("cluster_id").agg(F.min("cccd").alias("_cccd"))
    anchor_text = F.when(F.col("_cccd").isNotNull(), F.concat(F.lit("CCCD:"), F.col("_cccd"))) \
        .otherwise(F.concat(F.lit("REC:"), F.col("cluster_id")))
    ckeys = drop_keys(with_keys(anchor, ring).select("*", pseudonymise(anchor_text, "citizen", normaliser="text").alias("citizen_key"))) \
        .select("cluster_id", "citizen_key")
    crec = crec.join(ckeys, "cluster_id")
    xref_c = _write(spark, cfg, "xref_citizen", crec.select("source", "record_key", "citizen_key", "match_method",
                                                           "match_probability"), result)
    result.source_records = cstats.records + estats.records

    ckey = xref_c.select("source", "record_key", "citizen_key")
    tax_to_ekey = dim_e.select(F.col("tax_code").alias("_employer_tax"), "enterprise_key").where("_employer_tax IS NOT NULL")
    jobs_parts = []
    for fact, status_ok in (("income_tax_filings", None), ("insurance_participation", "Đang tham gia"),
                            ("civil_servant_posts", None)):
        fdf = _fact(spark, cfg, fact)
        if fdf is None:
            continue
        emp = F.col("employer_tax_code") if "employer_tax_code" in fdf.columns else F.lit(None).cast("string")
        insured = (F.col("participation_status") == status_ok) if status_ok else F.lit(False)
        jobs_parts.append(fdf.select("source", "record_key", emp.alias("_employer_tax"), insured.alias("_insured")))
    flags = None
    if jobs_parts:
        jobs = jobs_parts[0]
        for p in jobs_parts[1:]:
            jobs = jobs.unionByName(p)
        jobs = jobs.join(ckey, ["source", "record_key"]).join(F.broadcast(tax_to_ekey), "_employer_tax", "left")
        flags = jobs.groupBy("citizen_key").agg(F.lit(True).alias("is_employed"),
                                                F.max("_insured").alias("is_insured"),
                                                F.first("enterprise_key", ignorenulls=True).alias("employer_key"))
    c_attrs = {a: surv.get(a, ["population_registry", "id_card", "civil_status", "social_insurance"]) for a in
               ("full_name", "name_folded", "birth_date", "sex", "ethnicity", "province_code", "ward_code", "cccd",
                "phone", "death_date")}
    c_attrs["death_date"] = surv.get("death_date", ["civil_status", "population_registry"])
    srcs = F.collect_set("source")
    dim_c = survive(crec, "citizen_key", c_attrs,
                    [F.size(srcs).cast("int").alias("n_sources"), F.count(F.lit(1)).cast("int").alias("n_records"),
                     F.array_contains(srcs, "health_insurance").alias("has_health_card"),
                     F.array_contains(srcs, "social_welfare").alias("_welfare")])
    welfare = _fact(spark, cfg, "welfare_benefits")
    if welfare is not None:
        paid = welfare.where(F.col("benefit_status") == "Đang chi trả").join(ckey, ["source", "record_key"]) \
            .select("citizen_key").distinct().withColumn("receives_benefits", F.lit(True))
        dim_c = dim_c.join(paid, "citizen_key", "left")
    else:
        dim_c = dim_c.withColumn("receives_benefits", F.lit(False))
    if flags is not None:
        dim_c = dim_c.join(flags, "citizen_key", "left")
    dim_c = dim_c.withColumns({
        "status": F.when(F.col("death_date").isNotNull(), F.lit("deceased")).otherwise(F.lit("alive")),
        "status_source": F.col("death_date_source"),
        "birth_year": F.year("birth_date").cast("int"),
        "is_employed": F.coalesce(F.col("is_employed") if "is_employed" in dim_c.columns else F.lit(None), F.lit(False)),
        "is_insured": F.coalesce(F.col("is_insured") if "is_insured" in dim_c.columns else F.lit(None), F.lit(False)),
        "receives_benefits": F.coalesce(F.col("receives_benefits"), F.lit(False)),
        "employer_key": F.col("employer_key") if "employer_key" in dim_c.columns else F.lit(None).cast("string"),
        "name_source": F.col("full_name_source"),
        "province_source": F.col("province_code_source"),
        "_run_id": F.lit(result.run_id),
    })
    dim_c = protect_columns(dim_c, ring, pseudonymise={"cccd": "cccd", "phone": "phone",
                                                       "name_folded": ("name", "name_token")},
                            encrypt={"cccd": "cccd", "full_name": ("name", "name_enc")})
    from lakehouse.gold.schema import DIM_CITIZEN, DIM_ENTERPRISE
    dim_c = _conform(dim_c, DIM_CITIZEN)
    dim_c = _write(spark, cfg, "dim_citizen", dim_c, result)

    # owners: the owner's CCCD token against the citizens' tokens
    if "owner_cccd" in dim_e.columns:
        owners = protect_columns(dim_e.select("enterprise_key", "owner_cccd").where("owner_cccd IS NOT NULL"), ring,
                                 pseudonymise={"owner_cccd": ("cccd", "_owner_token")})
        owners = owners.join(dim_c.select(F.col("cccd_token").alias("_owner_token"), F.col("citizen_key")
                                          .alias("owner_citizen_key")), "_owner_token").drop("_owner_token") \
            .dropDuplicates(["enterprise_key"])
        dim_e = dim_e.drop("owner_cccd").join(owners, "enterprise_key", "left")
    dim_e = dim_e.withColumn("_run_id", F.lit(result.run_id))
    dim_e = _write(spark, cfg, "dim_enterprise", _conform(dim_e, DIM_ENTERPRISE), result)

    _aggregates(spark, cfg, dim_c, dim_e, result, settings)
    _insights(spark, cfg, dim_c, dim_e, ckey, xref_e, result)
    result.scorecard = scorecard(spark, cfg, result)
    cclusters.unpersist()
    eclusters.unpersist()
    result.seconds = time.perf_counter() - t0
    return result


def _conform(df: DataFrame, ddl: str) -> DataFrame:
    from pyspark.sql.types import _parse_datatype_string

    schema = _parse_datatype_string(ddl)
    return df.select(*[(F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                       for f in schema.fields])


def _age(birth: Column, as_of: str) -> Column:
    return F.floor(F.months_between(F.lit(as_of).cast("date"), birth) / 12).cast("int")


def _age_band(age: Column) -> Column:
    expr = F.lit(None).cast("string")
    for lo, hi, label in reversed(AGE_BANDS):
        expr = F.when(age.between(lo, hi), F.lit(label)).otherwise(expr)
    return expr


def _aggregates(spark, cfg, dim_c, dim_e, result, settings) -> None:
    as_of = str(settings.get("as_of", cfg.generate.snapshot_date))
    alive = dim_c.where("status = 'alive'")
    pop = alive.groupBy("province_code", _age_band(_age(F.col("birth_date"), as_of)).alias("age_band"), "sex") \
        .agg(F.count(F.lit(1)).alias("population"))
    _write(spark, cfg, "agg_population", pop, result)
    cov = alive.where("is_employed").groupBy("province_code").agg(
        F.count(F.lit(1)).alias("employed"), F.sum(F.col("is_insured").cast("long")).alias("insured")) \
        .withColumn("coverage", F.round(F.col("insured") / F.col("employed"), 4))
    _write(spark, cfg, "agg_insurance_coverage", cov, result)
    ent = dim_e.groupBy("sector", "province_code", "status").agg(F.count(F.lit(1)).alias("enterprises"))
    _write(spark, cfg, "agg_enterprises", ent, result)


def _insights(spark, cfg, dim_c, dim_e, ckey, xref_e, result) -> None:
    uninsured = dim_c.where("status = 'alive' AND is_employed AND NOT is_insured") \
        .select("citizen_key", "employer_key", "province_code")
    _write(spark, cfg, "insight_employed_uninsured", uninsured, result)
    dead = dim_c.where("status = 'deceased'").select("citizen_key", "death_date")
    parts = []
    welfare = _fact(spark, cfg, "welfare_benefits")
    if welfare is not None:
        parts.append(welfare.where(F.col("benefit_status") == "Đang chi trả")
                     .select("source", "record_key", F.lit("benefits_still_paid").alias("finding")))
    lic = _fact(spark, cfg, "driving_licences")
    if lic is not None:
        parts.append(lic.where(F.col("licence_status") == "Còn hiệu lực")
                     .select("source", "record_key", F.lit("licence_still_valid").alias("finding")))
    if parts:
        active = parts[0]
        for p in parts[1:]:
            active = active.unionByName(p)
        found = active.join(ckey, ["source", "record_key"]).join(dead, "citizen_key") \
            .select("citizen_key", "finding", "source", "death_date")
        _write(spark, cfg, "insight_deceased_active", found, result)
    if "n_tax_filings" in dim_e.columns:
        nofile = dim_e.where("status = 'active' AND employees > 0 AND coalesce(n_tax_filings, 0) = 0") \
            .select("enterprise_key", "employees", "sector", "province_code")
        _write(spark, cfg, "insight_firms_without_filings", nofile, result)
    assets = []
    for fact, kind in (("land_parcels", "land"), ("vehicles", "vehicle")):
        fdf = _fact(spark, cfg, fact)
        if fdf is not None:
            assets.append(fdf.select("source", "record_key", F.lit(kind).alias("asset")))
    if assets:
        a = assets[0]
        for p in assets[1:]:
            a = a.unionByName(p)
        owned = a.join(xref_e.select("source", "record_key", "enterprise_key"), ["source", "record_key"]) \
            .join(dim_e.where("status = 'dissolved'").select("enterprise_key", "dissolved_date"), "enterprise_key") \
            .select("enterprise_key", "asset", "source", "record_key", "dissolved_date")
        _write(spark, cfg, "insight_dissolved_owner_assets", owned, result)


def scorecard(spark: SparkSession, cfg: DictConfig, result: GoldResult) -> list[dict[str, Any]]:
    """Per source: each criterion's score = 100 x the average pass rate of its rules over the rows of
    the source's latest silver run per batch; overall = mean of the four; trend = change since the
    previous scorecard."""
    mpath = table_path(cfg, "ops", "silver_rule_metrics")
    if not io.delta_exists(spark, mpath):
        return []
    m = io.read_delta(spark, mpath)
    latest = Window.partitionBy("source", "batch")
    m = m.withColumn("_last", F.max("measured_at").over(latest)).where(F.col("measured_at") == F.col("_last"))
    per_rule = m.groupBy("source", "criterion", "rule_id").agg(F.sum("rows").alias("rows"),
                                                               F.sum("violations").alias("violations"))
    crit = per_rule.groupBy("source", "criterion").agg(
        F.round(100 * F.avg(F.when(F.col("rows") > 0, 1 - F.col("violations") / F.col("rows")).otherwise(1.0)), 2)
        .alias("score"), F.sort_array(F.collect_list("rule_id")).alias("rules"),
        F.max("rows").alias("rows"), F.sum("violations").alias("violations"))
    overall = crit.groupBy("source").agg(F.round(F.avg("score"), 2).alias("score"),
                                         F.flatten(F.collect_list("rules")).alias("rules"),
                                         F.max("rows").alias("rows"), F.sum("violations").alias("violations")) \
        .withColumn("criterion", F.lit("overall"))
    now = dt.datetime.now()
    card = crit.unionByName(overall).withColumns({"run_id": F.lit(result.run_id), "run_at": F.lit(now)})
    path = table_path(cfg, "gold", "dq_scorecard")
    if io.delta_exists(spark, path):
        prev = io.read_delta(spark, path)
        w = Window.partitionBy("source", "criterion").orderBy(F.col("run_at").desc())
        prev = prev.withColumn("_n", F.row_number().over(w)).where("_n = 1") \
            .select("source", "criterion", F.col("score").alias("previous_score"))
        card = card.join(prev, ["source", "criterion"], "left")
    else:
        card = card.withColumn("previous_score", F.lit(None).cast("double"))
    card = card.withColumn("trend", F.round(F.col("score") - F.col("previous_score"), 2))
    from lakehouse.gold.schema import DQ_SCORECARD
    io.append_delta(_conform(card, DQ_SCORECARD), path)
    rows = [r.asDict() for r in card.select("source", "criterion", "score", "trend").collect()]
    result.tables["dq_scorecard"] = len(rows)
    return rows


def scorecard_table(rows: list[dict[str, Any]]) -> str:
    by: dict[str, dict[str, Any]] = {}
    for r in rows:
        by.setdefault(r["source"], {})[r["criterion"]] = r
    crits = ("dung", "du", "sach", "song", "overall")
    lines = ["quality scorecard (0-100)  " + "".join(f"{c:>9}" for c in ("đúng", "đủ", "sạch", "sống", "overall"))
             + "    trend"]
    for src in sorted(by):
        cells = "".join(f"{by[src].get(c, {}).get('score', float('nan')):>9.1f}" for c in crits)
        trend = by[src].get("overall", {}).get("trend")
        lines.append(f"  {src:<25}{cells}  {('%+.1f' % trend) if trend is not None else '   new'}")
    return "\n".join(lines)
