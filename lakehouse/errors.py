"""The lakehouse's own errors: one base, one subclass per package or concern.

A :class:`LakehouseError` is a problem the message explains (bad config, bad or missing data, an
unsafe key file, a guard that fired). The job entry points (``jobs/_common.run_job``) catch it once
and exit with code 2 and the message only; anything else is a bug and keeps its traceback.

    LakehouseError
    ├── ConfigError (also ValueError)             a config value is missing or wrong
    ├── BronzeError (also RuntimeError)           error-rate threshold or reconciliation failed
    ├── SilverError (also RuntimeError)           fail rule, drop rate or reconciliation
    ├── GoldError (also RuntimeError)             gold cannot run or its guard failed
    │   └── ResolutionError                       entity resolution
    │       └── OversizeClusterError              a cluster over max_cluster_size (oversize_action: fail)
    ├── StorageError                              storage / file-system operations
    ├── SecurityError                             security and privacy
    │   └── KeyMaterialError (also RuntimeError)  keys missing, malformed or stored unsafely
    ├── ModelError                                model training and scoring
    └── OpsError                                  operations
        ├── MaintenanceError (also RuntimeError)  some tables could not be maintained
        ├── EvaluateError (also RuntimeError)     ER evaluation input missing (truth or gold)
        └── ConcurrentWriteConflict (also RuntimeError)  a Delta write kept losing commit races

The second bases (ValueError, RuntimeError) are the ones each class had before it moved here, so
existing ``except ValueError`` / ``except RuntimeError`` callers keep working. The classes are still
importable from their old modules (``lakehouse.config.ConfigError``, ``lakehouse.bronze.BronzeError``,
...). This module imports nothing from the package, so every module can import it.
"""

from __future__ import annotations

__all__ = [
    "LakehouseError", "ConfigError", "BronzeError", "SilverError", "GoldError", "ResolutionError",
    "OversizeClusterError", "StorageError", "SecurityError", "KeyMaterialError", "ModelError", "OpsError",
    "MaintenanceError", "EvaluateError", "ConcurrentWriteConflict",
]


class LakehouseError(Exception):
    """A data, config or environment problem that the message explains (exit code 2, no traceback)."""


# --- configuration -------------------------------------------------------------------------------

class ConfigError(LakehouseError, ValueError):
    """A configuration value is missing or wrong; the message names the source file and key."""


# --- layers --------------------------------------------------------------------------------------

class BronzeError(LakehouseError, RuntimeError):
    """The run finished its writes but must fail: an error-rate threshold or a reconciliation."""


class SilverError(LakehouseError, RuntimeError):
    """A fail rule fired, the drop rate is over its threshold, or counts do not reconcile."""


class GoldError(LakehouseError, RuntimeError):
    """Gold cannot run (e.g. silver is missing) or the resolution guard failed."""


class ResolutionError(GoldError):
    """Entity resolution cannot give a trustworthy answer."""


class OversizeClusterError(ResolutionError):
    """Raised with ``oversize_action: fail`` when a cluster exceeds ``max_cluster_size``."""

    def __init__(self, message: str, components: list[dict]):
        super().__init__(message)
        self.components = components


# --- storage -------------------------------------------------------------------------------------

class StorageError(LakehouseError):
    """A storage operation (file system, object store, Delta table layout) cannot be done."""


# --- security ------------------------------------------------------------------------------------

class SecurityError(LakehouseError):
    """Base of the security and privacy errors (keys, access, erasure)."""


class KeyMaterialError(SecurityError, RuntimeError):
    """Keys are missing, malformed or stored unsafely. Messages never contain key material."""


# --- models --------------------------------------------------------------------------------------

class ModelError(LakehouseError):
    """A model cannot be trained or scored from the data it was given."""


# --- operations ----------------------------------------------------------------------------------

class OpsError(LakehouseError):
    """Base of the operations errors (maintenance, evaluation, concurrent writes)."""


class MaintenanceError(OpsError, RuntimeError):
    """Some tables could not be maintained (the others were)."""


class EvaluateError(OpsError, RuntimeError):
    """A missing input of the ER evaluation: no truth or no gold."""


class ConcurrentWriteConflict(OpsError, RuntimeError):
    """A Delta write kept losing commit races; ``attempts`` tries were made. ``__cause__`` is the last
    conflict."""

    def __init__(self, what: str, attempts: int, last: BaseException):
        first = str(last).strip().splitlines()[0] if str(last).strip() else type(last).__name__
        super().__init__(f"{what}: gave up after {attempts} attempt(s) because concurrent writers kept "
                         f"committing first ({type(last).__name__}: {first[:400]}). The table is intact; "
                         f"run the job again, or raise ops.retry.attempts.")
        self.what, self.attempts, self.last = what, attempts, last
