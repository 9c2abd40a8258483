"""Pure-Python oracles of the native Spark code (no JVM needed to import or run them), and the
deterministic value generators the tests feed them: :mod:`tests.oracles.standardisers`,
:mod:`tests.oracles.values`."""
