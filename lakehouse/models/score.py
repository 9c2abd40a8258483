"""Batch scoring with a registered model (by alias) into gold/<model>_scores.

The model is loaded from the MLflow registry as ``models:/<name>@<alias>``; its signature must list
the spec's features. Every row is scored on the Dask cluster where it lives, and the partitions are
streamed (a few at a time) into one Delta commit, so the driver never holds the whole table.
Each score row carries the model version, the run id and the gold versions it was computed from.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Iterator

import pandas as pd
import pyarrow as pa
from omegaconf import DictConfig

from lakehouse.config import ConfigError, table_path
from lakehouse.models import tracking
from lakehouse.models.data import storage_options, write_delta
from lakehouse.models.specs import ModelSpec, selected_specs
from lakehouse.models.train import model_data, model_names, predict_partition


@dataclass
class ScoreResult:
    model: str
    registered_name: str
    version: str
    run_id: str
    alias: str
    table: str
    delta_version: int
    rows: int
    gold_versions: dict[str, int]

    def as_dict(self):
        return asdict(self)


def score_schema(key: str) -> pa.Schema:
    return pa.schema([
        pa.field(key, pa.string()), pa.field("score", pa.float64()), pa.field("model_name", pa.string()),
        pa.field("model_version", pa.string()), pa.field("model_alias", pa.string()),
        pa.field("run_id", pa.string()), pa.field("gold_versions", pa.string()),
        pa.field("scored_at", pa.timestamp("us", tz="UTC")),
    ])


def scores_table(cfg: DictConfig, model: str) -> str:
    return table_path(cfg, "gold", f"{model}{cfg.models.scores.table_suffix}")


def score_partition(part: pd.DataFrame, model: bytes, key: str, features: tuple[str, ...],
                    stamp: dict[str, object]) -> pd.DataFrame:
    out = pd.DataFrame({key: part[key].astype("string"), "score": predict_partition(part, model, features)})
    for column, value in stamp.items():
        out[column] = value
    return out


def _batches(client, frame, schema: pa.Schema, constants: dict[str, pa.Scalar] | None = None,
             window: int = 2) -> Iterator[pa.RecordBatch]:
    """Compute partitions on the cluster, `window` ahead, and yield them in order, with the
    `constants` columns added."""
    parts = frame.to_delayed()
    pending = [client.compute(p) for p in parts[:window]]
    nxt = window
    while pending:
        df = pending.pop(0).result()
        if nxt < len(parts):
            pending.append(client.compute(parts[nxt]))
            nxt += 1
        if len(df):
            constants = constants or {}
            base = pa.schema([f for f in schema if f.name not in constants])
            table = pa.Table.from_pandas(df, schema=base, preserve_index=False)
            for name, value in constants.items():
                table = table.append_column(schema.field(name), pa.array([value.as_py()] * len(table),
                                                                         schema.field(name).type))
            table = table.select(schema.names)
            yield from table.to_batches()


def load_champion(cfg: DictConfig, spec: ModelSpec, alias: str):
    """(booster, model version entity) for `models:/<name>@<alias>`, checked against the spec."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client, _ = tracking.setup(cfg)
    name = tracking.registered_name(cfg, spec.name)
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise ConfigError(f"no model version of '{name}' has alias '{alias}' in {tracking.tracking_uri(cfg)}: "
                          "train it first (python -m jobs.train)") from exc
    uri = f"models:/{name}@{alias}"
    inputs = mlflow.models.get_model_info(uri).signature.inputs.input_names()
    if list(inputs) != list(spec.features):
        raise ConfigError(f"{uri} expects features {inputs}, the code builds {list(spec.features)}: retrain")
    return mlflow.xgboost.load_model(uri), version


def score_model(client, cfg: DictConfig, spec: ModelSpec, alias: str | None = None) -> ScoreResult:
    alias = str(alias or cfg.models.alias)
    booster, version = load_champion(cfg, spec, alias)
    data = model_data(cfg, spec)
    schema = score_schema(spec.key)
    stamp = {
        "model_name": version.name, "model_version": str(version.version), "model_alias": alias,
        "run_id": version.run_id or "", "gold_versions": json.dumps(data.gold_versions, sort_keys=True),
    }
    scored_at = pa.scalar(dt.datetime.now(dt.timezone.utc), pa.timestamp("us", tz="UTC"))
    raw = bytes(booster.save_raw("ubj"))
    meta = schema.empty_table().drop_columns(["scored_at"]).to_pandas()
    scored = data.frame.map_partitions(score_partition, raw, spec.key, tuple(spec.features), stamp, meta=meta)
    rows = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal rows
        for batch in _batches(client, scored, schema, {"scored_at": scored_at}):
            rows += batch.num_rows
            yield batch

    path = scores_table(cfg, spec.name)
    delta_version = write_delta(path, counted(), schema, mode="overwrite", storage_options=storage_options(cfg))
    tracking.setup(cfg)[0].set_model_version_tag(version.name, str(version.version), "scores.last_delta_version",
                                                 str(delta_version))
    return ScoreResult(model=spec.name, registered_name=version.name, version=str(version.version),
                       run_id=version.run_id or "", alias=alias, table=path, delta_version=delta_version,
                       rows=rows, gold_versions=data.gold_versions)


def score_models(client, cfg: DictConfig, names=None, alias: str | None = None) -> list[ScoreResult]:
    return [score_model(client, cfg, spec, alias) for spec in selected_specs(names or model_names(cfg))]


def summary(results: list[ScoreResult]) -> str:
    lines = [f"{'model':<17}{'version':>8}{'rows':>10}{'delta v':>9}  table"]
    for r in results:
        lines.append(f"{r.model:<17}{r.version:>8}{r.rows:>10}{r.delta_version:>9}  {r.table}")
    return "\n".join(lines)
