"""Source-data simulator: a synthetic population and 16 dirty source systems, generated natively in
Spark as deterministic functions of (seed, row id), plus the hidden ground truth."""
