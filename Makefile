# The two commands of the README: `make book` and `make test`. Everything else is a helper.
#   make book SCALE=smoke|book|paper DEVICE=auto|cpu|cuda SEED=0 JOBS=<cores>  (chapters run at once)
#   make test
#   make install TORCH=cuda     (a CUDA build of torch from PyPI instead of the pinned CPU wheel)
#   make bench                  (benchmarks/run.py and parts_ch2.py; the PyPI peers go into a separate .venv-bench)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BENCH_VENV ?= .venv-bench
SCALE ?= book
DEVICE ?= auto
SEED ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
TORCH ?= cpu
TORCH_VERSION := 2.13.0
BIN := $(VENV)/bin

ifeq ($(TORCH),cuda)
TORCH_INSTALL := PIP_FIND_LINKS= $(BIN)/pip install -q torch==$(TORCH_VERSION)
else ifeq ($(TORCH),cpu)
TORCH_INSTALL := $(BIN)/pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
else
$(error unknown TORCH '$(TORCH)'; choose one of: cpu, cuda)
endif

.PHONY: install book test bench bench-env clean

$(VENV)/.installed: pyproject.toml requirements-book.txt
	@echo "== creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(TORCH_INSTALL)
	$(BIN)/pip install -q -r requirements-book.txt -e ".[book,test,cluster]"
	@touch $@

install: $(VENV)/.installed

book: install
	$(BIN)/gancompanion book --scale $(SCALE) --device $(DEVICE) --seed $(SEED) --jobs $(JOBS)

test: install
	GANCOMPANION_PROGRESS=0 $(BIN)/gancompanion run --scale smoke --device cpu --jobs $(JOBS)
	GANCOMPANION_PROGRESS=0 $(BIN)/python -m pytest tests \
		$$(ls _build/executed/smoke/[0-9]*.ipynb | grep -v '\.failed\.ipynb$$') \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -q

# The peers (torchgan, vegans, torch-mimicry) are benchmark subjects, never dependencies of the package:
# they live in their own environment, with the same torch, installed as benchmarks/requirements-peers.txt says.
$(BENCH_VENV)/.installed: benchmarks/requirements-peers.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(subst $(BIN)/,$(BENCH_VENV)/bin/,$(TORCH_INSTALL))
	$(BENCH_VENV)/bin/pip install -q -r benchmarks/requirements-peers.txt
	$(BENCH_VENV)/bin/pip install -q --no-deps torchgan==0.1.0 vegans==0.4.0 torch-mimicry==0.1.16
	@touch $@

bench-env: $(BENCH_VENV)/.installed

bench: install bench-env
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/parts_ch2.py --out benchmarks/results/parts_ch2-book.json
	$(BIN)/python benchmarks/parts_ch2.py --scale paper --block 10 --rounds 5 --out benchmarks/results/parts_ch2-paper.json

clean:
	rm -rf _build book/chapters book/_generated
