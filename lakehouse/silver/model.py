"""Bronze rows -> canonical silver records: declarative field mapping, standardisation, in-batch
deduplication and quality rules. Pure DataFrame transforms; storage lives in :mod:`lakehouse.io`.

A source declares in ``conf/sources/<name>.yaml``::

    silver:
      table: citizen | enterprise      # the canonical entity table its records feed
      fact: insurance_participation    # optional fact table for its other fields
      one_record_per_entity: true      # a second record with the same CCCD/tax code is suspect
      fields: {full_name: name, birth_date: date, sex: {std: sex, codes: {"1": M, "0": F}}, ...}
      address: {text: address} | {street: .., ward: .., district: .., province: ..}
      organisation: {when: "<SQL>", name: full_name, tax_code: owner_tax_code}  # rows owned by firms
      rule_actions: {rule_id: warn|drop|fail}

Field keys are the canonical names of the source's ``columns:`` mapping; the bronze column is
found through the same safe name bronze gave it. Canonical fields of the entity table (below) go
to the entity table, every other field to the fact table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.bronze.transforms import safe_name
from lakehouse.config import ConfigError, SourceSpec
from lakehouse.silver import standardise as S

ACTIONS = ("warn", "drop", "fail")
CRITERIA = ("dung", "du", "sach", "song")
TABLES = ("citizen", "enterprise")

#: Canonical columns of silver/citizen_records (after source, record_key).
PERSON_COLUMNS: dict[str, str] = {
    "full_name": "string", "name_folded": "string", "name_no_diacritics": "boolean",
    "birth_date": "date", "birth_date_precision": "string", "birth_date_flag": "string",
    "sex": "string", "cccd": "string", "cccd_reason": "string", "cmnd": "string",
    "phone": "string", "phone_carrier": "string", "ethnicity": "string",
    "address_text": "string", "province_code": "string", "ward_code": "string",
    "ward_candidates": "array<string>", "address_flag": "string",
    "death_date": "date", "bhxh_number": "string", "personal_tax_code": "string",
}
#: Canonical columns of silver/enterprise_records (after source, record_key).
ENTERPRISE_COLUMNS: dict[str, str] = {
    "tax_code": "string", "tax_code_branch": "string", "tax_code_reason": "string",
    "enterprise_name": "string", "name_folded": "string", "sector": "string", "founded_date": "date",
    "status": "string", "dissolved_date": "date", "employees": "int", "capital": "double",
    "owner_name": "string", "owner_name_folded": "string", "owner_cccd": "string", "owner_birth_date": "date",
    "phone": "string", "address_text": "string", "province_code": "string", "ward_code": "string",
    "address_flag": "string",
}
ENTITY_COLUMNS = {"citizen": PERSON_COLUMNS, "enterprise": ENTERPRISE_COLUMNS}
#: Record-level columns every silver table carries.
RECORD_COLUMNS: dict[str, str] = {
    "op": "string", "updated_at": "timestamp", "dq_flags": "array<string>",
    "_source_batch": "int", "_source_file": "string", "_source_position": "long",
    "_record_hash": "string", "_run_id": "string",
}
HISTORY_COLUMNS: dict[str, str] = {
    "valid_from": "timestamp", "valid_to": "timestamp", "is_current": "boolean",
    "is_deleted": "boolean", "delete_reason": "string",
}

LIFE_STATUS = {"CON SONG": "alive", "DA MAT": "deceased", "DA CHET": "deceased", "SONG": "alive"}
ENTERPRISE_STATUS = {"DANG HOAT DONG": "active", "HOAT DONG": "active", "TAM NGUNG KINH DOANH": "suspended",
                     "TAM NGUNG": "suspended", "DA GIAI THE": "dissolved", "GIAI THE": "dissolved",
                     "NGUNG HOAT DONG": "dissolved"}
OP_CODES = {"I": "I", "INSERT": "I", "U": "U", "UPDATE": "U", "D": "D", "DELETE": "D"}


# ----------------------------------------------------------------------------- declarations

@dataclass(frozen=True)
class FieldSpec:
    name: str                      # canonical input field (key of the source's `columns:`)
    std: str                       # standardiser name (see STANDARDISERS)
    output: str                    # base name of the output column(s)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SilverSpec:
    source: str
    table: str
    fact: str | None
    fields: tuple[FieldSpec, ...]
    address: Mapping[str, str]
    organisation: Mapping[str, str] | None
    one_record_per_entity: bool
    rule_actions: Mapping[str, str]

    def entity_outputs(self) -> set[str]:
        return set(ENTITY_COLUMNS[self.table])


@dataclass(frozen=True)
class Rule:
    id: str
    criterion: str
    applies_to: str
    action: str
    when: str
    reason: str


def silver_spec(spec: SourceSpec) -> SilverSpec:
    """Validate a source's ``silver:`` block; errors name the YAML file and the key."""
    where = f"conf/sources/{spec.name}.yaml: silver"
    node = spec.raw.get("silver")
    if not node:
        raise ConfigError(f"{where}: block is missing (table, fields)")
    table = node.get("table", "citizen" if spec.entity == "person" else "enterprise")
    if table not in TABLES:
        raise ConfigError(f"{where}.table '{table}' is not one of {TABLES}")
    fields = []
    for name, decl in (node.get("fields") or {}).items():
        decl = {"std": decl} if isinstance(decl, str) else dict(decl)
        std = decl.pop("std", None)
        if std not in STANDARDISERS:
            raise ConfigError(f"{where}.fields.{name}: standardiser '{std}' is unknown; "
                              f"known: {sorted(STANDARDISERS)}")
        if name not in spec.columns:
            raise ConfigError(f"{where}.fields.{name}: not a canonical field of this source's columns: "
                              f"{sorted(spec.columns)}")
        fields.append(FieldSpec(name, std, str(decl.pop("as", name)), decl))
    address = dict(node.get("address") or {})
    for part, name in address.items():
        if part not in ("text", "street", "ward", "district", "province"):
            raise ConfigError(f"{where}.address.{part}: expected text, street, ward, district or province")
        if name not in spec.columns:
            raise ConfigError(f"{where}.address.{part}: '{name}' is not a canonical field of this source")
    actions = dict(node.get("rule_actions") or {})
    for rid, action in actions.items():
        if action not in ACTIONS:
            raise ConfigError(f"{where}.rule_actions.{rid}: action '{action}' is not one of {ACTIONS}")
    org = node.get("organisation")
    return SilverSpec(spec.name, table, node.get("fact"), tuple(fields), address, dict(org) if org else None,
                      bool(node.get("one_record_per_entity", False)), actions)


