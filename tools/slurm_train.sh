#!/usr/bin/env bash
# Training on a Slurm cluster, with mmseg's interface:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
# One task per GPU; each runs tools/train.py with --launcher slurm.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
PY_ARGS=()
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  PY_ARGS+=(--work-dir "$1")
  shift
fi
PY_ARGS+=("$@")
GPUS=${GPUS:-8}
source "$(dirname "$0")/slurm_env.sh"
srun -p "$PARTITION" --job-name="$JOB_NAME" "${SRUN_OPTIONS[@]}" \
    "$PYTHON" -u "$(dirname "$0")/train.py" "$CONFIG" --launcher slurm \
    "${PY_ARGS[@]}"
