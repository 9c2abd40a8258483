"""The Dask client for the models: a small local cluster by default, or an existing scheduler."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from omegaconf import DictConfig


def connect(cfg: DictConfig) -> "distributed.Client":  # noqa: F821
    """A Dask client: to `models.dask.scheduler_address` (env DASK_SCHEDULER_ADDRESS) when set, else
    to a new LocalCluster of `n_workers` x `threads_per_worker` that `client.close()` shuts down."""
    import dask
    from distributed import Client

    conf = cfg.models.dask
    if conf.get("scheduler_address"):
        return Client(str(conf.scheduler_address), timeout="30s")
    logging.getLogger("distributed").setLevel(logging.WARNING)
    # No work stealing: tasks stay where the scheduler first put them (reproducible placement).
    with dask.config.set({"distributed.scheduler.work-stealing": False}):
        return Client(
            n_workers=int(conf.n_workers),
            threads_per_worker=int(conf.threads_per_worker),
            processes=bool(conf.processes),
            memory_limit=str(conf.memory_limit),
            dashboard_address=str(conf.dashboard_address),
        )


@contextlib.contextmanager
def dask_client(cfg: DictConfig) -> Iterator["distributed.Client"]:  # noqa: F821
    """`connect(cfg)` as a context manager: closes the client (and a local cluster it started)."""
    client = connect(cfg)
    try:
        yield client
    finally:
        client.close()


def worker_addresses(client) -> list[str]:
    """Workers in a stable order (by name, then address), so placement does not depend on timing."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    return sorted(info, key=lambda addr: (str(info[addr].get("name")), addr))
