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
# # 2. Train the models and compare them through MLflow
#
# Two questions, answered from the gold tables:
# - **coverage_gap**: which employed citizens are likely *not* enrolled in social insurance?
# - **enterprise_risk**: which enterprises are likely to be dissolved?
#
# Training is the library's (`lakehouse.models.train.train_models`, the same code as
# `python -m jobs.train`): Dask reads gold through the Delta log, XGBoost trains on the Dask
# cluster, MLflow tracks the run and registers the model. This notebook then reads everything back
# from MLflow and compares each model with its naive baseline (the base rate for everyone).

# %%
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from lakehouse.config import compose
from lakehouse.models import tracking
from lakehouse.models.cluster import connect
from lakehouse.models.notebooks import overrides_from_env
from lakehouse.models.score import load_champion
from lakehouse.models.specs import SPECS
from lakehouse.models.train import SPLIT_COLUMN, model_data, predict, summary, train_models

cfg = compose(overrides_from_env())
client = connect(cfg)
mlflow_client, experiment_id = tracking.setup(cfg)
print("Dask:", client)
print("MLflow:", tracking.tracking_uri(cfg), "experiment", cfg.models.mlflow.experiment)

# %% [markdown]
# ## Train (seeded: the same seed and gold versions give the same metrics)

# %%
results = train_models(client, cfg)
print(summary(results))

# %% [markdown]
# ## Runs, as MLflow has them
# Parameters, metrics and the gold Delta versions each run read (tags `gold.<table>.version`).

# %%
runs = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["attributes.start_time DESC"])
columns = ["tags.model", "run_id", "params.seed", "params.gold_version.dim_citizen",
           "params.gold_version.dim_enterprise", "tags.code.git_commit", "metrics.model_auc",
           "metrics.baseline_auc", "metrics.model_logloss", "metrics.baseline_logloss",
           "metrics.model_accuracy", "metrics.baseline_accuracy", "metrics.n_train", "metrics.n_test"]
runs[[c for c in columns if c in runs.columns]].head(10)

# %% [markdown]
# ## Model vs baseline
# The baseline predicts the training base rate for everyone: AUC 0.5, the majority class's
# accuracy, and the log-loss of the base rate. Margins are positive when the model is better.

# %%
latest = runs.drop_duplicates("tags.model").set_index("tags.model")
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, metric in zip(axes, ("auc", "logloss", "accuracy")):
    latest[[f"metrics.model_{metric}", f"metrics.baseline_{metric}"]].rename(
        columns=lambda c: c.split(".")[1].split("_")[0]).plot.bar(ax=ax, title=metric, rot=0)
plt.tight_layout()
latest[["metrics.auc_margin", "metrics.logloss_margin", "metrics.accuracy_margin", "metrics.base_rate"]]

# %% [markdown]
# ## The registry: which version is champion, and what it was trained on

# %%
rows = []
for name in SPECS:
    registered = tracking.registered_name(cfg, name)
    try:
        version = mlflow_client.get_model_version_by_alias(registered, str(cfg.models.alias))
    except mlflow.exceptions.MlflowException:
        continue
    rows.append({"model": registered, "alias": cfg.models.alias, "version": version.version,
                 "run_id": version.run_id, "gold_versions": version.tags.get("gold_versions"),
                 "auc_margin": version.tags.get("auc_margin")})
pd.DataFrame(rows)

# %% [markdown]
# ## What the models rely on (gain), from the model card logged with each run

# %%
fig, axes = plt.subplots(1, len(latest), figsize=(7 * len(latest), 4))
for ax, (model, run) in zip(np.atleast_1d(axes), latest.iterrows()):
    card = mlflow.artifacts.load_dict(f"runs:/{run['run_id']}/model_card.json")
    pd.Series(card["feature_importance_gain"]).head(12).sort_values().plot.barh(ax=ax, title=model)
plt.tight_layout()

# %% [markdown]
# ## Lift on the held-out rows
# Observed rate by score decile for the champion, against the base rate (what the baseline would
# give in every decile). The held-out rows are the same the trainer used (seeded hash of the key).

# %%
fig, axes = plt.subplots(1, len(SPECS), figsize=(7 * len(SPECS), 4))
for ax, spec in zip(np.atleast_1d(axes), SPECS.values()):
    booster, version = load_champion(cfg, spec, str(cfg.models.alias))
    frame = model_data(cfg, spec).frame
    test = frame[frame[SPLIT_COLUMN]]
    y, p = (s.to_numpy() for s in client.compute([test[spec.label], predict(test, booster, spec.features)], sync=True))
    deciles = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=range(1, 11))
    lift = pd.Series(y).groupby(deciles, observed=True).mean()
    lift.plot.bar(ax=ax, title=f"{spec.name} v{version.version}: observed {spec.label} rate by score decile", rot=0)
    ax.axhline(float(y.mean()), color="k", linestyle="--", label="base rate (baseline)")
    ax.legend()
plt.tight_layout()

# %%
client.close()
