#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, started by srun, joined by
# MMEngine's slurm launcher (it reads SLURM_PROCID / SLURM_NTASKS /
# SLURM_NODELIST).
#   [GPUS=16] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# Environment (mmdet's names): GPUS in all (default 8), GPUS_PER_NODE
# (default 8, or GPUS when fewer), CPUS_PER_TASK (default 5), SRUN_ARGS
# (more srun flags, e.g. "--quotatype=auto"). A run cut short continues
# with the same command plus --resume. The interpreter: $PYTHON, else the
# checkout's .venv/bin/python, else `python` on PATH (the same path on the
# compute nodes).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: [GPUS=N] $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2
    exit 2
fi
for name in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
    value=${!name:-}
    if [ -n "$value" ] && ! [[ $value =~ ^[1-9][0-9]*$ ]]; then
        echo "error: $name='$value': give an integer >= 1." >&2
        exit 2
    fi
done
source "$(dirname "$0")/lib/torchrun.sh"
mmglip_python
partition=$1 job=$2 config=$3 work_dir=$4
shift 4
gpus=${GPUS:-8}
per_node=${GPUS_PER_NODE:-$(( gpus < 8 ? gpus : 8 ))}
here="$(cd "$(dirname "$0")" && pwd)"
# SRUN_ARGS is split into words on purpose: it holds several flags
# shellcheck disable=SC2206
extra=(${SRUN_ARGS:-})
srun_flags=(
    --partition="$partition" --job-name="$job"
    --ntasks="$gpus" --ntasks-per-node="$per_node" --gres=gpu:"$per_node"
    --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1
    "${extra[@]}"
)
PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" \
    srun "${srun_flags[@]}" \
    "$(command -v "$MMGLIP_PYTHON")" -u "$here/train.py" "$config" --work-dir="$work_dir" \
    --launcher slurm "$@"
