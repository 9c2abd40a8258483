"""Distributed training with xgboost.dask, evaluation against a naive baseline, MLflow tracking.

For each model (see :mod:`.specs`):
1. read its gold tables through the Delta log (versions pinned in config, else the latest);
2. build one row per entity and split train/test by a seeded hash of the key (stable whatever the
   partitioning);
3. train on the Dask cluster, partition i on worker i mod n (distributed XGBoost is deterministic
   only if each worker holds the same rows in every run);
4. score the held-out rows, compare with the base-rate baseline (AUC, log-loss, accuracy, Brier);
5. log params, metrics, tags (gold Delta versions, code version) and the model with its signature
   (no input example) to MLflow, register it and move the alias when it beats the baseline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from lakehouse.errors import ModelError
from lakehouse.models import tracking
from lakehouse.models.cluster import worker_addresses
from lakehouse.models.data import read_gold
from lakehouse.models.specs import SPECS, ModelSpec, selected_specs

SPLIT_COLUMN = "_test"


@dataclass
class ModelData:
    frame: dd.DataFrame               # key, features, label, _test
    gold_versions: dict[str, int]
    gold_paths: dict[str, str]


@dataclass
class TrainResult:
    model: str
    registered_name: str
    version: str
    run_id: str
    promoted: bool
    alias: str | None
    metrics: dict[str, float]
    gold_versions: dict[str, int]
    n_train: int
    n_test: int
    feature_importance: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- data ------------------------------------------------------------------------------------

def as_of(cfg: DictConfig) -> pd.Timestamp:
    return pd.Timestamp(str(cfg.models.as_of))


def holdout_mask(keys: pd.Series, seed: int, fraction: float) -> np.ndarray:
    """True for held-out rows: a seeded, stable hash of the key (same key, same seed -> same side)."""
    hash_key = f"{int(seed) % 10**16:016d}"
    hashed = pd.util.hash_pandas_object(keys.astype("string").fillna(""), index=False, hash_key=hash_key)
    return (hashed.to_numpy() % np.uint64(10_000)) < np.uint64(round(float(fraction) * 10_000))


def _with_split(part: pd.DataFrame, key: str, seed: int, fraction: float) -> pd.DataFrame:
    return part.assign(**{SPLIT_COLUMN: holdout_mask(part[key], seed, fraction)})


def model_data(cfg: DictConfig, spec: ModelSpec) -> ModelData:
    """The model's rows (lazy) and the gold versions they come from."""
    reads = {t: read_gold(cfg, t, columns=cols) for t, cols in spec.columns.items()}
    frame = spec.build({t: r.frame for t, r in reads.items()}, as_of(cfg))
    seed, fraction = int(cfg.models.seed), float(cfg.models.test_fraction)
    frame = frame.map_partitions(_with_split, spec.key, seed, fraction,
                                 meta=_with_split(frame._meta, spec.key, seed, fraction))
    return ModelData(frame=frame, gold_versions={t: r.version for t, r in reads.items()},
                     gold_paths={t: r.path for t, r in reads.items()})


# --- metrics ---------------------------------------------------------------------------------

