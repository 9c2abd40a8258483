"""Shared start-up for the job entry points: one Spark session per job, from config."""

from __future__ import annotations

from omegaconf import DictConfig
from pyspark.sql import SparkSession

from lakehouse.session import build_spark


def spark_for(cfg: DictConfig) -> SparkSession:
    return build_spark(cfg.spark, str(cfg.spark_master))
