#!/usr/bin/env bash
# Distributed evaluation with torchrun, one process per GPU:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT as for
# tools/dist_train.sh.
set -eo pipefail
if [ $# -lt 3 ]; then
    echo "usage: [NNODES=N NODE_RANK=R MASTER_ADDR=A PORT=P] $0 CONFIG CHECKPOINT GPUS [test.py args]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