def load_rules(nodes: Iterable[Mapping[str, Any]]) -> list[Rule]:
    rules, seen = [], set()
    for i, n in enumerate(nodes):
        n = dict(n)
        missing = [k for k in ("id", "criterion", "action", "when", "reason") if not n.get(k)]
        if missing:
            raise ConfigError(f"conf/config.yaml: silver.rules[{i}] lacks {missing}")
        if n["id"] in seen:
            raise ConfigError(f"conf/config.yaml: silver.rules: duplicate id '{n['id']}'")
        seen.add(n["id"])
        if n["action"] not in ACTIONS or n["criterion"] not in CRITERIA:
            raise ConfigError(f"conf/config.yaml: silver.rules '{n['id']}': action must be one of {ACTIONS} "
                              f"and criterion one of {CRITERIA}")
        applies = n.get("applies_to", "any")
        if applies not in (*TABLES, "any"):
            raise ConfigError(f"conf/config.yaml: silver.rules '{n['id']}': applies_to '{applies}' is not "
                              f"citizen, enterprise or any")
        rules.append(Rule(n["id"], n["criterion"], applies, n["action"], str(n["when"]), str(n["reason"])))
    return rules


# ----------------------------------------------------------------------------- standardisers

def _text(c: Column) -> Column:
    s = F.regexp_replace(S.nfc(S.repair_mojibake(c.cast("string"))), r"\s+", " ")
    s = F.trim(s)
    return F.when(F.length(s) > 0, s)


