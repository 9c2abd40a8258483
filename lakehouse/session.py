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
# Conf keys/values (environment tab, event logs, YARN/K8s logs):
REDACTION_REGEX = r"(?i)secret|password|token|key|credential"
# Parts of plan strings (explain, SQL tab, event logs). Defence in depth only: the library never puts a
# key in an expression (lakehouse.security.protect keeps keys in a hidden one-row frame). Covers
# an encryption call (the rest of its line, nested arguments included: the optimised plan prints
# static_invoke(ExpressionImplUtils.aesEncrypt(...))), sha2/hmac calls, hex string literals and binary
# literals of 16+ bytes (plans print binary literals as 0x...), and base64 literals of 32+ bytes.
SQL_REDACTION_REGEX = (
    r"(?i)(?:aes_?(?:en|de)crypt|hmac)\([^\n]*"
    r"|sha2\(.*?\)"
    r"|'[0-9a-f]{32,}'|x'[0-9a-f]{32,}'|0x[0-9a-f]{32,}"
    r"|'[a-z0-9+/]{43,}={0,2}'"
)
# The shared RPC secret of a secured cluster (spark.authenticate) comes from this environment
# variable (the name can be changed with spark.auth_secret_env); it is never written in config.
AUTH_SECRET_ENV = "SPARK_AUTHENTICATE_SECRET"


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
    conf = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (spark_cfg.get("conf") or {}).items()}
    for key, value in conf.items():
        builder = builder.config(key, value)
    secret = _auth_secret(spark_cfg, conf, master)
    if secret is not None:
        builder = builder.config("spark.authenticate.secret", secret)
    spark = configure_spark_with_delta_pip(builder, extra_packages=list(JDBC_PACKAGES)).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _quiet_codegen_fallback(spark)
    return spark


def _auth_secret(spark_cfg: Mapping[str, Any], conf: Mapping[str, str], master: str) -> str | None:
    """spark.authenticate on a cluster needs the shared secret: read it from the environment only."""
    if "spark.authenticate.secret" in conf:
        raise ValueError("spark.authenticate.secret must not be written in config; set the environment "
                         f"variable {spark_cfg.get('auth_secret_env') or AUTH_SECRET_ENV} instead")
    if conf.get("spark.authenticate", "false") != "true" or master.startswith("local"):
        return None  # local mode generates its own secret
    env = str(spark_cfg.get("auth_secret_env") or AUTH_SECRET_ENV)
    secret = os.environ.get(env)
    if not secret:
        raise RuntimeError(f"spark.authenticate is on but ${env} is empty: export the cluster's shared RPC "
                           "secret (the same one the master and workers use) before starting the job")
    return secret


def _quiet_codegen_fallback(spark: SparkSession) -> None:
    """Very wide generated methods sometimes exceed the JVM's 64 KB limit; Spark then falls back to
    interpreted evaluation (spark.sql.codegen.fallback), which is correct. Keep its stack traces out
    of the job output."""
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.logging.log4j.Level.OFF
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator", level)
