# Two commands matter: `make book` (install everything, execute every chapter, build the HTML book)
# and `make test` (the whole test suite; CI runs exactly this).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install book test clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml ci/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash ci/install.sh
	touch $@

book: $(INSTALLED)
	$(PY) -m deepenough build

test: $(INSTALLED)
	$(PY) -m pytest

clean:
	rm -rf _build
