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
# # 1. The gold layer and its quality scorecard
#
# What the consolidated records look like: resolved citizens and enterprises, the social-insurance
# coverage of employed people, firm dissolution, and the data-quality scorecard
# (**đúng / đủ / sạch / sống**: correct, complete, clean, live) per source.
#
# Everything comes from the library and the Hydra config: gold tables are read with Dask through
# the Delta log (`lakehouse.models.data.read_gold`), held to the `data_scientist` access policy
# (`models.read_role`): named columns only, no ciphertext or name tokens, birth year rather than
# birth date; a denied column raises `AccessDenied`.
# Run headless: `python -m lakehouse.models.notebooks 01 --root <data root>`.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lakehouse.config import compose, table_path
from lakehouse.models.data import delta_history, read_gold
from lakehouse.models.notebooks import overrides_from_env

cfg = compose(overrides_from_env())
print("gold layer:", cfg.paths.gold)

# %% [markdown]
# ## Versions available for time travel
# Each gold table is a Delta table; every commit is a version a model can be trained on again
# (`models.gold_versions.<table>=<v>`).

# %%
for table in ("dim_citizen", "dim_enterprise", "dq_scorecard"):
    history = delta_history(table_path(cfg, "gold", table))
    print(f"{table:<15} versions {history['version'].min()}..{history['version'].max()}  "
          f"last: {history['operation'].iloc[-1]} at {history['timestamp'].iloc[-1]}")

# %% [markdown]
# ## Citizens

# %%
citizens = read_gold(cfg, "dim_citizen", columns=[
    "birth_year", "sex", "province_code", "status", "is_employed", "is_insured",
    "has_health_card", "receives_benefits", "n_sources"])
print(f"dim_citizen version {citizens.version}, {citizens.frame.npartitions} partition(s)")
people = citizens.frame.compute()
age = pd.Timestamp(str(cfg.models.as_of)).year - people["birth_year"].astype("float64")
employed = people["is_employed"].fillna(False).astype(bool)
summary = pd.Series({
    "citizens": len(people),
    "deceased": int((people["status"] == "deceased").sum()),
    "employed": int(employed.sum()),
    "employed and insured": int((employed & people["is_insured"].fillna(False).astype(bool)).sum()),
    "with a health card": int(people["has_health_card"].fillna(False).astype(bool).sum()),
    "receiving benefits": int(people["receives_benefits"].fillna(False).astype(bool).sum()),
})
summary.to_frame("count")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
age.plot.hist(bins=30, ax=axes[0], title="age (from birth year)")
people["n_sources"].value_counts().sort_index().plot.bar(ax=axes[1], title="sources per golden record")
by_province = (pd.DataFrame({"province": people["province_code"], "employed": employed,
                             "insured": people["is_insured"].fillna(False).astype(bool)})
               .loc[lambda d: d["employed"]].groupby("province")["insured"].agg(["mean", "size"]))
by_province = by_province[by_province["size"] >= 20].sort_values("mean")
(1 - by_province["mean"]).plot.barh(ax=axes[2], title="coverage gap: employed and not insured, by province")
axes[2].set_xlabel("share of employed citizens")
plt.tight_layout()

# %% [markdown]
# ## Enterprises
# Dissolution by sector and size: the "enterprise risk" model learns this, plus age and filings.

# %%
firms = read_gold(cfg, "dim_enterprise", columns=[
    "sector", "province_code", "status", "founded_date", "employees", "capital", "n_tax_filings", "n_late_filings"])
print(f"dim_enterprise version {firms.version}")
ent = firms.frame.compute()
ent["size"] = pd.cut(ent["employees"].astype("float64"), [0, 5, 10, 50, np.inf], labels=["1-5", "6-10", "11-50", ">50"])
ent["late_share"] = ent["n_late_filings"] / ent["n_tax_filings"].where(ent["n_tax_filings"] > 0)
ent["dissolved"] = ent["status"] == "dissolved"

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
pd.crosstab(ent["sector"], ent["status"]).plot.bar(stacked=True, ax=axes[0], title="firms by VSIC section and status")
ent.groupby("size", observed=True)["dissolved"].mean().plot.bar(ax=axes[1], title="dissolved share by size")
ent.boxplot(column="late_share", by="status", ax=axes[2])
axes[2].set_title("late filings / filings by status")
plt.suptitle("")
plt.tight_layout()

# %% [markdown]
# ## Data-quality scorecard
# One row per run, source and criterion (0..100). The latest run as a heat map, and the overall
# score over runs.

# %%
scorecard = read_gold(cfg, "dq_scorecard", columns=[
    "run_id", "run_at", "source", "criterion", "score", "rules", "rows", "violations"]).frame.compute()
latest_run = scorecard.sort_values("run_at")["run_id"].iloc[-1]
latest = scorecard[scorecard["run_id"] == latest_run].pivot_table(index="source", columns="criterion", values="score")
latest = latest[[c for c in ("dung", "du", "sach", "song", "overall") if c in latest.columns]]

fig, axes = plt.subplots(1, 2, figsize=(15, 0.45 * len(latest) + 2))
im = axes[0].imshow(latest.to_numpy(), cmap="RdYlGn", vmin=50, vmax=100, aspect="auto")
axes[0].set_xticks(range(len(latest.columns)), latest.columns)
axes[0].set_yticks(range(len(latest.index)), latest.index)
for (i, j), v in np.ndenumerate(latest.to_numpy()):
    axes[0].text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8)
axes[0].set_title(f"scorecard, run {latest_run}")
fig.colorbar(im, ax=axes[0])
overall = scorecard[scorecard["criterion"] == "overall"].pivot_table(index="run_at", columns="source", values="score")
overall.plot(ax=axes[1], marker="o", title="overall score per run")
axes[1].legend(fontsize=7)
plt.tight_layout()

# %% [markdown]
# Rules behind the scores of the latest run (rule ids as configured under `silver.rules`):

# %%
(scorecard[scorecard["run_id"] == latest_run][["source", "criterion", "score", "rows", "violations", "rules"]]
 .assign(rules=lambda d: d["rules"].map(lambda ids: ", ".join(ids) if ids is not None else ""))
 .sort_values(["source", "criterion"]).head(40))
