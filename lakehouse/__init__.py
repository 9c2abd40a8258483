"""Consolidation lakehouse for Vietnam's national public records.

Layers: landing -> bronze -> silver -> gold. Pure DataFrame transforms live in the sub-packages;
only `lakehouse.storage` touches storage (its `catalog` lists every table) and only
`lakehouse.session` builds Spark.
"""

__version__ = "0.1.0"