def _number(c: Column, dtype: str) -> Column:
    s = F.regexp_replace(F.trim(c.cast("string")), r"[,\s_]", "")
    return s.try_cast(dtype)


def _category(table: Mapping[str, str]) -> Callable[[Column], Column]:
    m = F.create_map(*[x for k, v in table.items() for x in (F.lit(k), F.lit(v))])

    def build(c: Column) -> Column:
        key = S.fold(_text(c))
        return F.when(key.isNotNull(), F.coalesce(F.try_element_at(m, key), F.lit("unknown")))
    return build


# A standardiser is (core, outputs): ``core(field, raw)`` computes one column (often a struct) that
# is materialised once; ``outputs(field, core_col, raw)`` names the silver columns read from it.
Core = Callable[["FieldSpec", Column], Column]
Outputs = Callable[["FieldSpec", Column, Column], dict[str, Column]]


def _single(fn: Callable[["FieldSpec", Column], Column]) -> tuple[Core, Outputs]:
    return fn, lambda f, v, raw: {f.output: v}


def _name_outputs(f: FieldSpec, s: Column, raw: Column) -> dict[str, Column]:
    folded = "name_folded" if f.output == "full_name" else f"{f.output}_folded"
    out = {f.output: s["name"], folded: s["name_folded"]}
    if f.output == "full_name":
        out["name_no_diacritics"] = s["no_diacritics"]
    return out


def _org_outputs(f: FieldSpec, t: Column, raw: Column) -> dict[str, Column]:
    folded = "name_folded" if f.output == "enterprise_name" else f"{f.output}_folded"
    return {f.output: t, folded: S.fold(t)}


def _date_outputs(f: FieldSpec, d: Column, raw: Column) -> dict[str, Column]:
    return {f.output: d["date"], f"{f.output}_precision": d["precision"], f"{f.output}_flag": d["flag"]}


def _tax_outputs(f: FieldSpec, t: Column, raw: Column) -> dict[str, Column]:
    valid = t["valid"]
    return {f.output: F.when(valid, F.substring_index(t["tax_code"], "-", 1)),
            f"{f.output}_branch": F.when(valid & (t["kind"] == "branch13"), F.substring_index(t["tax_code"], "-", -1)),
            f"{f.output}_kind": t["kind"], f"{f.output}_reason": t["reason"]}


def _phone_outputs(f: FieldSpec, p: Column, raw: Column) -> dict[str, Column]:
    return {f.output: p["phone"], f"{f.output}_carrier": p["carrier"], f"{f.output}_input": _text(raw)}


def _sex_outputs(f: FieldSpec, v: Column, raw: Column) -> dict[str, Column]:
    return {f.output: v, f"{f.output}_input": _text(raw)}


STANDARDISERS: dict[str, tuple[Core, Outputs] | None] = {
    "name": (lambda f, c: S.standardise_name(c), _name_outputs),
    "org_name": (lambda f, c: _text(c), _org_outputs),
    "date": (lambda f, c: S.parse_date(c), _date_outputs),
    "cccd": None,                   # second pass: needs the record's birth date and sex
    "cmnd": _single(lambda f, c: S.standardise_cmnd(c)["cmnd"]),
    "tax_code": (lambda f, c: S.standardise_tax_code(c), _tax_outputs),
    "insurance_number": _single(lambda f, c: S.standardise_insurance_number(c)["bhxh"]),
    "phone": (lambda f, c: S.standardise_phone(c), _phone_outputs),
    "sex": (lambda f, c: S.standardise_sex(c, dict(f.options.get("codes") or {}) or None), _sex_outputs),
    "ethnicity": _single(lambda f, c: S.standardise_ethnicity(c)),
    "text": _single(lambda f, c: _text(c)),
    "code": _single(lambda f, c: F.upper(_text(c))),
    "int": _single(lambda f, c: _number(c, "int")),
    "long": _single(lambda f, c: _number(c, "long")),
    "double": _single(lambda f, c: _number(c, "double")),
    "life_status": _single(lambda f, c: _category(LIFE_STATUS)(c)),
    "enterprise_status": _single(lambda f, c: _category(ENTERPRISE_STATUS)(c)),
}


