# Shared by dist_train.sh and dist_test.sh (sourced; expects GPUS).
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
# The project's virtualenv when it exists, else the python on PATH.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO_ROOT/.venv/bin/python" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    PYTHON="$REPO_ROOT/.venv/bin/python"
  else
    PYTHON=python
  fi
fi
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
# The launcher sets one OpenMP thread per process when unset; on a CPU-only
# machine that leaves cores idle, so split them between the processes.
if [ -z "${OMP_NUM_THREADS:-}" ]; then
  if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    CORES=$(nproc)
    export OMP_NUM_THREADS=$(( CORES / GPUS > 0 ? CORES / GPUS : 1 ))
  fi
fi
