# The two commands of the README:
#   make book            regenerate every figure and build the HTML book into _build/html  (make book QUICK=1: small run)
#   make test            run the tests (unit tests, plus one that executes every notebook with QUICK parameters)
#   make pdf             the book as one PDF, _build/latex/hierarchical-attention-dd.pdf, from the latest make book
# Both create .venv with the pinned dependencies (constraints.txt) on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
QUICK  ?= 0
JOBS   ?= 2
# SCHEDULER=tcp://host:8786 sends every training run of the sweeps to a dask.distributed cluster (see README)
SCHEDULER ?=
STAMP  := $(VENV)/.ddlib-installed

ifeq ($(QUICK),1)
BOOK_FLAGS := --quick
endif

.PHONY: book pdf test test-slow bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[book,test]'
	touch $(STAMP)

book: $(STAMP)
	DDLIB_SCHEDULER=$(SCHEDULER) $(PY) tools/build_book.py $(BOOK_FLAGS) --jobs $(JOBS)

# The whole book as one PDF (xelatex; Debian packages in the README), from the executed notebooks of the latest
# make book: it executes nothing.
pdf: $(STAMP)
	$(PY) tools/build_book.py --pdf

# One BLAS thread per process: the tests and the parallel notebooks share two cores, and threaded BLAS on small
# matrices oversubscribes them (measured 4x slower test runs).
test: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/run.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) benchmarks/bench_amg.py

test-slow: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -m "slow or not slow"

clean:
	rm -rf _build figures
