"""Silver layer: standardise, validate, deduplicate and merge per-source entities."""
