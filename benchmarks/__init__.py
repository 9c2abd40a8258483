"""Benchmarks of the lakehouse: measurement code, not product code.

Not part of the shipped wheel (``[tool.setuptools.packages.find]`` includes only ``lakehouse*`` and
``jobs*``; ``make package`` / spark-submit ship neither this package nor ``tests``). Run everything
here from the repository checkout, whose root is then on ``sys.path``:

* :mod:`benchmarks.bench`          the pipeline benchmark (``python -m jobs.bench``, ``make bench*``);
* :mod:`benchmarks.chart`          its charts (matplotlib, headless);
* :mod:`benchmarks.duckdb_silver`  DuckDB's silver for one source, the engine comparison in ``make bench``;
* :mod:`benchmarks.udf_baseline`   native standardisers vs. the same rules as Python UDFs
  (``python -m benchmarks.udf_baseline [n_rows] [repeats] [rules]``, ``make bench-udf``); the rules are
  the test oracles of ``tests/oracles``;
* :mod:`benchmarks.smoke`          ``make bench-smoke``: stage=all at a tiny scale on two sources, with checks;
* ``benchmarks/results/``          saved results (JSON + PNG) quoted in the README.

Extra dependencies: ``pip install -e '.[bench]'`` (``dev`` includes it): DuckDB pinned to the measured
version and psutil; matplotlib comes with the project (the notebooks use it).
"""
