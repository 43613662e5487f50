# Shared by slurm_train.sh and slurm_test.sh (sourced; expects GPUS).
# Environment: GPUS_PER_NODE (min(GPUS, 8)), CPUS_PER_TASK (5),
# SRUN_ARGS (extra srun options, split on spaces), PYTHON.
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a EXTRA_SRUN_ARGS <<< "${SRUN_ARGS:-}"
SRUN_OPTIONS=(
  --gres="gpu:$GPUS_PER_NODE"
  --ntasks="$GPUS"
  --ntasks-per-node="$GPUS_PER_NODE"
  --cpus-per-task="$CPUS_PER_TASK"
  --kill-on-bad-exit=1
  "${EXTRA_SRUN_ARGS[@]}"
)
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-python}
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
