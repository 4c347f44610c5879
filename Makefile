# Two commands: `make run` (the whole stack, offline unless OPENAI_API_KEY is set) and `make test`.
SHELL := /bin/bash
-include .env
export

API_PORT ?= 8000
OFFLINE_OPENAI_PORT ?= 8089
REDIS_URL ?= redis://127.0.0.1:6379/0
WORKER_CONCURRENCY ?= 64
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint unit integration bench bench-ratios faults flower clean examples

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

run: install
	@command -v redis-server >/dev/null || { echo "redis-server is missing: install it with 'sudo apt-get install redis-server'."; exit 1; }
	@$(PY) -m ops.devstack

test: install lint
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --durations=25

# Every script in examples/ against a fresh offline stack (ops/examples.py): one line each.
examples: install
	@command -v redis-server >/dev/null || { echo "redis-server is missing: install it with 'sudo apt-get install redis-server'."; exit 1; }
	@$(PY) -m ops.examples

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared api worker offline_openai offline_weather client bench ops examples

# The benchmarks, each printing one table (an hour or so; never part of `make test`). With
# TEST_DATABASE_URL set, those with a --database option run on SQLite and on PostgreSQL.
bench: install
	@command -v wrk >/dev/null && command -v hey >/dev/null || { echo "wrk and hey are missing: install them with 'sudo apt-get install wrk hey'."; exit 1; }
	$(VENV)/bin/python -m bench.queued_listing
	$(VENV)/bin/python -m bench.fairness
	$(VENV)/bin/python -m bench.submit_throughput
	$(VENV)/bin/python -m bench.queue_overhead
	$(VENV)/bin/python -m bench.slow_upstream
	$(VENV)/bin/python -m bench.polling_cost
	$(VENV)/bin/python -m bench.expiry_sweep
	$(VENV)/bin/python -m bench.ratios

# The gateway against its floors in one run (at most 10 minutes): one table, its last line
# `ratios: N/M met`; fails unless every target is met.
bench-ratios: install
	@command -v wrk >/dev/null && command -v hey >/dev/null || { echo "wrk and hey are missing: install them with 'sudo apt-get install wrk hey'."; exit 1; }
	$(VENV)/bin/python -m bench.ratios

# The fault scenarios at full size (minutes), one table; FAULTS_DATABASE=postgresql with
# TEST_DATABASE_URL set runs them on PostgreSQL.
faults: install
	$(VENV)/bin/python -m tests.faults --database $(or $(FAULTS_DATABASE),sqlite)

# Celery's monitor on http://127.0.0.1:5555 (FLOWER_PORT), behind FLOWER_BASIC_AUTH=user:password.
flower: install
	$(PY) -m worker.flower

unit: install
	$(VENV)/bin/pytest -q tests/unit

clean:
	rm -rf $(VENV) .venv-compat data test-output

# The real third-party chain (issue 7): llama-cpp-python's server with Gemma 3 270M behind a
# LiteLLM proxy, from its own pinned environment .venv-compat/ (its first build compiles
# llama.cpp: minutes on 2 cores). Portable AVX2 build: the native one segfaults in ggml's AMX
# kernels on CPUs that report AMX. Not part of `make test`; see tests/compat/README.md.
COMPAT_VENV := .venv-compat
COMPAT_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_BLAS=OFF -DGGML_OPENMP=OFF -DGGML_NATIVE=OFF \
	-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(COMPAT_VENV)/.synced: tests/compat/requirements.txt | $(UV)
	@echo "Building $(COMPAT_VENV) (compiles llama.cpp: about 4-6 minutes on 2 cores)..."
	$(UV) venv --quiet --allow-existing --python 3.11 $(COMPAT_VENV)
	CMAKE_ARGS="$(COMPAT_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(UV) pip sync --quiet --python $(COMPAT_VENV)/bin/python tests/compat/requirements.txt
	touch $@

.PHONY: test-compat run-local-model
test-compat: install $(COMPAT_VENV)/.synced
	COMPAT_CHAIN=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/compat

run-local-model: install $(COMPAT_VENV)/.synced
	@command -v redis-server >/dev/null || { echo "redis-server is missing: install it with 'sudo apt-get install redis-server'."; exit 1; }
	@$(PY) -m tests.compat.run_local_model
