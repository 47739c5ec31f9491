# Two commands for a new machine: `make run` (demo on http://127.0.0.1:5000) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := APP_ENV=development

.PHONY: run test lint bench clean-demo

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(DEV_ENV) $(BIN)/flask --app app demo-setup
	$(DEV_ENV) $(BIN)/flask --app app run --host 127.0.0.1 --port 5000

test: $(VENV)/.installed
	eval "$$($(BIN)/python tests/detect_services.py)" && $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.installed
	$(BIN)/python bench/seed_city.py --db both
	$(BIN)/python bench/subtree_queries.py

clean-demo:
	rm -rf instance/party.db* instance/storage instance/demo-accounts.json
