#!/usr/bin/env bash
# Creates or refreshes the project virtualenv and installs the pinned stack.
#
# Idempotent: every step checks what is already there. The mmcv wheel (with its
# compiled ops) is built once and cached in $WHEEL_CACHE, so a second setup
# takes seconds. Fails loudly, naming the step, if anything is wrong.
#
# Environment:
#   VENV         virtualenv folder (default: .venv)
#   PYTHON       interpreter used to create it (default: python3.11, else python3)
#   WHEEL_CACHE  where built wheels are kept (default: ~/.cache/mmseg_contrafusion/wheels)
#   MAX_JOBS     parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/mmseg_contrafusion/wheels}
export MAX_JOBS=${MAX_JOBS:-$(nproc)}

TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMSEG_VERSION=1.2.2
CITYSCAPESSCRIPTS_VERSION=2.3.0

step() { printf '\n[setup] %s\n' "$*"; }
die() { printf '\n[setup] FAILED: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtualenv $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || die "could not create $VENV with $PYTHON (is python3-venv installed?)"
fi
PY="$VENV/bin/python"
# Every pip call honours constraints.txt (setuptools<80, pip<25), even when a
# dependency such as torch asks for a newer setuptools.
export PIP_CONSTRAINT="$PWD/constraints.txt"
PIP=("$PY" -m pip install --disable-pip-version-check -q)
have() { "$PY" - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
name, want = sys.argv[1], sys.argv[2]
try:
    got = version(name)
except PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if want in ('', got) or got.startswith(want + '+') else 1)
PY
}

# setuptools<80 and pip<25 (constraints.txt): mmcv's setup.py, mmengine's
# `mmseg::` base lookup and mim import pkg_resources (gone in setuptools 82),
# and `pip install -e .` must run `setup.py develop` so that mim finds the
# package's .mim folder (see the last step).
below() { "$PY" - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
major = int(version(sys.argv[1]).split('.')[0])
sys.exit(0 if major < int(sys.argv[2]) else 1)
PY
}
if ! below pip 25; then
  step "pip<25"
  "${PIP[@]}" "pip<25" || die "pip could not install pip<25"
fi
if ! below setuptools 80 || ! "$PY" -c 'import pkg_resources' 2>/dev/null; then
  step "build tools (setuptools<80, wheel, ninja)"
  "${PIP[@]}" "setuptools<80" wheel ninja psutil || die "pip could not install build tools"
fi
have ninja "" || "${PIP[@]}" ninja psutil wheel

if ! have torch "$TORCH_VERSION"; then
  step "torch==$TORCH_VERSION"
  "${PIP[@]}" "torch==$TORCH_VERSION" || die "pip could not install torch==$TORCH_VERSION"
fi

# Headless OpenCV first, so neither mmcv nor mmengine pulls the GUI build.
have opencv-python-headless "" || "${PIP[@]}" opencv-python-headless \
  || die "pip could not install opencv-python-headless"

# mmcv 2.1.0 is an sdist on PyPI; build it against the installed torch, with ops.
CUDA_TAG=cpu
if command -v nvcc >/dev/null 2>&1 && "$PY" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  CUDA_TAG=$("$PY" -c 'import torch; print("cu" + torch.version.cuda.replace(".", ""))')
  export FORCE_CUDA=1
fi
TORCH_TAG=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
CACHE_DIR="$WHEEL_CACHE/torch$TORCH_TAG-$CUDA_TAG"
if ! have mmcv "$MMCV_VERSION" || ! "$PY" -c 'import mmcv.ops' 2>/dev/null; then
  mkdir -p "$CACHE_DIR"
  if ! ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    step "building mmcv==$MMCV_VERSION with compiled ops ($CUDA_TAG, $MAX_JOBS jobs; about 12 minutes on 2 cores, once)"
    "${PIP[@]}" addict mmengine=="$MMENGINE_VERSION" packaging Pillow pyyaml yapf || die "pip could not install mmcv's dependencies"
    # --no-build-isolation: otherwise pip builds in an env without torch and
    # mmcv silently skips its ops. MMCV_WITH_OPS=1 asks for them explicitly.
    MMCV_WITH_OPS=1 "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps \
      --no-binary mmcv -w "$CACHE_DIR" "mmcv==$MMCV_VERSION" \
      || die "building mmcv==$MMCV_VERSION failed (see the compiler output above)"
  fi
  step "installing cached mmcv wheel from $CACHE_DIR"
  "${PIP[@]}" --no-deps --force-reinstall "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl || die "could not install the mmcv wheel"
fi

step "mmengine, mmsegmentation, cityscapesscripts and the rest"
"${PIP[@]}" -r requirements.txt || die "pip could not install requirements.txt"

# mim and mmengine look for <dist location>/mmseg_contrafusion/.mim: an
# egg-link install (setup.py develop) has it, with .mim/* symlinks to
# configs/, tools/ and model-index.yml; a PEP 660 one (an older setup of this
# venv) does not, and is replaced.
mim_finds_package() { "$PY" - <<'PY' 2>/dev/null
import os.path as osp
import sys
from mim.utils import get_installed_path
root = get_installed_path('mmseg_contrafusion')
sys.exit(0 if osp.isfile(osp.join(root, '.mim', 'model-index.yml')) else 1)
PY
}
if ! have mmseg_contrafusion "" || ! mim_finds_package; then
  step "installing mmseg_contrafusion (editable)"
  "${PIP[@]}" --no-deps --no-build-isolation -e . || die "pip could not install the package in editable mode"
  mim_finds_package || die "mim does not find mmseg_contrafusion/.mim after 'pip install -e .' (needs setuptools<80 and pip<25, constraints.txt)"
fi

step "checking the installation"
"$PY" - <<'PY' || die "the installed stack does not work (reason above)"
import sys
import mmcv
import mmcv.ops  # fails if mmcv was built without its compiled ops
from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401
import mmengine
import mmseg  # runs mmseg's own mmcv/mmengine version check
import mmseg_contrafusion
import torch
import mim  # noqa: F401  (openmim: mim train/test/run/search)
import tensorboard  # noqa: F401  (TensorboardVisBackend)
print(f'[setup] ok: python {sys.version.split()[0]}, torch {torch.__version__}, '
      f'mmcv {mmcv.__version__} (ops), mmengine {mmengine.__version__}, '
      f'mmseg {mmseg.__version__}, cuda {torch.cuda.is_available()}')
PY
