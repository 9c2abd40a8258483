#!/usr/bin/env bash
# Run test tiers: scripts/test.sh [unit|spark|e2e|cluster|all] [pytest args...]
# Starts a throwaway PostgreSQL (scripts/pg.sh) for the tiers that use it, and always stops it.
# All tiers of `all` run in one pytest process, so the Spark session and the shared pipeline are built
# once; the closing summary prints each tier's time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
tier="${1:-all}"; shift || true
case "$tier" in
  unit)    paths=(tests/unit) ;;
  spark)   paths=(tests/spark) ;;
  e2e)     paths=(tests/e2e) ;;
  cluster) paths=(tests/cluster) ;;
  all)     paths=(tests/unit tests/spark tests/e2e tests/cluster) ;;
  *) echo "test.sh: unknown tier '$tier' (unit, spark, e2e, cluster or all)" >&2; exit 2 ;;
esac
started=0
if [ "$tier" != unit ]; then
  if env_lines=$(scripts/pg.sh start); then eval "$env_lines"; started=1
  else echo "test: no PostgreSQL server available; its tests will be skipped" >&2; fi
fi
status=0
t0=$(date +%s)
"$PY" -m pytest -q "${paths[@]}" "$@" || status=$?
echo "test ($tier): $(( $(date +%s) - t0 )) s wall clock, exit $status"
[ "$started" = 1 ] && scripts/pg.sh stop
exit $status
