#!/usr/bin/env bash
# Distributed evaluation with torchrun, one process per GPU:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT as for
# tools/dist_train.sh; the interpreter, the one-line mistakes and Ctrl-C
# (exit 130) as there too.
set -eo pipefail
if [ $# -lt 3 ]; then
    echo "usage: [NNODES=N NODE_RANK=R MASTER_ADDR=A PORT=P] $0 CONFIG CHECKPOINT GPUS [test.py args]" >&2
    exit 2
fi
source "$(dirname "$0")/lib/torchrun.sh"
torchrun_tool test.py "$3" "$1" "$2" "${@:4}"