def bronze_column(spec: SourceSpec, canonical: str) -> str:
    """The bronze column holding a canonical field (bronze keeps source names, made safe)."""
    return safe_name(spec.columns[canonical])


def _raw(df: DataFrame, spec: SourceSpec, canonical: str) -> Column:
    name = bronze_column(spec, canonical)
    return F.col(f"`{name}`") if name in df.columns else F.lit(None).cast("string")


# ----------------------------------------------------------------------------- standardise

def standardise_records(bronze: DataFrame, spec: SourceSpec, silver: SilverSpec, run_id: str) -> DataFrame:
    """One row per bronze row: record columns, every declared field standardised, the address
    resolved to the new administrative units and ``_table`` (citizen / enterprise) per row."""
    op_codes = F.create_map(*[x for k, v in OP_CODES.items() for x in (F.lit(k), F.lit(v))])
    op = F.coalesce(F.try_element_at(op_codes, F.upper(F.trim(F.col(f"`{safe_name(spec.op)}`")))), F.lit("U"))
    updated = F.col(f"`{safe_name(spec.updated_at)}`")
    updated_ts = F.coalesce(F.try_to_timestamp(updated), F.try_to_timestamp(updated, F.lit("dd/MM/yyyy HH:mm:ss")),
                            F.to_timestamp(S.parse_date(updated)["date"]), F.col("_ingested_at"))
    base = {
        "source": F.lit(spec.name),
        "record_key": _text(F.col(f"`{bronze_column(spec, 'record_key')}`")) if "record_key" in spec.columns
        else _text(F.col(f"`{safe_name(spec.key)}`")),
        "op": op,
        "updated_at": updated_ts,
        "_source_batch": F.col("_source_batch").cast("int"),
        "_source_file": F.col("_source_file"),
        "_source_position": F.col("_source_position").cast("long"),
        "_record_hash": F.col("_record_hash"),
        "_run_id": F.lit(run_id),
    }
    raw_names = {f.name for f in silver.fields} | set(silver.address.values())
    raws = {f"_raw_{n}": _raw(bronze, spec, n) for n in sorted(raw_names)}
    df = bronze.select(*[c.alias(k) for k, c in base.items()], *[c.alias(k) for k, c in raws.items()])

    # Each standardiser's core runs once into its own column; outputs are read from it in the next
    # projection, so a multi-output standardiser is never copied into the plan once per output.
    steps = [(f, STANDARDISERS[f.std]) for f in silver.fields if STANDARDISERS[f.std] is not None]
    df = df.select("*", *[core(f, F.col(f"_raw_{f.name}")).alias(f"_std_{f.output}") for f, (core, _) in steps])
    outs = [c.alias(n) for f, (_, outputs) in steps
            for n, c in outputs(f, F.col(f"_std_{f.output}"), F.col(f"_raw_{f.name}")).items()]
    df = df.select(*[c for c in df.columns if not c.startswith("_std_")], *outs)

    second: dict[str, Column] = {}
    for f in silver.fields:
        if f.std != "cccd":
            continue
        birth = "birth_date" if f.output == "cccd" else f"{f.output.replace('_cccd', '')}_birth_date"
        birth_col = F.col(birth) if birth in df.columns else None
        fem = (F.col("sex") == "F") if (f.output == "cccd" and "sex" in df.columns) else None
        c = S.standardise_cccd(F.col(f"_raw_{f.name}"), birth_col, fem)
        structural = c["reason"].isNull() | c["reason"].isin("birth_year_mismatch", "sex_mismatch")
        second[f.output] = F.when(structural, c["cccd"])
        second[f"{f.output}_reason"] = c["reason"]
        if f.output == "cccd":
            # A 9-digit number in the CCCD column is an old CMND (docs/domain.md#old-identity-card-cmnd).
            second["_cmnd_in_cccd"] = F.when(c["reason"] == "cmnd", S.standardise_cmnd(F.col(f"_raw_{f.name}"))["cmnd"])
    df = df.select("*", *[c.alias(k) for k, c in second.items()])
    if "_cmnd_in_cccd" in df.columns:
        cmnd = F.coalesce(F.col("cmnd"), F.col("_cmnd_in_cccd")) if "cmnd" in df.columns else F.col("_cmnd_in_cccd")
        df = df.withColumn("cmnd", cmnd).drop("_cmnd_in_cccd")

    keep_raw = {f"_raw_{n}" for n in silver.address.values()}
    if silver.organisation:
        keep_raw.add(f"_raw_{silver.organisation['name']}")
    return df.drop(*[c for c in df.columns if c.startswith("_raw_") and c not in keep_raw])


