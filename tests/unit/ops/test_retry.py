"""with_retry: retries Delta commit conflicts only, with backoff, and fails with a clear error."""

from __future__ import annotations

import pytest

from lakehouse.ops.retry import (
    ConcurrentWriteConflict,
    is_conflict,
    retry_settings,
    with_retry,
)


class FakeConflict(Exception):
    pass


def conflict(msg="[DELTA_CONCURRENT_APPEND.WITHOUT_HINT] Transaction conflict detected. a concurrent MERGE added data"):
    return FakeConflict(msg)


def test_conflicts_are_recognised_by_class_and_by_message():
    from delta.exceptions.base import (
        ConcurrentAppendException,
        MetadataChangedException,
    )

    assert is_conflict(ConcurrentAppendException("x"))
    assert is_conflict(MetadataChangedException("x"))
    assert is_conflict(conflict())
    assert is_conflict(RuntimeError("io.delta.exceptions.ConcurrentDeleteReadException: ..."))
    assert not is_conflict(ValueError("[DELTA_MISSING_COLUMN] column x not found"))


def test_retries_a_conflict_then_returns():
    calls, waits, seen = [], [], []

    def fn():
        calls.append(1)
        if len(calls) < 3:
            raise conflict()
        return "done"

    out = with_retry(fn, attempts=4, backoff_s=1.0, jitter=False, sleep=waits.append,
                     on_retry=lambda i, e, w: seen.append((i, type(e).__name__, w)))
    assert out == "done" and len(calls) == 3
    assert waits == [1.0, 2.0] and seen == [(1, "FakeConflict", 1.0), (2, "FakeConflict", 2.0)]


def test_other_errors_are_not_retried():
    calls = []

    def fn():
        calls.append(1)
        raise ValueError("bad column")

    with pytest.raises(ValueError, match="bad column"):
        with_retry(fn, attempts=5, sleep=lambda s: None)
    assert len(calls) == 1


def test_gives_up_with_a_clear_error():
    def fn():
        raise conflict()

    with pytest.raises(ConcurrentWriteConflict, match=r"merge into silver/x: gave up after 2 attempt\(s\) .*"
                                                     r"DELTA_CONCURRENT_APPEND.*table is intact") as info:
        with_retry(fn, attempts=2, what="merge into silver/x", sleep=lambda s: None)
    assert isinstance(info.value.__cause__, FakeConflict) and info.value.attempts == 2


def test_backoff_is_capped_and_settings_come_from_config(make_cfg):
    waits = []
    with pytest.raises(ConcurrentWriteConflict):
        with_retry(lambda: (_ for _ in ()).throw(conflict()), attempts=6, backoff_s=1, max_backoff_s=3,
                   jitter=False, sleep=waits.append)
    assert waits == [1, 2, 3, 3, 3]
    cfg = make_cfg("ops.retry.attempts=7")
    assert retry_settings(cfg) == {"attempts": 7, "backoff_s": 1.0, "max_backoff_s": 30.0}
