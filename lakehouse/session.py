"""The one place that builds a SparkSession (Delta enabled, JDBC drivers from Maven Central)."""

from __future__ import annotations

import os
from typing import Any, Mapping

from pyspark.sql import SparkSession

# JDBC drivers for the relational source systems, resolved from Maven Central like Delta's jars.
JDBC_PACKAGES = (
    "org.xerial:sqlite-jdbc:3.50.3.0",
    "org.postgresql:postgresql:42.7.7",
)

# Values matching these patterns are replaced in Spark's UI, event logs and plan strings.
REDACTION_REGEX = r"(?i)secret|password|token|key|credential"
SQL_REDACTION_REGEX = r"(?i)(hmac|aes_encrypt|aes_decrypt|sha2)\(.*?\)|'[0-9a-f]{32,}'|X'[0-9A-F]+'"


def build_spark(spark_cfg: Mapping[str, Any], master: str) -> SparkSession:
    """Build (or return the running) SparkSession with Delta, from the `spark` config group."""
    from delta import configure_spark_with_delta_pip

    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    builder = (
        SparkSession.builder.master(master)
        .appName(str(spark_cfg.get("app_name", "lakehouse")))
        .config("spark.driver.memory", str(spark_cfg.get("driver_memory", "4g")))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.redaction.regex", REDACTION_REGEX)
        .config("spark.sql.redaction.string.regex", SQL_REDACTION_REGEX)
        .config("spark.sql.legacy.javaCharsets", "true")
    )
    for key, value in (spark_cfg.get("conf") or {}).items():
        builder = builder.config(str(key), str(value).lower() if isinstance(value, bool) else str(value))
    spark = configure_spark_with_delta_pip(builder, extra_packages=list(JDBC_PACKAGES)).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _quiet_codegen_fallback(spark)
    return spark


def _quiet_codegen_fallback(spark: SparkSession) -> None:
    """Very wide generated methods sometimes exceed the JVM's 64 KB limit; Spark then falls back to
    interpreted evaluation (spark.sql.codegen.fallback), which is correct. Keep its stack traces out
    of the job output."""
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.logging.log4j.Level.OFF
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator", level)