def resolve_records(std: DataFrame, silver: SilverSpec) -> DataFrame:
    """Second stage on the materialised standardised rows: the address resolved to the new units
    and ``_table`` per row (the raw address columns are dropped)."""
    df = _with_table(_with_address(std, silver), silver)
    return df.drop(*[c for c in df.columns if c.startswith("_raw_")])


def _with_address(df: DataFrame, silver: SilverSpec) -> DataFrame:
    a = silver.address
    if not a:
        return df
    cols = {part: f"_raw_{name}" for part, name in a.items()}
    out = S.standardise_address(df, address=cols.get("text"), ward=cols.get("ward"), district=cols.get("district"),
                                province=cols.get("province"), prefix="_addr_")
    text_parts = [F.col(cols[p]) for p in ("text", "street", "ward", "district", "province") if p in cols
                  and not (p == "province" and "text" in cols)]
    text = S.expand_address_abbreviations(F.concat_ws(", ", *text_parts)) if len(text_parts) > 1 \
        else S.expand_address_abbreviations(text_parts[0])
    out = out.withColumns({
        "address_text": F.when(F.length(text) > 0, text),
        "province_code": F.col("_addr_new_province_code"),
        "ward_code": F.col("_addr_new_ward_code"),
        "ward_candidates": F.col("_addr_new_ward_codes"),
        "address_flag": F.col("_addr_flag"),
    })
    return out.drop(*[c for c in out.columns if c.startswith("_addr_")])


def _with_table(df: DataFrame, silver: SilverSpec) -> DataFrame:
    """``_table`` per row; rows of a person source owned by an organisation become enterprise rows."""
    org = silver.organisation
    if not org:
        return df.withColumn("_table", F.lit(silver.table))
    df = with_condition_columns(df, org["when"], f"conf/sources/{silver.source}.yaml: silver.organisation.when",
                                set())
    cond = F.coalesce(F.expr(org["when"]), F.lit(False))
    name_raw = F.col(f"_raw_{org['name']}")
    return df.withColumns({
        "_table": F.when(cond, F.lit("enterprise")).otherwise(F.lit(silver.table)),
        "enterprise_name": F.when(cond, _text(name_raw)),
        "tax_code": F.when(cond, F.col(org["tax_code"])),
        "tax_code_reason": F.when(cond, F.col(f"{org['tax_code']}_reason")),
        "_org_name_folded": F.when(cond, S.fold(_text(name_raw))),
    })


# ----------------------------------------------------------------------------- deduplication