def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC (ties averaged), log-loss, accuracy at 0.5 and Brier score."""
    y = np.asarray(y, dtype="float64")
    p = np.clip(np.asarray(p, dtype="float64"), 1e-15, 1 - 1e-15)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos and n_neg:
        ranks = pd.Series(p).rank(method="average").to_numpy()
        auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    else:
        auc = float("nan")
    return {
        "auc": float(auc),
        "logloss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "brier": float(np.mean((p - y) ** 2)),
    }


def compare(y: np.ndarray, p_model: np.ndarray, base_rate: float) -> dict[str, float]:
    """Model vs the naive baseline that predicts the training base rate for everyone (its AUC is
    0.5 and its accuracy that of the majority class). Margins are positive when the model is better."""
    model = binary_metrics(y, p_model)
    baseline = binary_metrics(y, np.full(len(y), base_rate))
    out = {f"model_{k}": v for k, v in model.items()}
    out.update({f"baseline_{k}": v for k, v in baseline.items()})
    out.update({
        "auc_margin": model["auc"] - baseline["auc"],
        "logloss_margin": baseline["logloss"] - model["logloss"],
        "accuracy_margin": model["accuracy"] - baseline["accuracy"],
        "brier_margin": baseline["brier"] - model["brier"],
        "base_rate": float(base_rate),
    })
    return out


# --- training --------------------------------------------------------------------------------

def _container(node) -> dict[str, Any]:
    if node is None:
        return {}
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)


def _spec_conf(cfg: DictConfig, spec: ModelSpec) -> dict[str, Any]:
    return _container((cfg.models.get("specs") or {}).get(spec.name))


def xgb_params(cfg: DictConfig, spec: ModelSpec) -> dict[str, Any]:
    params = OmegaConf.to_container(cfg.models.xgboost, resolve=True)
    params.update(_container(_spec_conf(cfg, spec).get("params")))
    threads = int(cfg.models.dask.get("threads_per_worker") or 1)
    params.update({"seed": int(cfg.models.seed), "nthread": threads, "verbosity": 0})
    return params


def num_boost_round(cfg: DictConfig, spec: ModelSpec) -> int:
    return int(_spec_conf(cfg, spec).get("num_boost_round") or cfg.models.num_boost_round)


def predict_partition(part: pd.DataFrame, model: bytes, features: tuple[str, ...]) -> pd.Series:
    """P(label = 1) for one partition, with the booster given as its raw (UBJSON) bytes."""
    import xgboost as xgb

    if part.empty:
        return pd.Series([], index=part.index, dtype="float64", name="score")
    booster = xgb.Booster(params={"nthread": 1}, model_file=bytearray(model))
    x = part[list(features)].to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(booster.inplace_predict(x).astype("float64"), index=part.index, name="score")


def predict(frame: dd.DataFrame, booster, features: tuple[str, ...]) -> dd.Series:
    """Distributed prediction: each partition is scored where it lives."""
    raw = bytes(booster.save_raw("ubj"))
    meta = pd.Series([], dtype="float64", name="score")
    return frame.map_partitions(predict_partition, raw, tuple(features), meta=meta)


def fix_placement(client, dmatrix) -> None:
    """Give partition i of a DaskDMatrix to worker i mod n (workers in name order, which is also
    XGBoost's rank order), whichever worker happened to compute it.

    Distributed XGBoost is deterministic only if every worker trains on the same rows in every run
    (quantile sketches and histogram sums are merged across workers); where the scheduler computes
    a partition depends on timing and load. The training task on each worker fetches the partitions
    listed for it in `worker_map`, so rewriting the map fixes the placement."""
    workers = worker_addresses(client)
    parts = sorted((f for fs in dmatrix.worker_map.values() for f in fs), key=lambda f: dmatrix.partition_order[f.key])
    placement: dict[str, list] = {}
    for i, part in enumerate(parts):
        placement.setdefault(workers[i % len(workers)], []).append(part)
    dmatrix.worker_map = placement


def fit(client, cfg: DictConfig, spec: ModelSpec, train: dd.DataFrame):
    """Train on the cluster with xgboost.dask; returns the Booster."""
    import xgboost as xgb
    from xgboost import dask as dxgb

    x = train[list(spec.features)].astype("float64")
    dtrain = dxgb.DaskDMatrix(client, x, train[spec.label], feature_names=list(spec.features))
    fix_placement(client, dtrain)
    with xgb.config_context(verbosity=0):
        out = dxgb.train(client, xgb_params(cfg, spec), dtrain, num_boost_round=num_boost_round(cfg, spec),
                         verbose_eval=False)
    return out["booster"]


def signature(spec: ModelSpec):
    """Inputs: the features (double); output: P(label = 1). Built from the schema, not from rows."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("double", f) for f in spec.features]),
                          outputs=Schema([ColSpec("double", "score")]))


