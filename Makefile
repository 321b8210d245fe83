# Verbs for humans and CI. `make demo` and `make test` set up everything they need themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARTIFACTS ?= artifacts
DATA := data/online_retail_ii_2009_2010.parquet
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo train serve test test-deps test-long system-deps lint bench-quality bench-serving bench-serving-cluster bench-scale bench-data bench-cachemiss bench-events bench-spark clean

$(BIN)/microoffers: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/microoffers

# The demo tunes briefly (TUNE_BUDGET seconds) so it serves within a few minutes of a clone.
TUNE_BUDGET ?= 20
train: install
	$(BIN)/microoffers train --purchases $(DATA) --format online-retail --out $(ARTIFACTS) --tune-budget $(TUNE_BUDGET)

demo: train
	@echo ""
	@echo "Micro-offers is starting on http://$(HOST):$(PORT) (embedded store; set REDIS_URL to use Redis). Try:"
	@echo "  curl 'http://$(HOST):$(PORT)/recommend/13085?k=5'"
	@echo "  curl 'http://$(HOST):$(PORT)/recommend/13085?k=5&include_purchased=true'"
	@echo "  curl 'http://$(HOST):$(PORT)/recommend/someone-new?k=5'    (unknown customer: popular items)"
	@echo "  curl 'http://$(HOST):$(PORT)/personal-store/12494?k=4'     (the customer's store page)"
	@echo "  curl 'http://$(HOST):$(PORT)/segments'                     (micro-segments for marketers)"
	@echo "  http://$(HOST):$(PORT)/docs                                 (interactive API docs)"
	@echo "  http://$(HOST):$(PORT)/preview    (marketers' preview: user marketer, password \$$MICROOFFERS_API_KEY)"
	@echo ""
	$(BIN)/microoffers serve --artifacts $(ARTIFACTS) --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/microoffers serve --artifacts $(ARTIFACTS) --host $(HOST) --port $(PORT)

# Servers the tests run for real: Debian's redis-server and chromium, installed when missing; Java 17
# for the Spark engine's tests.
system-deps:
	@command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || { \
		echo "installing redis-server (with redis-cli, which forms the test cluster) and chromium (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server chromium >/dev/null; }
	@command -v java >/dev/null 2>&1 || { echo "installing Java 17 for Spark (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

# The gate CI enforces before any test runs: lint, format and types over the code and the tests.
CODE := models training service cli tests benchmarks
lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy $(CODE)

# pyspark (the Spark engine, `train --engine spark`, and its tests) is for the tests only: the demo stays free of it.
# Java 17 is needed too (`java -version`).
test-deps: install
	@$(BIN)/python -c "import pyspark" 2>/dev/null || $(BIN)/pip install --quiet -e '.[dev,spark]'

test: install system-deps test-deps lint
	$(BIN)/python -m pytest

# The model-based end-to-end test (tests/e2e) alone, with a large profile: MBT_EXAMPLES examples of
# up to MBT_STEPS steps for each store, new random ones every run (`make test` runs the same 5 of up
# to 15 every time).
MBT_EXAMPLES ?= 200
MBT_STEPS ?= 30
test-long: install system-deps
	MICROOFFERS_MBT_EXPLORE=1 MICROOFFERS_MBT_EXAMPLES=$(MBT_EXAMPLES) MICROOFFERS_MBT_STEPS=$(MBT_STEPS) \
		$(BIN)/python -m pytest tests/e2e

# Selected models vs baselines on Online Retail II and MovieLens-100K (../shared/data/ml-100k);
# numbers go into docs/quality.md.
bench-quality: install
	$(BIN)/python benchmarks/quality.py


# Benchmarks (numbers and how to read them: docs/benchmarks.md). Scratch files go to $(BENCH_DIR);
# bench-scale generates the synthetic shop itself (the same file bench-data writes) when missing.
BENCH_DIR ?= .bench
BENCH_CUSTOMERS ?= 1000000
BENCH_ITEMS ?= 50000
BENCH_LINES ?= 10000000

bench-data: install
	$(BIN)/python -m benchmarks.synthetic --customers $(BENCH_CUSTOMERS) --items $(BENCH_ITEMS) \
		--lines $(BENCH_LINES) --workdir $(BENCH_DIR) --catalog $(BENCH_DIR)/synthetic_catalog.parquet

bench-scale: install system-deps
	$(BIN)/python -m benchmarks.scale --customers $(BENCH_CUSTOMERS) --items $(BENCH_ITEMS) \
		--lines $(BENCH_LINES) --workdir $(BENCH_DIR)

# Spark local[2] vs the single-machine engine (time, peak memory of driver and executors); docs/scaling.md.
SPARK_BENCH_CUSTOMERS ?= 100000
bench-spark: install test-deps
	$(BIN)/python -m benchmarks.spark_train --customers $(SPARK_BENCH_CUSTOMERS) --items 10000 \
		--lines $$(( $(SPARK_BENCH_CUSTOMERS) * 10 )) --workdir $(BENCH_DIR)

bench-cachemiss: install
	$(BIN)/python -m benchmarks.cache_miss --items $(BENCH_ITEMS)

bench-serving: install system-deps
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m benchmarks.serving --workdir $(BENCH_DIR) --warmup 40 \
		--path '/recommend/{customer}?k=10' --path '/personal-store/{customer}'

# Serving over a 3-primary Redis Cluster vs one Redis vs the floor, alternately in one run (docs/scaling.md).
bench-serving-cluster: train system-deps
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m benchmarks.serving_cluster --workdir $(BENCH_DIR) --artifacts $(ARTIFACTS) --rounds 2

# Event-to-effect latency and events/s over loopback (starts its own redis-server and uvicorn); writes docs/events.md.
bench-events: train
	$(BIN)/python benchmarks/events.py --artifacts $(ARTIFACTS)

clean:
	rm -rf $(VENV) $(ARTIFACTS) $(BENCH_DIR) .pytest_cache