def with_duplicates(df: DataFrame, silver: SilverSpec) -> DataFrame:
    """In-batch duplicates: ``_duplicate_of`` (position of the kept identical row with the same key),
    ``_superseded_by`` (position of the later row with the same key that wins) and
    ``_same_identity`` (records of this source sharing the row's CCCD or tax code, when the source
    should hold one record per entity)."""
    order = [F.col("_source_file"), F.col("_source_position")]
    same = Window.partitionBy("record_key", "_record_hash").orderBy(*order)
    df = df.withColumn("_dup_rank", F.row_number().over(same)) \
        .withColumn("_duplicate_of", F.when(F.col("_dup_rank") > 1, F.first("_source_position").over(same)))
    latest = Window.partitionBy("record_key", (F.col("_dup_rank") == 1).alias("_k")) \
        .orderBy(F.col("updated_at").desc_nulls_last(), F.col("_source_file").desc(), F.col("_source_position").desc())
    df = df.withColumn("_superseded_by", F.when((F.col("_dup_rank") == 1) & F.col("record_key").isNotNull()
                                                & (F.row_number().over(latest) > 1),
                                                F.first("_source_position").over(latest))).drop("_dup_rank")
    ident = "cccd" if silver.table == "citizen" else "tax_code"
    if silver.one_record_per_entity and ident in df.columns:
        w = Window.partitionBy(ident)
        live = F.when((F.col("op") != "D") & F.col("_duplicate_of").isNull() & F.col("_superseded_by").isNull(),
                      F.col("record_key"))
        df = df.withColumn("_same_identity", F.when(F.col(ident).isNotNull(), F.size(F.collect_set(live).over(w)))
                           .otherwise(F.lit(0)))
    else:
        df = df.withColumn("_same_identity", F.lit(0))
    return df


# ----------------------------------------------------------------------------- rules

def known_rule_columns(specs: Iterable[SilverSpec]) -> set[str]:
    """Columns a rule may name even where a source lacks them (they read as NULL there)."""
    cols = set(PERSON_COLUMNS) | set(ENTERPRISE_COLUMNS) | set(RECORD_COLUMNS)
    for s in specs:
        for f in s.fields:
            cols |= {f.output, f"{f.output}_precision", f"{f.output}_flag", f"{f.output}_reason",
                     f"{f.output}_input", f"{f.output}_carrier", f"{f.output}_kind", f"{f.output}_branch",
                     f"{f.output}_folded"}
    return cols


_SQL_WORDS = {"AND", "OR", "NOT", "IS", "NULL", "IN", "TRUE", "FALSE", "LIKE", "RLIKE", "BETWEEN", "CASE", "WHEN",
              "THEN", "ELSE", "END", "CAST", "AS", "STRING", "INT", "BIGINT", "DATE", "TIMESTAMP", "DOUBLE",
              "BOOLEAN", "INTERVAL", "DAY", "DAYS", "YEAR", "YEARS", "MONTH", "MONTHS", "DISTINCT", "ESCAPE"}


def referenced_names(sql: str) -> set[str]:
    """Bare identifiers a SQL condition names (not literals, not function names, not keywords)."""
    text = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", sql)
    names = set()
    for m in re.finditer(r"(?<![\w.`])([A-Za-z_][A-Za-z0-9_]*)(?![\w`])(\s*\()?", text):
        if m.group(2) or m.group(1).upper() in _SQL_WORDS or re.match(r"\d", m.group(1)):
            continue
        names.add(m.group(1))
    return names


def with_condition_columns(df: DataFrame, sql: str, where: str, nullable: set[str]) -> DataFrame:
    """``df`` plus NULL columns for those a SQL condition names that this source lacks but
    ``nullable`` allows. An unknown name is a config error naming ``where``."""
    missing = sorted(n for n in referenced_names(sql) if n not in df.columns)
    unknown = [n for n in missing if n not in nullable]
    if unknown:
        raise ConfigError(f"{where}: `{sql}` names unknown column(s) {unknown}")
    return df.withColumns({n: F.lit(None).cast("string") for n in missing}) if missing else df


