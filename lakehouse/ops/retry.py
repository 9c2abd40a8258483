"""Retry a Delta write that lost an optimistic-concurrency race.

Delta commits optimistically: two writers that touch the same files (two MERGEs on overlapping
keys, a ``replaceWhere`` while another job appends rows matching its predicate, OPTIMIZE next to a
DELETE) both write their files, and the one that commits second fails with one of
``io.delta.exceptions.Concurrent*Exception`` (Python: ``delta.exceptions``). Its files are never
referenced by the log, so nothing is corrupted; the operation just has to run again against the new
table version. Blind appends never conflict with each other.

    from lakehouse.ops.retry import with_retry

    with_retry(lambda: io.merge_current(facts, path, source), attempts=4, what=f"merge into {path}")

``fn`` must rebuild everything that depends on the table's state each time it is called (for
example ``DeltaTable.forPath(...)`` inside the lambda), because the retry must see the winner's commit.
When the attempts are used up, :class:`ConcurrentWriteConflict` is raised, naming the operation and
the conflict; any other exception is raised at once, unchanged.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, TypeVar

from lakehouse.errors import ConcurrentWriteConflict

T = TypeVar("T")

# Markers of a Delta commit conflict in an exception's text, for errors that reach Python without
# being converted to delta.exceptions classes (e.g. wrapped in another Py4J error).
CONFLICT_MARKERS = (
    "DELTA_CONCURRENT_",                      # error classes: DELTA_CONCURRENT_APPEND, ..._DELETE_READ, ...
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
    "io.delta.exceptions.Concurrent",
    "io.delta.exceptions.MetadataChangedException",
    "io.delta.exceptions.ProtocolChangedException",
    "io.delta.exceptions.DeltaConcurrentModificationException",
)


def _conflict_classes() -> tuple[type, ...]:
    try:
        from delta.exceptions import base as b
    except ImportError:  # pragma: no cover - delta-spark is a dependency
        return ()
    return (b.DeltaConcurrentModificationException, b.ConcurrentWriteException, b.MetadataChangedException,
            b.ProtocolChangedException, b.ConcurrentAppendException, b.ConcurrentDeleteReadException,
            b.ConcurrentDeleteDeleteException, b.ConcurrentTransactionException)


CONFLICT_ERRORS = _conflict_classes()


def is_conflict(exc: BaseException) -> bool:
    """True for Delta's optimistic-concurrency conflicts (worth retrying), False for anything else."""
    if CONFLICT_ERRORS and isinstance(exc, CONFLICT_ERRORS):
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(m in text for m in CONFLICT_MARKERS)


def with_retry(fn: Callable[[], T], attempts: int = 4, *, what: str = "delta write", backoff_s: float = 1.0,
               max_backoff_s: float = 30.0, jitter: bool = True, retry_if: Callable[[BaseException], bool] = is_conflict,
               on_retry: Callable[[int, BaseException, float], Any] | None = None,
               sleep: Callable[[float], Any] = time.sleep) -> T:
    """Call ``fn()``; if it fails with a commit conflict, wait (exponential backoff with jitter) and call
    it again, at most ``attempts`` times in all. ``on_retry(attempt, exc, wait_s)`` is called before
    each new attempt (e.g. to log it). Returns what ``fn`` returns."""
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered by retry_if, everything else re-raised
            if not retry_if(exc):
                raise
            if attempt == attempts:
                raise ConcurrentWriteConflict(what, attempts, exc) from exc
            wait = min(max_backoff_s, backoff_s * 2 ** (attempt - 1))
            if jitter:
                wait *= 0.5 + random.random()
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def retry_settings(cfg: Any) -> dict[str, Any]:
    """``ops.retry`` of the root config as keyword arguments for :func:`with_retry`."""
    node = (cfg.get("ops") or {}).get("retry") or {} if hasattr(cfg, "get") else {}
    out: dict[str, Any] = {}
    for key in ("attempts", "backoff_s", "max_backoff_s"):
        if node.get(key) is not None:
            out[key] = type({"attempts": 1, "backoff_s": 1.0, "max_backoff_s": 1.0}[key])(node.get(key))
    return out
