"""Synthetic gold tables (tests/models/synth.py), one Dask client and one training run per module."""

from __future__ import annotations

import pytest

from lakehouse.config import compose
from lakehouse.models.cluster import connect
from tests.conftest import TINY_SPARK
from tests.support import synth

N_CITIZENS, N_FIRMS = 3000, 400


def models_cfg(root, *overrides: str):
    """The real config with a temporary data root (as tests/conftest.py's make_cfg)."""
    return compose([*TINY_SPARK, f"paths.root={root}", *overrides])


@pytest.fixture(scope="module")
def gold_root(tmp_path_factory):
    """A data root whose gold holds dim_citizen and dim_enterprise at versions 0 and 1 (two commits
    of half the rows each) and a dq_scorecard."""
    root = tmp_path_factory.mktemp("models") / "data"
    synth.write_gold(str(root / "gold"), N_CITIZENS, N_FIRMS, files=2)
    return root


@pytest.fixture(scope="module")
def cfg(gold_root):
    return models_cfg(gold_root)


@pytest.fixture(scope="module")
def client(cfg):
    c = connect(cfg)
    yield c
    c.close()
