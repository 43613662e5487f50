# Two commands a newcomer needs: `make demo` and `make test`.
# Both set up (or refresh) the virtualenv .venv with the pinned stack first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# `make data`: where the generated street scenes go, and generator options
# (e.g. DATA_ARGS="--num-train 64 --num-val 64").
SYNTHETIC_CITYSCAPES_ROOT ?= data/synthetic_cityscapes
DATA_ARGS ?=

.PHONY: setup test demo data lint format clean-venv

# Creates/refreshes .venv: torch, mmcv (built with ops, wheel cached),
# mmengine, mmseg, cityscapesscripts, the package (editable); then checks it.
setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q

# OpenMMLab's checks (settings in setup.cfg): flake8, isort, yapf, codespell.
LINT_PATHS := mmseg_contrafusion tools tests configs setup.py
lint: setup
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-lint.txt
	$(VENV)/bin/flake8 $(LINT_PATHS)
	$(VENV)/bin/isort --check-only --diff $(LINT_PATHS)
	$(VENV)/bin/yapf --diff --recursive $(LINT_PATHS)
	$(VENV)/bin/codespell $(LINT_PATHS) README.md docs

# Rewrites the tree with isort and yapf (what `make lint` checks).
format: setup
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-lint.txt
	$(VENV)/bin/isort $(LINT_PATHS)
	$(VENV)/bin/yapf --in-place --recursive $(LINT_PATHS)

# Generates the Cityscapes-format street scenes and converts them with the
# real converter (labelTrainIds PNGs, train/val/test lists).
data: setup
	$(PY) tools/dataset_converters/make_synthetic_cityscapes.py $(SYNTHETIC_CITYSCAPES_ROOT) $(DATA_ARGS)
	$(PY) tools/dataset_converters/cityscapes.py $(SYNTHETIC_CITYSCAPES_ROOT) --nproc 2

# Trains and evaluates a tiny ContraFusionNet and its transformer-only
# ablation on generated Cityscapes-format data; results in work_dirs/demo/.
demo: setup
	@bash tools/demo.sh

clean-venv:
	rm -rf $(VENV)
