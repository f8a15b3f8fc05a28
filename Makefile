# gilbench: `make bench`, `make test` and `make check` set themselves up on a machine with only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROFILE ?= default
RUN ?= results/latest
ARGS ?=
FAIL_ON ?= time:10%
# Bytecode caches are written (into __pycache__/, ignored by git) whatever PYTHONDONTWRITEBYTECODE says:
# a run and the suite start hundreds of interpreters that import the same modules, and without the caches
# each compiles them again (and pytest rewrites every test module's asserts again in each of its processes):
# `make check` took 62 s with the variable set, 56 s without (docs/results.md, "The test suite").
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist workers for the tests that may run side by side (the `serial` ones always run alone, after):
# one more than this machine's 2 CPUs, because many of those tests wait on the processes they start
# (docs/results.md, "The test suite")
JOBS ?= 3

.PHONY: bench test check report compare clean help

help:
	@echo "make bench [PROFILE=quick|default|smoke] [ARGS='--workers 1,2']  run a benchmark, write its report"
	@echo "make test [JOBS=2] [ARGS=...]                                     run the whole test suite (what CI runs)"
	@echo "make check [JOBS=2] [ARGS=...]                                    the fast tier: every test not marked slow"
	@echo "make report [RUN=results/latest]                                  rebuild a run's report"
	@echo "make compare BASE=results/a CAND=results/b [FAIL_ON=time:10%]     compare two runs, exit 1 on a regression"
	@echo "make clean                                                        remove .venv and results"

# The environment. Where python3 has pip 22.3 or later, that pip puts the newest pip into an environment made
# without ensurepip (with the install below: 7.6 s, against 11.6 s with ensurepip's older pip); else, or
# when that fails (no index to fetch pip from), ensurepip's.
PIP_OK = import sys, pip; sys.exit(tuple(int(p) for p in pip.__version__.split(".")[:2]) < (22, 3))
$(BIN)/python:
	if $(PYTHON) -c '$(PIP_OK)' 2>/dev/null && $(PYTHON) -m venv --without-pip $(VENV) \
		&& $(PYTHON) -m pip --python $(BIN)/python install --quiet --quiet --disable-pip-version-check --no-compile pip; \
	then :; else rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi

# Reinstall only when pyproject.toml changes (--quiet twice: errors only, not the build backend's notes).
# pip compiles what it installs on one CPU (10 of 23 s here);
# compileall does the same on every CPU (a file it cannot compile is left to be compiled on import, as pip
# leaves it), so that no later interpreter compiles pandas or matplotlib again. What nothing here imports
# is left out (the libraries' own test suites, pip and setuptools): 3.5 s instead of 7.9 s.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check --no-compile -e '.[test]'
	$(BIN)/python -m compileall -q -j 0 -x '/(tests?|testing)/|/site-packages/(pip|setuptools|pkg_resources)/' $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') > /dev/null || true
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/gilbench run --profile $(PROFILE) $(ARGS)

# Two passes: the tests that may share the machine in JOBS parallel workers, then the `serial` ones
# (they time things or fill the CPUs) one at a time; both always run, and either failing fails the target.
# Exit status 5 (no test selected, e.g. ARGS='-k name') is not a failure. What the tests make once (the
# shared smoke run, the installed wheel) is made once for both passes, in GILBENCH_TEST_SHARED.
PYTEST_PARALLEL = $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=8
PYTEST_SERIAL = $(BIN)/python -m pytest --durations=5
# The serial pass collects only the files that mark a test `serial` (3 s less than collecting the whole suite
# to keep 14 tests), unless ARGS names test paths itself.
SERIAL_FILES = $(if $(filter tests/%,$(ARGS)),,$(shell grep -l 'mark\.serial' tests/test_*.py))
define pytest_two_passes
	@status=0; shared=$$(mktemp -d); trap 'rm -rf "$$shared"' EXIT; export GILBENCH_TEST_SHARED=$$shared; \
	echo "$(PYTEST_PARALLEL) -m '$(1)' $(ARGS)"; \
	$(PYTEST_PARALLEL) -m "$(1)" $(ARGS); rc=$$?; [ $$rc -eq 0 -o $$rc -eq 5 ] || status=$$rc; \
	echo "$(PYTEST_SERIAL) -m '$(2)' $(ARGS) <the files with serial tests>"; \
	$(PYTEST_SERIAL) -m "$(2)" $(ARGS) $(SERIAL_FILES); rc=$$?; [ $$rc -eq 0 -o $$rc -eq 5 ] || status=$$rc; \
	exit $$status
endef

test: $(STAMP)
	$(call pytest_two_passes,not serial,serial)

check: $(STAMP)
	$(call pytest_two_passes,not slow and not serial,serial and not slow)

report: $(STAMP)
	$(BIN)/gilbench report $(RUN)

compare: $(STAMP)
	@test -n "$(BASE)" -a -n "$(CAND)" || { echo "usage: make compare BASE=<run folder> CAND=<run folder>"; exit 2; }
	$(BIN)/gilbench compare $(BASE) $(CAND) --fail-on $(FAIL_ON) --html compare.html --markdown compare.md $(ARGS)

clean:
	rm -rf $(VENV) results *.egg-info .pytest_cache compare.html compare.md
