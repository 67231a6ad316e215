# Two commands matter: `make book` (install everything, execute every chapter, build the HTML book)
# and `make test` (the whole test suite; CI runs exactly this).
# While working: `make unit` (the suite without the chapter executions and the book build, under a
# minute), `make lint` (ruff and the book's own rules), `make lock` (regenerate requirements.txt).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# requirements.txt is generated from pyproject.toml's dependencies and its `book` and `test` extras.
# pip-compile keeps the pins already in requirements.txt; `make lock LOCK_ARGS=--upgrade` moves every
# pin to the newest release its bounds allow (`LOCK_ARGS="--upgrade-package numpy"` for one package).
PIP_TOOLS := pip-tools==7.6.2
LOCK_COMMAND := pip-compile --extra=book --extra=test --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links --no-emit-trusted-host --output-file=requirements.txt pyproject.toml
LOCK_ARGS ?=

.PHONY: install book test unit lint lock clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml ci/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash ci/install.sh
	touch $@

book: $(INSTALLED)
	$(PY) -m deepenough build

test: $(INSTALLED)
	$(PY) -m pytest

unit: $(INSTALLED)
	$(PY) -m pytest -m "not book and not slow"

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(PY) -m deepenough lint

# The lock is resolved where pip finds torch's CPU wheel (this project's machines, or with
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu), so no CUDA packages enter it; the wheel's
# local label (+cpu) is then dropped, so that the pin torch==2.13.0 also matches the CPU wheels that
# carry no label (macOS). setuptools is pinned too (--allow-unsafe): ci/install.sh installs the package
# without build isolation.
lock:
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock   # = $(LOCK_COMMAND), then torch's +cpu label dropped" \
		$(VENV)/bin/$(LOCK_COMMAND) $(LOCK_ARGS)
	sed -i -e 's/^torch==\([^+]*\)+cpu$$/torch==\1/' requirements.txt
	! grep -iqE '^(nvidia-|triton|cuda)' requirements.txt || { echo "error: the lock pulls CUDA packages" >&2; exit 1; }

clean:
	rm -rf _build