def train_model(client, cfg: DictConfig, spec: ModelSpec) -> TrainResult:
    import mlflow

    mlflow_client, experiment_id = tracking.setup(cfg)
    data = model_data(cfg, spec)
    frame = client.persist(data.frame)
    train, test = frame[~frame[SPLIT_COLUMN]], frame[frame[SPLIT_COLUMN]]
    n_train, base_rate = dd.compute(train[spec.label].count(), train[spec.label].mean())
    n_train, base_rate = int(n_train), float(base_rate)
    if n_train == 0 or not 0.0 < base_rate < 1.0:
        raise ModelError(f"{spec.name}: training set has {n_train} rows and base rate {base_rate}: "
                         "both classes are needed")
    booster = fit(client, cfg, spec, train)
    y_test, p_test = dd.compute(test[spec.label], predict(test, booster, spec.features))
    metrics = compare(y_test.to_numpy(), p_test.to_numpy(), base_rate)
    importance = {k: float(v) for k, v in sorted(booster.get_score(importance_type="gain").items(),
                                                   key=lambda kv: -kv[1])}

    name = tracking.registered_name(cfg, spec.name)
    min_margin = float(cfg.models.promote.min_auc_margin)
    promoted = metrics["auc_margin"] >= min_margin and metrics["logloss_margin"] > 0
    params = xgb_params(cfg, spec)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{spec.name}-seed{cfg.models.seed}") as run:
        mlflow.set_tags({
            "model": spec.name,
            "question": spec.question,
            **tracking.code_version(),
            **{f"gold.{t}.version": str(v) for t, v in data.gold_versions.items()},
            **{f"gold.{t}.path": p for t, p in data.gold_paths.items()},
        })
        mlflow.log_params({
            "model": spec.name,
            "label": spec.label,
            "seed": int(cfg.models.seed),
            "test_fraction": float(cfg.models.test_fraction),
            "as_of": str(cfg.models.as_of),
            "num_boost_round": num_boost_round(cfg, spec),
            "n_features": len(spec.features),
            "n_partitions": frame.npartitions,
            "dask_workers": len(worker_addresses(client)),
            **{f"xgb.{k}": v for k, v in params.items()},
            **{f"gold_version.{t}": v for t, v in data.gold_versions.items()},
        })
        mlflow.log_metrics({**metrics, "n_train": n_train, "n_test": len(y_test)})
        mlflow.log_dict({"question": spec.question, "key": spec.key, "label": spec.label,
                         "features": list(spec.features), "gold_versions": data.gold_versions,
                         "feature_importance_gain": importance}, "model_card.json")
        info = mlflow.xgboost.log_model(
            booster, name="model", signature=signature(spec), registered_model_name=name,
            pip_requirements=[f"{tracking.distribution_of('xgboost')}=={xgb_version()}"],
            model_format="ubj",
        )
        version = str(info.registered_model_version)
        mlflow_client.set_model_version_tag(name, version, "auc_margin", f"{metrics['auc_margin']:.6f}")
        mlflow_client.set_model_version_tag(name, version, "gold_versions", json.dumps(data.gold_versions))
        alias = str(cfg.models.alias)
        if promoted:
            mlflow_client.set_registered_model_alias(name, alias, version)
        mlflow.set_tag("registry.promoted", str(promoted).lower())
    return TrainResult(model=spec.name, registered_name=name, version=version, run_id=run.info.run_id,
                       promoted=promoted, alias=alias if promoted else None, metrics=metrics,
                       gold_versions=data.gold_versions, n_train=n_train, n_test=int(len(y_test)),
                       feature_importance=importance)


def xgb_version() -> str:
    import xgboost

    return xgboost.__version__


def model_names(cfg: DictConfig) -> list[str]:
    only = list(cfg.models.get("only") or [])
    return only or [n for n in SPECS if n in (cfg.models.get("specs") or {})]


def train_models(client, cfg: DictConfig, names: Sequence[str] | None = None) -> list[TrainResult]:
    """Train `names` (default: models.only, else every model under models.specs)."""
    return [train_model(client, cfg, spec) for spec in selected_specs(names or model_names(cfg))]


def summary(results: list[TrainResult]) -> str:
    head = f"{'model':<17}{'version':>8}{'AUC':>8}{'base':>7}{'logloss':>9}{'base':>7}{'acc':>7}{'base':>7}  alias"
    lines = [head]
    for r in results:
        m = r.metrics
        lines.append(f"{r.model:<17}{r.version:>8}{m['model_auc']:>8.3f}{m['baseline_auc']:>7.3f}"
                     f"{m['model_logloss']:>9.4f}{m['baseline_logloss']:>7.4f}{m['model_accuracy']:>7.3f}"
                     f"{m['baseline_accuracy']:>7.3f}  {r.alias or '-'}")
    return "\n".join(lines)