def with_rules(df: DataFrame, rules: list[Rule], silver: SilverSpec, nullable: set[str]) -> DataFrame:
    """Adds ``_violations`` (array<struct<rule_id, criterion, action, reason>>) and ``dq_flags``
    (ids of the warn rules that fired). Rules never fire on delete rows."""
    entries = []
    for r in rules:
        df = with_condition_columns(df, r.when, f"conf/config.yaml: silver.rules '{r.id}'", nullable)
    for r in rules:
        action = silver.rule_actions.get(r.id, r.action)
        cond = F.expr(r.when)
        scope = F.lit(True) if r.applies_to == "any" else (F.col("_table") == r.applies_to)
        fired = scope & (F.col("op") != "D") & F.coalesce(cond, F.lit(False))
        entries.append(F.when(fired, F.struct(F.lit(r.id).alias("rule_id"), F.lit(r.criterion).alias("criterion"),
                                              F.lit(action).alias("action"), F.lit(r.reason).alias("reason"))))
    violations = F.filter(F.array(*entries), lambda v: v.isNotNull()) if entries else \
        F.array().cast("array<struct<rule_id:string,criterion:string,action:string,reason:string>>")
    df = df.withColumn("_violations", violations)
    return df.withColumns({
        "dq_flags": F.transform(F.filter("_violations", lambda v: v["action"] == "warn"), lambda v: v["rule_id"]),
        "_drop": F.exists("_violations", lambda v: v["action"] == "drop"),
        "_fail": F.exists("_violations", lambda v: v["action"] == "fail"),
    })


def rule_metrics(rules: list[Rule]) -> list[Column]:
    """Aggregates for ``DataFrame.observe``: rows, dropped, failed and one count per rule."""
    aggs = [F.count(F.lit(1)).alias("rows"), F.sum(F.col("_drop").cast("long")).alias("dropped"),
            F.sum(F.col("_fail").cast("long")).alias("failed")]
    for i, r in enumerate(rules):
        aggs.append(F.sum(F.array_contains(F.col("_violations.rule_id"), r.id).cast("long")).alias(f"r{i}"))
    return aggs


# ----------------------------------------------------------------------------- outputs

def _typed(df: DataFrame, name: str, dtype: str) -> Column:
    return (F.col(name) if name in df.columns else F.lit(None)).cast(dtype).alias(name)


def entity_rows(staged: DataFrame, table: str) -> DataFrame:
    """Accepted rows for one entity table, with the canonical columns (NULL where the source lacks
    them) and the record columns."""
    cols = ENTITY_COLUMNS[table]
    df = staged.where(~F.col("_drop") & (F.col("_table") == table))
    if table == "enterprise" and "_org_name_folded" in staged.columns:
        df = df.withColumn("name_folded", F.coalesce(F.col("_org_name_folded"), F.col("name_folded")))
    return df.select("source", "record_key", *[_typed(df, c, t) for c, t in cols.items()],
                     *[_typed(df, c, t) for c, t in RECORD_COLUMNS.items()])


def fact_rows(staged: DataFrame, silver: SilverSpec) -> DataFrame | None:
    """Accepted rows of the source's fact table: the declared fields that are not entity columns."""
    if not silver.fact:
        return None
    entity = set(PERSON_COLUMNS) | set(ENTERPRISE_COLUMNS)
    names = [f.output for f in silver.fields if f.output not in entity]
    df = staged.where(~F.col("_drop"))
    return df.select("source", "record_key", *names, *[_typed(df, c, t) for c, t in RECORD_COLUMNS.items()])


def quarantine_rows(staged: DataFrame) -> DataFrame:
    """Dropped rows, one per row, with the first drop rule, every rule that fired and the row."""
    df = staged.where(F.col("_drop"))
    drops = F.filter("_violations", lambda v: v["action"] == "drop")
    keep = [c for c in df.columns if not c.startswith("_") or c in ("_source_file", "_source_position")]
    return df.select(
        "source", "record_key", "_source_batch", "_source_file", "_source_position",
        drops[0]["rule_id"].alias("rule_id"), drops[0]["criterion"].alias("criterion"),
        drops[0]["reason"].alias("reason"),
        F.transform("_violations", lambda v: v["rule_id"]).alias("rules"),
        F.to_json(F.struct(*[F.col(c) for c in keep if c not in ("_source_file", "_source_position")])).alias("record"),
        "_record_hash", "_run_id")


QUARANTINE_SCHEMA = ("source STRING, record_key STRING, _source_batch INT, _source_file STRING, _source_position LONG, "
                     "rule_id STRING, criterion STRING, reason STRING, rules ARRAY<STRING>, record STRING, "
                     "_record_hash STRING, _run_id STRING")
