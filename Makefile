# radiomix: the two commands are `make demo` and `make test`; both set themselves up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed

.PHONY: setup bytecode test test-all demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip -c $(CONSTRAINTS)
	$(PIP) install --quiet torch==2.13.0 -c $(CONSTRAINTS)
	$(PIP) install --quiet -e ".[all,dev]" -c $(CONSTRAINTS)
	touch $(STAMP)

# the bytecode of radiomix's own modules, as an installed package has it: an editable
# install writes none where PYTHONDONTWRITEBYTECODE is set, and then every process of a
# run (the run, its fork server and workers; each test's subprocess) compiles them again
# (about 0.1 s each)
bytecode: setup
	$(BIN)/python -m compileall -q src/radiomix

test: setup bytecode
	bash tests/report/ensure_chromium.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: setup bytecode
	bash tests/report/ensure_chromium.sh
	$(BIN)/python -m pytest -m "" $(PYTEST_ARGS)

demo: setup bytecode
	$(BIN)/radiomix demo

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build dist *.egg-info
