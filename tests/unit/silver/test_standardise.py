"""Silver standardisers without a JVM: the module holds no Python UDF. (Examples on Spark:
tests/spark/silver/test_standardise.py; properties on the Python oracles: test_oracles.py here.)"""

from __future__ import annotations

import inspect

from lakehouse.silver import standardise as S


def test_no_python_udfs_in_standardise():
    # No Python UDF anywhere in the module (its docstring names the UDF benchmark, udf_baseline).
    assert "udf" not in inspect.getsource(S).replace("udf_baseline", "")
