# Sourced by the environment set-up scripts: torch 2.13.0 (CPU build from
# this machine's wheel folder when there is one) and mmcv 2.1.0 with its
# compiled ops (a wheel from PIP_FIND_LINKS, else a ~13 min source build).
#
#   install_torch_mmcv PYTHON
TORCH_VERSION="2.13.0"
MMCV_VERSION="2.1.0"

# pip's default find-links (/opt/wheels, where the CPU torch lies) is hidden
# when a caller sets PIP_FIND_LINKS to the mmcv wheel folder: keep both.
EXTRA_FIND=()
if [[ -d /opt/wheels ]]; then EXTRA_FIND=(--find-links /opt/wheels); fi

install_torch_mmcv() {
    local py="$1"
    if ! "$py" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
        echo "[setup] installing torch==$TORCH_VERSION" >&2
        "$py" -m pip install -q "${EXTRA_FIND[@]}" "torch==$TORCH_VERSION"
    fi
    if ! "$py" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
        # mmcv's setup.py imports torch and pkg_resources: no build
        # isolation and an old setuptools, for the source build only
        echo "[setup] installing mmcv==$MMCV_VERSION with ops (PIP_FIND_LINKS=${PIP_FIND_LINKS:-<unset>}; without a wheel this builds from source, ~13 min)" >&2
        "$py" -m pip install -q "${EXTRA_FIND[@]}" "setuptools<70" numpy wheel
        MMCV_WITH_OPS=1 "$py" -m pip install -q --no-build-isolation \
            "${EXTRA_FIND[@]}" "mmcv==$MMCV_VERSION"
    fi
    "$py" -c "import mmcv.ops" || { echo "[setup] mmcv.ops does not import" >&2; return 1; }
}
