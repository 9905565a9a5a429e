# Sourced by tools/dist_train.sh and tools/dist_test.sh: start a tool on
# torchrun, one process per GPU (per CPU process without CUDA: gloo).
# Several machines: NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR (node 0's
# address) and PORT, the same everywhere but the rank (mmdet's names).
#   torchrun_tool TOOL.py NPROC [TOOL args]
torchrun_tool() {
    local tool=$1 nproc=$2
    shift 2
    local tools_dir
    tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    PYTHONPATH="$tools_dir/..${PYTHONPATH:+:$PYTHONPATH}" \
        python -m torch.distributed.run \
        --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --master_port="${PORT:-29500}" --nproc_per_node="$nproc" \
        "$tools_dir/$tool" "$@" --launcher pytorch
}
