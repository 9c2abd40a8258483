"""Silver standardisers without a JVM: the module holds no Python UDF. (Examples on Spark:
tests/spark/silver/test_standardise.py; properties on the Python oracles: test_oracles.py here.)"""

from __future__ import annotations

from pathlib import Path

from lakehouse.silver import standardise as S


def test_no_python_udfs_in_standardise():
    # No Python UDF anywhere in the module (its docstring names the UDF benchmark, udf_baseline).
    source = "".join(p.read_text(encoding="utf-8") for p in sorted(Path(S.__file__).parent.glob("*.py")))
    assert "udf" not in source.replace("udf_baseline", "")
