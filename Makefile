# Every target bootstraps what it needs (idempotently), then acts.
#   make serve   set up, then serve the five-language site at http://127.0.0.1:8000 with live reload
#   make build   set up, then build the site into site/ with --strict
#   make test    set up (Python, npm, Chromium), build, then run the whole test suite, audits included
#   make test-fast  set up Python alone, then only the code's tests and doctests (no site, no browser)
#   make lint    ruff (lint and format) and mypy on the two packages and the tests; the translations' lint
#   make lock    re-resolve requirements/ci.txt after a change of the requirements
#   make audit   set up, build, then only the Lighthouse audits (one page at a time, nothing else running)
#   make bench   set up, then time every attention implementation, generation with and without the KV cache
#                (and with fewer key-value heads), and full against windowed attention,
#                into docs/benchmarks/cpu (BENCH_OPTS, BENCH_OUT)
#   make agreement  set up, then compare every example on CPU vs GPU and float32 vs float64 into docs/agreement (AGREEMENT_OPTS)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; this machine's pip takes it from local disk. Elsewhere, point it at
# PyTorch's CPU wheel index, e.g. TORCH_SPEC="torch --index-url <PyTorch CPU index>".
TORCH_SPEC ?= torch==2.13.0
export NO_MKDOCS_2_WARNING := 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_WORKERS ?= 2
# the exact versions (with hashes) of every Python package but torch and the two local projects: `make lock`
LOCK := requirements/ci.txt
# uv installs the lock and torch (in parallel, a minute faster than pip on a fresh clone); pip installs uv itself
UV := $(BIN)/uv pip
# a folder holding the CPU wheel of torch named in requirements/torch-cpu.txt, for the set-up and `make lock`
# (this project's machines keep it here)
TORCH_WHEELS ?= /opt/wheels
BENCH_OPTS ?= --device cpu --dtype float32
BENCH_OUT ?= docs/benchmarks/cpu
# empty: compare with default_device() (CUDA, else MPS, else the CPU alone); e.g. AGREEMENT_OPTS="--device cuda"
AGREEMENT_OPTS ?=

.PHONY: setup serve build test test-fast lint audit bench agreement lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (pinned with hashes), then the exact versions of everything but torch from the lock (hashes checked), then
# torch: the CPU wheel from TORCH_WHEELS when it lies there (uv unpacks it in seconds, pip takes about 20 s),
# else TORCH_SPEC as pip finds it; then the two local projects without their dependencies, so that nothing
# pulls a CUDA build of torch for the project's `torch>=2.5`
$(VENV)/.installed: pyproject.toml attn-site/pyproject.toml $(LOCK) requirements/uv.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/uv.txt
	$(UV) install --python $(BIN)/python --quiet --compile-bytecode --require-hashes -r $(LOCK)
	$(BIN)/python -c "import torch" 2>/dev/null \
	  || $(UV) install --python $(BIN)/python --quiet --no-deps --no-index --find-links $(TORCH_WHEELS) $(TORCH_SPEC) 2>/dev/null \
	  || $(BIN)/pip install --quiet $(TORCH_SPEC)
	$(UV) install --python $(BIN)/python --quiet --no-deps -e . -e ./attn-site
	touch $@

# re-resolve the lock after a change of the requirements in pyproject.toml or attn-site/pyproject.toml
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile requirements/uv.in --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements/uv.txt
	$(BIN)/uv pip compile requirements/ci.in --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --override requirements/torch-cpu.txt --find-links $(TORCH_WHEELS) \
	  --no-emit-package torch --no-emit-package attn-examples --no-emit-package attn-site -o $(LOCK)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

setup: $(VENV)/.installed node_modules/.package-lock.json

# the browser tests drive the headless shell; Lighthouse measures with the full browser
CHROMIUM := /usr/bin/chromium /usr/bin/chromium-headless-shell
$(CHROMIUM) &:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-headless-shell

serve: setup
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000 --livereload

build: setup
	$(BIN)/mkdocs build --strict --clean

# lint runs beside the build (each target's output kept together); Lighthouse times the pages it audits:
# it runs after the rest, alone, so that no test competes for the CPU
test: setup $(CHROMIUM)
	$(MAKE) --no-print-directory --jobs=2 --output-sync=target lint build
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not audit"
	$(BIN)/pytest -n 0 -m audit

lint: $(VENV)/.installed
	$(BIN)/ruff check --quiet
	$(BIN)/ruff format --check --quiet
	$(BIN)/mypy
	$(BIN)/python -m attn_site.translation_lint

# the reader's code alone: the doctests of src/ and tests/test_*.py; no site build, no browser
test-fast: $(VENV)/.installed
	$(BIN)/pytest -n $(PYTEST_WORKERS) src tests --ignore=tests/site_checks --ignore=tests/site_code --ignore=tests/browser

audit: setup $(CHROMIUM) build
	$(BIN)/pytest -n 0 -m audit

# both modes up to T=1024, then the forward pass alone at T=2048 (its backward takes minutes a call on a
# 2-core CPU), merged into one set of tables (the site draws their chart in each language: attn_site.figures);
# see python -m attn_examples bench -h
bench: setup
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --tokens 32 256 512 1024 --repeats 5 --out .cache/bench/short
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --tokens 2048 --modes forward --repeats 3 --out .cache/bench/long
	$(BIN)/python -m attn_examples bench --from-jsonl .cache/bench/short/results.jsonl .cache/bench/long/results.jsonl --out $(BENCH_OUT) --no-plot
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --decode 8 32 128 512 --repeats 5 --out $(BENCH_OUT)
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --decode 64 256 --kv-groups 4 2 1 --repeats 3 --out $(BENCH_OUT)
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --window 256 --tokens 512 1024 2048 4096 8192 --batch 1 --heads 8 --head-dim 64 --repeats 3 --out $(BENCH_OUT)
	$(BIN)/python -m attn_examples bench $(BENCH_OPTS) --ranks 1 2 4 --tokens 1024 4096 --batch 1 --heads 8 --head-dim 64 --repeats 3 --out $(BENCH_OUT)

# every worked example on the CPU in float32 and float64 and on the device; see python -m attn_examples agreement -h
agreement: setup
	$(BIN)/python -m attn_examples agreement $(AGREEMENT_OPTS) --out docs/agreement

clean:
	rm -rf site $(VENV) node_modules .cache test-results
