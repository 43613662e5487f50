#!/usr/bin/env bash
# Testing on a Slurm cluster, with mmseg's interface:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
# e.g. ... CONFIG CKPT --eval mIoU mDice
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
GPUS=${GPUS:-8}
source "$(dirname "$0")/slurm_env.sh"
srun -p "$PARTITION" --job-name="$JOB_NAME" "${SRUN_OPTIONS[@]}" \
    "$PYTHON" -u "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher slurm "$@"
