"""Bronze: land every source exactly as received in Delta tables (`bronze/<source>`), with audit
columns, a quarantine table, an ingest log and a reconciliation in `ops/`."""

from lakehouse.bronze.runner import BronzeError, BronzeResult, BronzeSettings, run_bronze, summary_table

__all__ = ["BronzeError", "BronzeResult", "BronzeSettings", "run_bronze", "summary_table"]
