"""Training beats the baseline, MLflow has everything (and no identifiers), scoring writes gold,
the same seed gives the same metrics, time travel trains on an older version."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest

from lakehouse.config import ConfigError
from lakehouse.models import tracking
from lakehouse.models.data import read_delta
from lakehouse.models.score import score_models, scores_table
from lakehouse.models.specs import SPECS
from lakehouse.models.train import (
    binary_metrics,
    compare,
    holdout_mask,
    train_model,
    train_models,
)
from tests.support import synth
from tests.unit.models.conftest import N_FIRMS, models_cfg


@pytest.fixture(scope="module")
def trained(cfg, client):
    return {r.model: r for r in train_models(client, cfg)}


@pytest.fixture(scope="module")
def scored(cfg, client, trained):
    return {r.model: r for r in score_models(client, cfg)}


def test_metrics_and_baseline():
    y = np.array([0, 0, 1, 1])
    assert binary_metrics(y, np.array([0.1, 0.4, 0.35, 0.8]))["auc"] == 0.75
    m = compare(y, np.array([0.1, 0.2, 0.8, 0.9]), base_rate=0.5)
    assert m["baseline_auc"] == 0.5 and m["model_auc"] == 1.0 and m["auc_margin"] == 0.5
    assert m["baseline_logloss"] == pytest.approx(np.log(2)) and m["logloss_margin"] > 0
    assert m["baseline_accuracy"] == 0.5 and m["model_accuracy"] == 1.0


def test_split_is_seeded_and_stable():
    import pandas as pd

    keys = pd.Series([f"k{i}" for i in range(10_000)])
    a, b = holdout_mask(keys, 42, 0.25), holdout_mask(keys, 42, 0.25)
    assert (a == b).all() and 0.22 < a.mean() < 0.28
    assert not (holdout_mask(keys, 7, 0.25) == a).all()
    assert (holdout_mask(keys.iloc[::-1].reset_index(drop=True), 42, 0.25)[::-1] == a).all()  # order-free


def test_training_beats_the_baseline(trained):
    assert set(trained) == set(SPECS)
    for r in trained.values():
        m = r.metrics
        assert m["baseline_auc"] == 0.5
        assert m["auc_margin"] > 0.1, (r.model, m)
        assert m["logloss_margin"] > 0, (r.model, m)
        assert m["model_accuracy"] >= m["baseline_accuracy"], (r.model, m)
        assert r.promoted and r.alias == "champion"
    assert trained["enterprise_risk"].n_train + trained["enterprise_risk"].n_test == N_FIRMS
    # The planted signal is found: the employer's status and size drive coverage.
    assert {"employer_dissolved", "employer_employees_log"} <= set(list(trained["coverage_gap"].feature_importance)[:5])


def test_mlflow_run_has_params_metrics_signature_versions_code_and_alias(cfg, trained):
    client, _ = tracking.setup(cfg)
    for name, r in trained.items():
        run = client.get_run(r.run_id)
        assert run.data.params["seed"] == "42" and run.data.params["label"] == SPECS[name].label
        assert "xgb.max_depth" in run.data.params and "num_boost_round" in run.data.params
        for table in SPECS[name].tables:
            assert run.data.params[f"gold_version.{table}"] == "1"
            assert run.data.tags[f"gold.{table}.version"] == "1"
        assert run.data.tags["code.git_commit"] != "" and run.data.tags["code.package_version"] != "unknown"
        assert "code.xgboost_version" in run.data.tags
        for metric in ("model_auc", "baseline_auc", "auc_margin", "model_logloss", "baseline_logloss",
                       "model_accuracy", "baseline_accuracy", "n_train", "n_test"):
            assert metric in run.data.metrics
        registered = tracking.registered_name(cfg, name)
        version = client.get_model_version_by_alias(registered, "champion")
        assert str(version.version) == r.version and version.run_id == r.run_id
        info = mlflow.models.get_model_info(f"models:/{registered}@champion")
        assert info.signature.inputs.input_names() == list(SPECS[name].features)
        assert info.saved_input_example_info is None  # no rows logged with the model
        card = mlflow.artifacts.load_dict(f"runs:/{r.run_id}/model_card.json")
        assert card["features"] == list(SPECS[name].features)


def test_score_writes_gold_scores_with_model_version(cfg, trained, scored):
    employed = read_delta(f"{cfg.paths.gold}/dim_citizen").frame.compute()
    expected = {"coverage_gap": int((employed["is_employed"].astype(bool) & (employed["status"] != "deceased")).sum()),
                "enterprise_risk": N_FIRMS}
    for name, r in scored.items():
        assert r.table == scores_table(cfg, name) == f"{cfg.paths.gold}/{name}_scores"
        table = read_delta(r.table)
        assert table.version == r.delta_version == 0
        df = table.frame.compute()
        key = SPECS[name].key
        assert list(df.columns) == [key, "score", "model_name", "model_version", "model_alias", "run_id",
                                    "gold_versions", "scored_at"]
        assert len(df) == r.rows == expected[name] and df[key].is_unique
        assert df["score"].between(0, 1).all()
        assert set(df["model_version"]) == {trained[name].version} and set(df["run_id"]) == {trained[name].run_id}
        assert set(df["model_alias"]) == {"champion"}
    # The pyfunc flavour of the registered model gives the same scores (signature enforced).
    spec = SPECS["enterprise_risk"]
    model = mlflow.pyfunc.load_model(f"models:/{tracking.registered_name(cfg, spec.name)}@champion")
    from lakehouse.models.features import risk_rows

    firms = read_delta(f"{cfg.paths.gold}/dim_enterprise").frame.compute()
    rows = risk_rows(firms, __import__("pandas").Timestamp(str(cfg.models.as_of)))
    pyfunc = np.asarray(model.predict(rows[list(spec.features)])).ravel()
    stored = read_delta(scores_table(cfg, spec.name)).frame.compute().set_index(spec.key)["score"]
    assert np.allclose(pyfunc, stored.loc[rows["enterprise_key"]].to_numpy(), atol=1e-6)


def test_same_seed_same_metrics_and_time_travel(gold_root, client, trained, tmp_path):
    spec = SPECS["enterprise_risk"]
    again = train_model(client, models_cfg(gold_root, f"models.mlflow.store_dir={tmp_path / 'ml1'}"), spec)
    assert again.metrics == trained[spec.name].metrics
    # Another seed draws another split; gold pinned at version 0 (the first half of the firms).
    other = train_model(client, models_cfg(gold_root, f"models.mlflow.store_dir={tmp_path / 'ml2'}", "seed=7",
                                           "models.gold_versions.dim_enterprise=0"), spec)
    assert other.gold_versions == {"dim_enterprise": 0}
    assert other.n_train + other.n_test == N_FIRMS // 2
    assert other.metrics != trained[spec.name].metrics


def test_no_identifier_reaches_mlflow(cfg, trained, scored):
    store = Path(str(cfg.models.mlflow.store_dir))
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.name == "MLmodel" for p in files)
    planted = [synth.MARKER.encode(), b"cit-", b"ent-", b"tok-", b"TAX"]
    for path in files:
        data = path.read_bytes()
        for needle in planted:
            assert needle not in data, f"{needle!r} found in {path}"
    # ... while the score table (gold) does carry the pseudonymous keys, as it should.
    assert read_delta(scores_table(cfg, "coverage_gap")).frame["citizen_key"].compute().str.contains(synth.MARKER).all()


def test_scoring_without_a_champion_is_a_clear_error(gold_root, client, tmp_path):
    cfg = models_cfg(gold_root, f"models.mlflow.store_dir={tmp_path / 'empty'}")
    with pytest.raises(ConfigError, match="alias 'champion'"):
        score_models(client, cfg, ["enterprise_risk"])


def test_no_promotion_below_the_margin(gold_root, client, tmp_path):
    cfg = models_cfg(gold_root, f"models.mlflow.store_dir={tmp_path / 'ml'}", "models.promote.min_auc_margin=0.9",
                     "models.num_boost_round=5")
    r = train_model(client, cfg, SPECS["coverage_gap"])
    assert not r.promoted and r.alias is None
    mlflow_client, _ = tracking.setup(cfg)
    assert mlflow_client.get_registered_model(r.registered_name).aliases == {}
