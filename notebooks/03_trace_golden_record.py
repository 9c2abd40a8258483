# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Trace one golden record back to its source records
#
# A golden citizen (`gold/dim_citizen`) is built from records of several source systems. This
# notebook follows one back:
# 1. the golden record, and which source won each attribute (survivorship, `<attr>_source`);
# 2. the cross-reference (`gold/xref_citizen`): every source record linked to it, and how
#    (exact CCCD match, probabilistic Fellegi-Sunter match with its probability, singleton);
# 3. those records in silver (`silver/citizen_records`, standardised, with their history) and the
#    quality rules that warned on them (`dq_flags`, explained from `silver.rules`);
# 4. records of the same source keys that were quarantined (`silver/_quarantine`) and why;
# 5. where each record came from (landing file and position).
#
# It reads **only through `lakehouse.security.access.read_table`** under a role allowed to see
# personal data (`models.notebooks.trace_role`, default `steward`, as principal
# `models.notebooks.trace_principal`): names come back decrypted, and every read is written to the
# audit log (shown at the end). Executed copies of this notebook therefore hold personal data: the
# runner writes them under `<paths.ops>/notebooks/`, inside the data root, never into git.

# %%
import pandas as pd
from pyspark.sql import functions as F

from lakehouse.config import compose
from lakehouse.models.notebooks import overrides_from_env
from lakehouse.security.access import read_table
from lakehouse.security.audit import read_audit
from lakehouse.session import build_spark

cfg = compose(overrides_from_env())
spark = build_spark(cfg.spark, str(cfg.spark_master))
ROLE = str(cfg.models.notebooks.trace_role)
PRINCIPAL = str(cfg.models.notebooks.trace_principal)
pd.set_option("display.max_columns", 40, "display.width", 200)


def read(table: str):
    """A table as ROLE may see it (denied tables raise AccessDenied; the read is audited)."""
    return read_table(spark, cfg, table, role=ROLE, principal=PRINCIPAL)


def pick(df, *names):
    """The named columns that the table has (tables evolve; the trace should not break)."""
    return df.select(*[n for n in names if n in df.columns])


print(f"reading as role '{ROLE}', principal '{PRINCIPAL}', data root {cfg.paths.root}")

# %% [markdown]
# ## 1. The golden record
# The record traced is `models.notebooks.trace_citizen_key` (env `TRACE_CITIZEN_KEY`) or else the
# golden record built from the most source records.

# %%
golden = read("gold/dim_citizen")
key = cfg.models.notebooks.get("trace_citizen_key")
if not key:
    key = (golden.where(F.col("n_sources") >= 2).orderBy(F.desc("n_records"), F.desc("n_sources"), "citizen_key")
           .select("citizen_key").first() or golden.orderBy("citizen_key").select("citizen_key").first())[0]
record = golden.where(F.col("citizen_key") == key).toPandas()
print("citizen_key:", key)
record.T.rename(columns={0: "golden value"})

# %%
attributes = {"name": "name", "birth_date": "birth_date", "sex": "sex", "province": "province_code",
              "status": "status"}
survivorship = pd.DataFrame([
    {"attribute": attr, "golden value": record.iloc[0].get(column), "taken from": record.iloc[0].get(f"{attr}_source")}
    for attr, column in attributes.items() if f"{attr}_source" in record.columns])
survivorship

# %% [markdown]
# ## 2. The cross-reference: every source record of this person

# %%
xref = read("gold/xref_citizen").where(F.col("citizen_key") == key)
xref_pd = xref.orderBy("source", "record_key").toPandas()
xref_pd

# %% [markdown]
# ## 3. The records in silver, side by side, with their history
# `is_current` = the live version; older versions (SCD type 2) show how the source changed.

# %%
links = xref.select("source", "record_key", "match_method", "match_probability")
silver = read("silver/citizen_records").join(links, ["source", "record_key"])
records = pick(silver, "source", "record_key", "match_method", "match_probability", "is_current", "valid_from",
               "valid_to", "op", "full_name", "birth_date", "birth_date_precision", "sex", "cccd", "cmnd", "phone",
               "province_code", "ward_code", "address_text", "death_date", "dq_flags")
records_pd = records.orderBy("source", "record_key", "valid_from").toPandas()
records_pd

# %% [markdown]
# How each attribute of the golden record compares with what each source said (current versions):

# %%
current = records_pd[records_pd["is_current"].fillna(True).astype(bool)] if "is_current" in records_pd else records_pd
compare = {"full_name": "name", "birth_date": "birth_date", "sex": "sex", "province_code": "province_code"}
rows = []
for _, r in current.iterrows():
    rows.append({"source": r["source"], "record_key": r["record_key"],
                 **{attr: r.get(col) for col, attr in compare.items() if col in current.columns}})
golden_row = {"source": "GOLDEN", "record_key": key,
              **{attr: record.iloc[0].get(attr) for attr in compare.values() if attr in record.columns}}
pd.DataFrame([golden_row, *rows])

# %% [markdown]
# ## Quality rules that warned on these records
# `dq_flags` holds the ids of the `warn` rules each record broke; their meaning comes from the
# configuration (`silver.rules`), the same the silver job applied.

# %%
rules = pd.DataFrame([{k: r.get(k) for k in ("id", "criterion", "action", "reason")} for r in cfg.silver.rules])
flags = (records_pd[["source", "record_key", "valid_from", "dq_flags"]].explode("dq_flags").dropna(subset=["dq_flags"])
         if "dq_flags" in records_pd else pd.DataFrame(columns=["source", "record_key", "dq_flags"]))
flags.merge(rules, left_on="dq_flags", right_on="id", how="left").drop(columns="id")

# %% [markdown]
# ## 4. Quarantined records with the same source keys
# Rows that a `drop` rule rejected (an exact duplicate, a key conflict, a future birth date...): they
# never reached silver, but they are kept with the rule and the reason.

# %%
quarantine = read("silver/_quarantine").join(links.select("source", "record_key"), ["source", "record_key"])
pick(quarantine, "source", "record_key", "rule_id", "criterion", "reason", "rules", "_source_file",
     "_source_position", "_source_batch").orderBy("source", "record_key").toPandas()

# %% [markdown]
# ## 5. Lineage: where each record came from
# Landing file and position (line, XML record, Parquet row or database key), batch and row hash.

# %%
pick(silver, "source", "record_key", "valid_from", "_source_file", "_source_position", "_source_batch",
     "_record_hash", "_run_id").orderBy("source", "record_key", "valid_from").toPandas()

# %% [markdown]
# ## The audit trail of this notebook's reads
# Privileged reads (steward, decryption) are recorded in `ops/audit_log`: who, which role, which
# table at which Delta version.

# %%
audit = pd.DataFrame(read_audit(spark, cfg))
if not audit.empty:
    audit = audit[audit["principal"] == PRINCIPAL].sort_values("at")
audit.tail(10)
