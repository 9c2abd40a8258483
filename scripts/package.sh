#!/usr/bin/env bash
# Build what spark-submit needs into dist/ (see README "Running on a cluster"):
#   dist/lakehouse-<version>-py3-none-any.whl   the project (lakehouse + jobs), for --py-files
#   dist/conf.zip                                the Hydra config (config.yaml at its top), for --archives
#   dist/run_job.py                              the entry script (lakehouse/ops/submit.py): <job> [key=value ...]
#   dist/spark-submit.txt                        the --packages coordinates and an example command
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${LAKEHOUSE_PYTHON:-$HERE/.venv/bin/python}"
DIST="${DIST:-$HERE/dist}"

rm -rf "$DIST"
mkdir -p "$DIST"
had_build=false; [ -d "$HERE/build" ] && had_build=true
"$PY" -m pip wheel -q --no-deps -w "$DIST" "$HERE" >&2
$had_build || rm -rf "$HERE/build"    # setuptools' in-tree build directory
"$PY" - "$HERE" "$DIST" <<'EOF_PY'
import os, sys, zipfile
here, dist = sys.argv[1], sys.argv[2]
conf = os.path.join(here, "conf")
with zipfile.ZipFile(os.path.join(dist, "conf.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for d, dirs, files in os.walk(conf):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                p = os.path.join(d, f)
                z.write(p, os.path.relpath(p, conf))
sys.path.insert(0, here)
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession
from lakehouse.session import JDBC_PACKAGES
# Exactly the Maven coordinates lakehouse.session.build_spark asks for (no Spark is started here).
builder = configure_spark_with_delta_pip(SparkSession.builder, extra_packages=list(JDBC_PACKAGES))
packages = builder._options["spark.jars.packages"].split(",")
wheel = next(f for f in os.listdir(dist) if f.endswith(".whl"))
with open(os.path.join(dist, "spark-submit.txt"), "w") as fh:
    fh.write("--packages " + ",".join(packages) + "\n\n")
    fh.write("spark-submit --master \"$SPARK_MASTER_URL\" --driver-memory 4g \\\n"
             f"  --packages {','.join(packages)} \\\n"
             f"  --py-files dist/{wheel} --archives dist/conf.zip#conf \\\n"
             "  dist/run_job.py bronze env=cluster\n")
EOF_PY
cp "$HERE/lakehouse/ops/submit.py" "$DIST/run_job.py"
ls -l "$DIST" >&2
