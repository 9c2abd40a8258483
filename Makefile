# Consolidation lakehouse. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Common knobs, passed through to every job as Hydra overrides.
SCALE  ?=
SEED   ?=
ENV    ?=
BATCH  ?=
ONLY   ?=
ARGS   ?=
# Benchmarks: default scale 0.01 (silver and gold rates are only meaningful from there), curve scales.
BENCH_SCALE = $(if $(SCALE),scale=$(SCALE),scale=0.01)
SCALES ?= 0.001 0.01 0.1
comma  := ,
space  := $(subst ,, )
OVERRIDES := $(if $(SCALE),scale=$(SCALE)) $(if $(SEED),seed=$(SEED)) $(if $(ENV),env=$(ENV)) \
             $(if $(BATCH),batch=$(BATCH)) $(if $(ONLY),only=[$(ONLY)]) $(ARGS)

.PHONY: help setup check-java test test-fast test-unit test-spark test-e2e test-cluster run generate bronze bench-generate bench-bronze bench-silver bench-gold bench bench-curve clean
.PHONY: maintain report package cluster-up cluster-down silver gold evaluate train score notebooks erase mlflow-ui

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
	@echo "  knobs: SCALE=0.002 SEED=42 ENV=local|cluster BATCH=0 ONLY=src1,src2 ARGS='key=value ...'"

check-java: ## Fail clearly unless Java 17 or newer is installed
	@command -v java >/dev/null || { echo "error: Java 17+ is required (java not found on PATH)" >&2; exit 1; }
	@v=$$(java -version 2>&1 | awk -F'"' '/version/ {print $$2}' | cut -d. -f1); \
	 if [ -z "$$v" ] || [ "$$v" -lt 17 ]; then echo "error: Java 17+ is required, found '$$v'" >&2; exit 1; fi

setup: check-java ## Create .venv and install the project with its test tools
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@echo "setup: ok ($$($(PY) -c 'import pyspark, delta; print("pyspark", pyspark.__version__)'))"

generate: ## Generate the 16 dirty sources + truth (SCALE, SEED, BATCH, ONLY)
	$(PY) -m jobs.generate $(OVERRIDES)

bronze: ## Ingest landing (files + database) into bronze Delta tables
	$(PY) -m jobs.bronze $(OVERRIDES)

silver: ## Standardise, validate, dedupe and merge bronze batches into silver (with history)
	$(PY) -m jobs.silver $(OVERRIDES)

gold: ## Resolve citizens and enterprises; golden records, aggregates, insights, scorecard
	$(PY) -m jobs.gold $(OVERRIDES)

evaluate: ## Compare the resolution with the generator's truth -> ops/er_evaluation
	$(PY) -m jobs.evaluate $(OVERRIDES)

train: ## Train the models on gold (Dask + XGBoost), track and register them in MLflow
	$(PY) -m jobs.train $(OVERRIDES)

score: ## Batch-score with the champion models into gold/<model>_scores
	$(PY) -m jobs.score $(OVERRIDES)

notebooks: ## Execute the notebooks headless (outputs to <root>/ops/notebooks; ROOT=<data root>)
	scripts/run_notebooks.sh $(if $(ROOT),--root $(ROOT)) $(foreach o,$(OVERRIDES),-o '$(o)')

erase: ## Right to erasure: identifiers from stdin (make erase < request.txt) or FILE=path, never argv
	$(PY) -m lakehouse.security.erase $(if $(FILE),--file $(FILE)) $(OVERRIDES)

mlflow-ui: ## Browse MLflow runs and the model registry
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath data/ops/mlflow/mlflow.db)

run: ## The whole pipeline (generate ... score) in one process and one Spark session, at the default small scale
	$(PY) -m jobs.run $(OVERRIDES)

maintain: ## OPTIMIZE (Z-order on lookup keys), VACUUM and statistics for every Delta table (conf/ops)
	$(PY) -m jobs.maintain $(OVERRIDES)

