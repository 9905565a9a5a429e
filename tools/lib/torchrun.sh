# Sourced by tools/dist_train.sh, tools/dist_test.sh and
# tools/slurm_train.sh.
#
# mmglip_python: sets MMGLIP_PYTHON to the interpreter the launchers run:
# $PYTHON when set, else the checkout's .venv/bin/python (made by
# tools/setup_env.sh) when there is one, else `python` on PATH. An
# interpreter without torch / mmengine / mmdet is one line (exit 2).
#
# torchrun_tool TOOL.py GPUS [TOOL args]: start the tool on torchrun, one
# process per GPU (per CPU process without CUDA: gloo), through
# tools/lib/torchrun.py (one line for each mistake, Ctrl-C exits 130).
# Several machines: NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR (node 0's
# address) and PORT, the same everywhere but the rank (mmdet's names).
mmglip_python() {
    local repo where missing
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [ -n "${PYTHON:-}" ]; then
        MMGLIP_PYTHON=$PYTHON where="PYTHON=$PYTHON"
    elif [ -x "$repo/.venv/bin/python" ]; then
        MMGLIP_PYTHON="$repo/.venv/bin/python" where="$repo/.venv/bin/python"
    else
        MMGLIP_PYTHON=$(command -v python || command -v python3 || true)
        where="python on PATH (${MMGLIP_PYTHON:-none})"
    fi
    local fix="run tools/setup_env.sh in the checkout (it makes .venv, used from then on), or name the interpreter of an environment that has them: PYTHON=/path/to/bin/python $0 ..."
    if [ -z "$MMGLIP_PYTHON" ] || ! command -v "$MMGLIP_PYTHON" >/dev/null; then
        echo "error: $where: no such interpreter; $fix" >&2
        exit 2
    fi
    missing=$("$MMGLIP_PYTHON" -c 'import importlib.util as u
print(", ".join(m for m in ("torch", "mmengine", "mmdet")
                if u.find_spec(m) is None))' 2>/dev/null) || {
        echo "error: $where: does not run Python; $fix" >&2
        exit 2
    }
    if [ -n "$missing" ]; then
        echo "error: $where has no $missing; $fix" >&2
        exit 2
    fi
}

torchrun_tool() {
    mmglip_python
    exec "$MMGLIP_PYTHON" "$(dirname "${BASH_SOURCE[0]}")/torchrun.py" "$@"
}
