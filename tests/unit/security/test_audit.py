"""The audit log: job records (success and failure), no identifiers, append-only."""

from __future__ import annotations

from lakehouse.security import audit as AU


def test_scrub_removes_literals_and_long_digit_runs():
    assert AU.scrub("cast 'Nguyễn Văn A' failed for 001234567890\nsecond line") == "cast '?' failed for <digits>"
    assert AU.scrub("password=hunter2 x") == "password=<redacted> x"
