"""Entry point for spark-submit: run one lakehouse job (a Hydra app ``jobs.<name>``) with overrides.

``make package`` copies this file to ``dist/run_job.py``:

    spark-submit --master "$SPARK_MASTER_URL" --driver-memory 4g \\
      --packages "$(sed -n 1p dist/spark-submit.txt | cut -d' ' -f2)" \\
      --py-files dist/lakehouse-0.1.0-py3-none-any.whl --archives dist/conf.zip#conf \\
      dist/run_job.py bronze env=cluster scale=0.01

What it does:
- finds the Hydra config: ``$LAKEHOUSE_CONF_DIR``; else ``./conf`` (``--archives conf.zip#conf`` unpacks
  it there in the driver's working directory in cluster deploy mode (YARN, Kubernetes), and a repo
  checkout has it); else ``conf.zip`` next to this script (client mode), unpacked to a temp dir;
- passes spark-submit's ``--master`` on as the ``spark_master`` override (the jobs build their session
  from config, and a builder's master would otherwise win over spark-submit's), unless given;
- runs ``jobs.<name>.main()`` with ``--config-path=<conf>`` and the overrides, exit code unchanged.

Under spark-submit the JVM already exists, so ``spark.jars.packages`` and ``spark.driver.memory``
set by the job's session builder come too late: give them as ``--packages`` / ``--driver-memory``.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import sys
import tempfile
import zipfile

USAGE = "usage: run_job.py <job> [key=value ...]   (jobs: generate, bronze, silver, gold, maintain, report, ...)"


def find_conf_dir(script_dir: str) -> str:
    env = os.environ.get("LAKEHOUSE_CONF_DIR")
    if env:
        if not os.path.isfile(os.path.join(env, "config.yaml")):
            raise SystemExit(f"run_job: LAKEHOUSE_CONF_DIR={env} has no config.yaml")
        return os.path.abspath(env)
    if os.path.isfile(os.path.join("conf", "config.yaml")):
        return os.path.abspath("conf")
    archive = os.path.join(script_dir, "conf.zip")
    if os.path.isfile(archive):
        target = tempfile.mkdtemp(prefix="lakehouse-conf-")
        atexit.register(shutil.rmtree, target, True)
        with zipfile.ZipFile(archive) as z:
            z.extractall(target)
        return target
    raise SystemExit("run_job: no Hydra config found: set LAKEHOUSE_CONF_DIR, or ship conf.zip with "
                     "--archives dist/conf.zip#conf (cluster deploy mode) or keep it next to run_job.py")


def submitted_master() -> str | None:
    """spark-submit's --master, when this driver was started by spark-submit (client mode)."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return SparkConf().get("spark.master", None)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or "=" in argv[0]:
        raise SystemExit(USAGE)
    job, overrides = argv[0], argv[1:]
    conf_dir = find_conf_dir(os.path.dirname(os.path.abspath(__file__)))
    master = submitted_master()
    if master and not any(o.lstrip("+~").startswith("spark_master=") for o in overrides):
        overrides.append(f"spark_master='{master}'")
    module = importlib.import_module(f"jobs.{job}")
    lakehouse = importlib.import_module("lakehouse")
    print(f"run_job: jobs.{job} (lakehouse from {os.path.dirname(lakehouse.__file__)}), config {conf_dir}, "
          f"overrides {overrides}", file=sys.stderr, flush=True)
    sys.argv = [f"jobs/{job}.py", f"--config-path={conf_dir}", *overrides]
    module.main()


if __name__ == "__main__":
    main()
