"""Right to erasure: one person leaves every layer, old file versions and log history included."""

from __future__ import annotations

import io

import pytest

from lakehouse.security import erase as E


def test_identifiers_come_from_stdin_or_a_file_never_argv(tmp_path):
    assert E.read_identifiers(io.StringIO("cccd:079 123 456 789\n# x\ncmnd:123456789\n")) == \
        [("cccd", "079123456789"), ("cmnd", "123456789")]
    f = tmp_path / "request.txt"
    f.write_text("079123456789\n")
    assert E.read_identifiers(f) == [("cccd", "079123456789")]
    with pytest.raises(E.ErasureError, match=r"line 2: not a valid cccd") as err:
        E.read_identifiers(io.StringIO("079123456789\n07912345\n"))
    assert "07912345" not in str(err.value)
    with pytest.raises(E.ErasureError, match="kind 'phone' is not accepted"):
        E.read_identifiers(io.StringIO("phone:0912345678\n"))
    assert E.main(["079123456789"]) == 2  # refused before anything runs
