# gilbench: `make bench` and `make test` set themselves up on a machine with only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROFILE ?= default
RUN ?= results/latest
ARGS ?=
FAIL_ON ?= time:10%

.PHONY: bench test report compare clean help

help:
	@echo "make bench [PROFILE=quick|default|smoke] [ARGS='--workers 1,2']  run a benchmark, write its report"
	@echo "make test                                                         run the test suite"
	@echo "make report [RUN=results/latest]                                  rebuild a run's report"
	@echo "make compare BASE=results/a CAND=results/b [FAIL_ON=time:10%]     compare two runs, exit 1 on a regression"
	@echo "make clean                                                        remove .venv and results"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/gilbench run --profile $(PROFILE) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

report: $(STAMP)
	$(BIN)/gilbench report $(RUN)

compare: $(STAMP)
	@test -n "$(BASE)" -a -n "$(CAND)" || { echo "usage: make compare BASE=<run folder> CAND=<run folder>"; exit 2; }
	$(BIN)/gilbench compare $(BASE) $(CAND) --fail-on $(FAIL_ON) --html compare.html --markdown compare.md $(ARGS)

clean:
	rm -rf $(VENV) results *.egg-info .pytest_cache compare.html compare.md
