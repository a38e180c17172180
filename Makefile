# The two quickstart commands are `make up` and `make test`; everything else is a convenience.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2

.PHONY: up test test-fast lint demo bench chaos venv clean

venv: $(STAMP)

# The wheel ships app/ and workers/ inside caviar/ (setup.py); in the source tree they stay top-level
# folders, which caviar-source-tree.pth puts on the venv's path for the tests, bench/ and `python -m app.cli`.
# flock: `make up` and `make test` started together build the venv once, the second waiting for the first.
$(STAMP): pyproject.toml setup.py
	@flock $(VENV).lock sh -c '\
	  if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ] || [ setup.py -nt $(STAMP) ]; then \
	    $(PYTHON) -m venv $(VENV) && \
	    $(BIN)/python -m pip install --quiet --upgrade pip && \
	    $(BIN)/python -m pip install --quiet -e ".[dev]" && \
	    $(BIN)/python -c "import site, sys; open(site.getsitepackages()[0] + \"/caviar-source-tree.pth\", \"w\").write(sys.argv[1] + \"\\n\")" "$(CURDIR)" && \
	    touch $(STAMP); \
	  fi'


## Set up and run the whole stack (API :8000, embedded Redis and SQLite unless REDIS_URL/DATABASE_URL are set).
up: venv
	$(BIN)/caviar up

## Set up and run the test suite (ruff and mypy included).
test: venv
	$(BIN)/ruff check caviar app workers tests bench migrations setup.py
	$(BIN)/mypy caviar app workers
	$(BIN)/pytest $(PYTEST_ARGS)

## The suite without the slow end-to-end and chaos tests.
test-fast: venv
	$(BIN)/pytest -m 'not slow' $(PYTEST_ARGS)

## The chaos test RUNS times per backend (random kills and freezes of workers, API, embedded Redis;
## on PostgreSQL, restarts of a private cluster the test starts).
RUNS ?= 100
chaos: venv
	CAVIAR_CHAOS_RUNS=$(RUNS) $(BIN)/pytest tests/e2e/test_chaos.py -p no:randomly $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check caviar app workers tests bench migrations setup.py
	$(BIN)/ruff format --check caviar app workers tests bench migrations setup.py
	$(BIN)/mypy caviar app workers

## Start the stack, submit examples/digits-random.json, wait, print the best configurations.
demo: venv
	$(BIN)/caviar demo examples/digits-random.json

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/trainer.py
	$(BIN)/python bench/search_quality.py
	$(BIN)/python bench/population_training.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/dispatch_gap.py
	$(BIN)/python bench/poll_latency.py
	$(BIN)/python bench/poll_latency.py --backend postgresql
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/checkpoint_cost.py
	$(BIN)/python bench/large_search_reads.py

clean:
	rm -rf $(VENV) .caviar
