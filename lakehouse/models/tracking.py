"""MLflow: where runs go (from config), the code version, registered model names.

By default runs go to a local SQLite store, ``<paths.ops>/mlflow/mlflow.db``, with artifacts in
``<paths.ops>/mlflow/artifacts``; ``models.mlflow.tracking_uri`` (or LAKEHOUSE_MLFLOW_URI) points
at a team server instead. Nothing here logs data rows: params, metrics, tags and the model only.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import logging
import subprocess
from pathlib import Path

from omegaconf import DictConfig

from lakehouse.config import ConfigError

REPO_DIR = Path(__file__).resolve().parents[2]


def _local_dir(path: str) -> Path:
    if "://" in path:
        raise ConfigError(f"models.mlflow.store_dir={path} is not a local path: set models.mlflow.tracking_uri "
                          "(or LAKEHOUSE_MLFLOW_URI) to a tracking server for this environment")
    return Path(path).expanduser().resolve()


def tracking_uri(cfg: DictConfig) -> str:
    uri = cfg.models.mlflow.get("tracking_uri")
    if uri:
        return str(uri)
    return f"sqlite:///{_local_dir(str(cfg.models.mlflow.store_dir)) / 'mlflow.db'}"


def artifact_location(cfg: DictConfig) -> str | None:
    """Artifact root for a new experiment: a local folder next to the SQLite store, or the server's
    default when a tracking server is configured."""
    if cfg.models.mlflow.get("tracking_uri"):
        return None
    return (_local_dir(str(cfg.models.mlflow.store_dir)) / "artifacts").as_uri()


def setup(cfg: DictConfig) -> tuple["mlflow.MlflowClient", str]:  # noqa: F821
    """Point MLflow at the configured store; returns a client and the experiment id."""
    import mlflow

    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri, location = tracking_uri(cfg), artifact_location(cfg)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = str(cfg.models.mlflow.experiment)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    return client, experiment_id


def registered_name(cfg: DictConfig, model: str) -> str:
    return f"{cfg.models.mlflow.get('registry_prefix') or ''}{model}"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def distribution_of(module: str) -> str:
    """The installed distribution that provides `module` (xgboost comes as xgboost or xgboost-cpu)."""
    return (md.packages_distributions().get(module) or [module])[0]


def code_version() -> dict[str, str]:
    """Git commit (and whether the tree had uncommitted changes) plus package versions."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "code.git_commit": commit or "unknown",
        "code.git_dirty": "unknown" if status is None else str(bool(status)).lower(),
        "code.package_version": _version("lakehouse"),
        "code.xgboost_version": _version(distribution_of("xgboost")),
        "code.dask_version": _version("dask"),
        "code.deltalake_version": _version("deltalake"),
        "code.mlflow_version": _version("mlflow"),
    }
