#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU (per CPU process
# on a machine without CUDA: gloo backend):
#   tools/dist_train.sh CONFIG GPUS [train.py args]
# Several machines: run it on each with NNODES, NODE_RANK (0..NNODES-1),
# MASTER_ADDR (node 0's address) and PORT set the same everywhere but the
# rank. A run cut short continues with the same command plus --resume.
# The interpreter: $PYTHON, else the checkout's .venv/bin/python, else
# `python` on PATH. The arguments are checked once (train.py --check-only)
# before any process starts; each mistake is one line (exit 2), Ctrl-C
# exits 130 (tools/lib/torchrun.py).
set -eo pipefail
if [ $# -lt 2 ]; then
    echo "usage: [NNODES=N NODE_RANK=R MASTER_ADDR=A PORT=P] $0 CONFIG GPUS [train.py args]" >&2
    exit 2
fi
source "$(dirname "$0")/lib/torchrun.sh"
torchrun_tool train.py "$2" "$1" "${@:3}"
