# Two commands a newcomer needs: `make demo` and `make test`.
# Both set up (or refresh) the virtualenv .venv with the pinned stack first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test demo clean-venv

# Creates/refreshes .venv: torch, mmcv (built with ops, wheel cached),
# mmengine, mmseg, cityscapesscripts, the package (editable); then checks it.
setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q

# Trains and evaluates a tiny ContraFusionNet and its transformer-only
# ablation on generated Cityscapes-format data; results in work_dirs/demo/.
demo: setup
	@bash tools/demo.sh

clean-venv:
	rm -rf $(VENV)