report: ## Offline HTML ops report (inline SVG) from the ops tables -> <root>/ops/report/index.html
	$(PY) -m jobs.report $(OVERRIDES)

test: ## Every test tier (unit, spark, e2e, cluster) in one run, each tier's time printed (<= 30 min)
	scripts/test.sh all $(PYTEST_ARGS)

test-fast: ## The unit tier only: no JVM, about a minute
	scripts/test.sh unit $(PYTEST_ARGS)

test-unit: ## Tier 1: pure functions and the Python oracles, no JVM (same as test-fast)
	scripts/test.sh unit $(PYTEST_ARGS)

test-spark: ## Tier 2: transforms on small in-memory frames and Delta, one shared Spark session
	scripts/test.sh spark $(PYTEST_ARGS)

test-e2e: ## Tier 3: checks on one shared tiny pipeline run (make run's job entry points)
	scripts/test.sh e2e $(PYTEST_ARGS)

test-cluster: ## Tier 4: the pipeline on a loopback Spark standalone + Dask cluster equals the local run
	scripts/test.sh cluster $(PYTEST_ARGS)

bench-generate: ## Benchmark the generator alone: records/s, peak memory, disk to JSON + chart (SCALE>=0.01)
	$(PY) -m jobs.bench stage=generate $(BENCH_SCALE) $(filter-out scale=%,$(OVERRIDES))

bench-bronze: ## Benchmark bronze alone (landing generated first, untimed, when absent) (SCALE>=0.01)
	$(PY) -m jobs.bench stage=bronze $(BENCH_SCALE) $(filter-out scale=%,$(OVERRIDES))

bench-silver: ## Benchmark silver alone: bronze rows/s (earlier stages run untimed when absent) (SCALE>=0.01)
	$(PY) -m jobs.bench stage=silver $(BENCH_SCALE) $(filter-out scale=%,$(OVERRIDES))

bench-gold: ## Benchmark gold alone: silver source records/s (earlier stages run untimed when absent)
	$(PY) -m jobs.bench stage=gold $(BENCH_SCALE) $(filter-out scale=%,$(OVERRIDES))

bench: ## generate->bronze->silver->gold->models at SCALE (0.01): rows/s, memory, disk, DuckDB ratio; JSON+chart
	$(PY) -m jobs.bench stage=all $(BENCH_SCALE) $(filter-out scale=%,$(OVERRIDES))

bench-curve: ## `bench` at each of SCALES (0.001 0.01 0.1), or from saved RESULTS='glob'; curve JSON, chart, growth exponents
	$(PY) -m jobs.bench stage=curve 'bench.scales=[$(subst $(space),$(comma),$(strip $(SCALES)))]' \
	  $(if $(RESULTS),"bench.from_results='$(RESULTS)'") $(filter-out scale=%,$(OVERRIDES))

.PHONY: bench-smoke bench-udf
bench-smoke: ## `bench` at scale 0.0002 on two sources in a temp dir, then checks of its results (exit 1 on failure)
	$(PY) -m benchmarks.smoke $(OVERRIDES)

bench-udf: ## Native standardisers vs the same rules as Python UDFs (ROWS=200000 REPEATS=3 RULES=name,date)
	$(PY) -m benchmarks.udf_baseline $(or $(ROWS),200000) $(or $(REPEATS),3) $(RULES)

package: ## Build dist/: project wheel, conf.zip and run_job.py for spark-submit
	scripts/package.sh

cluster-up: ## Start Spark master+worker and Dask scheduler+worker on loopback; prints the exports to eval
	@scripts/cluster.sh start

cluster-down: ## Stop the loopback cluster started by cluster-up
	@scripts/cluster.sh stop

clean: ## Remove generated data (data/) and caches
	rm -rf data spark-warehouse metastore_db derby.log .pytest_cache
