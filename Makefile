# Two commands a newcomer needs: `make demo` and `make test`.
# Both set up (or refresh) the virtualenv .venv with the pinned stack first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SYNTHETIC_ROOT ?= data/synthetic_cityscapes

.PHONY: setup test demo data clean-venv

# Creates/refreshes .venv: torch, mmcv (built with ops, wheel cached),
# mmengine, mmseg, cityscapesscripts, the package (editable); then checks it.
setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q

# The generated street scenes in Cityscapes layout, converted with the real
# converter (labelTrainIds + split lists).
data: setup
	@if [ ! -f $(SYNTHETIC_ROOT)/train.txt ]; then \
	  $(PY) tools/dataset_converters/make_synthetic_cityscapes.py $(SYNTHETIC_ROOT) && \
	  $(PY) tools/dataset_converters/cityscapes.py $(SYNTHETIC_ROOT) --nproc 2; \
	fi

demo: setup data
	@bash tools/demo.sh

clean-venv:
	rm -rf $(VENV)
