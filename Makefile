# Two commands do everything on a fresh machine:  `make run`  and  `make test`.
# Both set up what is missing first (venv + package, Debian packages, Go-built tools) and are fast
# when nothing changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    ?= runs
PARTS  ?= all
PYTEST_ARGS ?=

.PHONY: setup system venv tools crds npm run test test-fast lint notebooks bench doctor clean

setup: venv system tools

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "venv: installing the course package and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "venv: ready"

system:
	@bash scripts/setup_system.sh

tools: venv
	@if [ -x scripts/build_tools.sh ]; then bash scripts/build_tools.sh; else echo "tools: nothing to build yet"; fi
	@$(MAKE) --no-print-directory crds npm

npm: venv
	@# Part 3's checkout app (Node.js): its locked npm packages into the cache (checked against package-lock.json)
	@$(BIN)/course sandbox npm

crds: venv
	@# upstream's CRDs, read from the projects' Go modules (downloaded, not compiled) for the sandbox's API server
	@$(BIN)/course sandbox crds

# PARTS=all (default) or e.g. PARTS=7 or PARTS=2,5: `course run` first builds only the Go tools those parts need
run: venv system crds npm
	$(BIN)/course run $(if $(filter all,$(PARTS)),--all,--parts $(PARTS)) --target sandbox --out $(OUT)

test: setup
	$(BIN)/ruff check course_lib tests benchmarks
	$(BIN)/mypy
	@# nbval runs each notebook in its own folder, and notebooks write files (a git repository, a CSV ...):
	@# test copies in a temporary folder keep the checkout clean.
	@rm -rf .nbval && mkdir -p .nbval && cp notebooks/*.ipynb .nbval/
	$(BIN)/pytest tests course_lib .nbval --doctest-modules --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/pytest tests course_lib --doctest-modules -m "not integration and not notebooks" -q

lint: venv
	$(BIN)/ruff check course_lib tests benchmarks
	$(BIN)/ruff format --check course_lib tests benchmarks
	$(BIN)/mypy

notebooks: setup
	$(BIN)/course notebooks build

bench: setup
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

doctor: venv
	$(BIN)/course doctor

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
