# Thin wrappers over the project's Python CLIs; each works without make too (see README).
PY        ?= .venv/bin/python
VEHICLES  ?= 3
SEED      ?= 42
RATE      ?= 50
COUNT     ?=
DURATION  ?=
SPEEDUP   ?=
END       ?=
WORKERS   ?=
MASTER    ?=
ORIGIN    ?= london
DESTINATION ?= birmingham
PYTEST_ARGS ?=
# `make query SQL="..."`: the SQL reaches the program through the environment, exactly as typed; neither
# make (no expansion: $(value SQL)) nor the shell (never on a command line) reads its quotes or $(...).
unexport SQL
ifneq ($(value SQL),)
export TELEMETRY_QUERY_SQL := $(value SQL)
endif
# Where `make catalog` applies the Glue tables: the local stack's moto by default, `aws` for real AWS.
CATALOG_ENDPOINT ?= http://127.0.0.1:5000

.PHONY: help setup up down status clean demo produce stream show schema-lint schema-check schema-register \
        schema-status schema-check-offline catalog catalog-render catalog-plan query snapshots dashboard test test-unit test-integration \
        test-faults lint bench

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

setup: ## create .venv and resolve the JVM artifacts (fast when nothing changed)
	@python3 -m stack.setup

up: setup ## start Kafka (3 KRaft nodes), Apicurio Registry and moto on 127.0.0.1
	@$(PY) -m stack up

down: ## stop the processes `make up` and `make dashboard` started (data kept)
	@if [ -x $(PY) ]; then $(PY) -m dashboards down; $(PY) -m stack down; fi

status: ## per service: up or down, with its address (Superset too)
	@$(PY) -m stack status; code=$$?; $(PY) -m dashboards status || true; exit $$code

clean: ## stop the stack and Superset, and remove their data, the lake and the checkpoints
	@if [ -x $(PY) ]; then $(PY) -m dashboards down; $(PY) -m stack clean; fi
	rm -rf .local build

demo: setup ## everything end to end on the local stack: register, produce, stream, catalog, query
	@$(PY) -m stack.demo

schema-lint: setup ## lint every schema in schemas/
	@$(PY) -m governance lint

schema-check: setup ## lint, then check every schema against the registry's versions
	@$(PY) -m governance lint
	@$(PY) -m governance check

schema-check-offline: setup ## lint, then check against the schema files in git history (AGAINST=HEAD)
	@$(PY) -m governance lint
	@$(PY) -m governance check --against $(or $(AGAINST),HEAD)

schema-register: setup ## lint, set each subject's compatibility level, then register the schemas
	@$(PY) -m governance lint
	@$(PY) -m governance register

schema-status: setup ## which subjects are in sync, changed locally, or missing
	@$(PY) -m governance status

produce: up ## drive the simulated fleet and produce its five streams
	@$(PY) -m producer --vehicles $(VEHICLES) --seed $(SEED) --origin $(ORIGIN) --destination $(DESTINATION) \
		--rate $(RATE) $(if $(COUNT),--count $(COUNT),) $(if $(DURATION),--duration $(DURATION),) \
		$(if $(SPEEDUP),--speedup $(SPEEDUP),) $(if $(WORKERS),--workers $(WORKERS),) \
		$(if $(END),--end "$(END)",)

stream: up ## Spark Structured Streaming from Kafka into the lake (Ctrl-C stops; MASTER=spark://host:7077 for a cluster)
	@$(PY) -m streaming run $(if $(MASTER),--master $(MASTER),)

show: setup ## rows per table in the lake, and a few rows
	@$(PY) -m streaming show

maintain: setup ## one pass of table maintenance: small files rewritten, snapshots expired, orphans removed (the job also runs it every 10 min)
	@$(PY) -m streaming maintain $(if $(TABLES),--tables $(TABLES),)

import-parquet: setup ## import a lake written by a release before the Iceberg tables, once
	@$(PY) -m streaming import-parquet

catalog: setup ## render the Glue tables, Athena and Redshift SQL and IAM policies, then apply them (CATALOG_ENDPOINT=aws for real AWS)
	@$(PY) -m glue render
ifeq ($(CATALOG_ENDPOINT),aws)
	@$(PY) -m glue apply
else
	@AWS_ENDPOINT_URL=$(CATALOG_ENDPOINT) AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} \
		AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} AWS_REGION=$${AWS_REGION:-us-east-1} $(PY) -m glue apply
endif

query: setup ## the named queries on the lake with DuckDB (NAME=last-position for one, SQL="select ..." for your own; SNAPSHOT=id or AS_OF="2025-06-01 08:30" to time-travel)
	@$(PY) -m lakesql query $(if $(NAME),--name $(NAME),) $(if $(value SQL),--sql-from-env,) \
		$(if $(SNAPSHOT),--snapshot '$(SNAPSHOT)',) $(if $(AS_OF),--as-of '$(AS_OF)',)

snapshots: setup ## a table's snapshots, which query SNAPSHOT= and AS_OF= can read (TABLE=vehicle)
	@$(PY) -m lakesql snapshots $(or $(TABLE),vehicle)

dashboard: setup ## Apache Superset on 127.0.0.1:8088 with the dashboards of the lake (first run installs it)
	@$(PY) -m dashboards up

test: setup ## every test: unit, integration and the faults suite (starts the local stack if needed, stops what it started)
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	@$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-faults: setup ## the faults suite: brokers, registry, S3 and the driver killed under traffic; 0 lost, 0 duplicated
	@$(PY) -m pytest tests/faults -m faults $(PYTEST_ARGS)

lint: setup ## ruff, mypy, and the scan that keeps keys, certificates and passwords out of git
	@python3 .ci/scan_secrets.py
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy

bench: up ## every benchmark: producer, streaming, data rules, latency, dashboards; figures (with the commit) to docs/benchmarks.md
	@$(PY) bench/produce_bench.py
	@$(PY) bench/stream_bench.py
	@$(PY) bench/rules_bench.py
	@$(PY) bench/latency_bench.py
	@$(PY) bench/dashboard_bench.py
