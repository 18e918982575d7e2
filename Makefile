# Two commands for a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run token test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp is rebuilt whenever pyproject.toml changes, so a new dependency is installed once.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/contacts-mcp serve --http --host $(HOST) --port $(PORT)

# An API token for the local account, for HTTP clients of `make run` (printed once).
token: install
	$(BIN)/contacts-mcp token create --account local --scope write

test: install
	$(BIN)/python -m pytest -q

# The linter ships with the project's shared tools, beside (not inside) this repository.
LINT := ../shared/tools/mcp_lint.py
lint: install
	@if [ -f $(LINT) ]; then $(BIN)/python $(LINT); else \
	  echo "make lint: $(LINT) is not here (it comes with the project's shared tools, outside this repository): nothing to check"; fi

clean:
	rm -rf $(VENV) build dist *.egg-info
