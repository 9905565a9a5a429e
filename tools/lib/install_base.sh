# Sourced by the environment set-up scripts: torch 2.13.0 (CPU build from
# this machine's wheel folder when there is one) and mmcv 2.1.0 with its
# compiled ops (a wheel from PIP_FIND_LINKS, else a ~13 min source build).
#
#   install_torch_mmcv PYTHON
TORCH_VERSION="2.13.0"
MMCV_VERSION="2.1.0"

# Where pip finds wheels: everything PIP_FIND_LINKS already names (these
# machines set /opt/wheels, where the CPU torch lies), plus /opt/wheels and
# the mmcv wheel folder ../shared/wheels beside the checkout when they exist.
# Exported as one space-separated PIP_FIND_LINKS; never passed as
# --find-links, which would replace the variable instead of adding to it.
mmglip_find_links() {
    local root links=() dir
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    for dir in ${PIP_FIND_LINKS:-} /opt/wheels "$root/../shared/wheels"; do
        [[ -d "$dir" ]] || continue
        dir="$(cd "$dir" && pwd)"
        [[ " ${links[*]:-} " == *" $dir "* ]] || links+=("$dir")
    done
    if ((${#links[@]})); then export PIP_FIND_LINKS="${links[*]}"; else unset PIP_FIND_LINKS; fi
}
mmglip_find_links

install_torch_mmcv() {
    local py="$1"
    if ! "$py" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
        echo "[setup] installing torch==$TORCH_VERSION" >&2
        "$py" -m pip install -q "torch==$TORCH_VERSION"
    fi
    if ! "$py" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
        # mmcv's setup.py imports torch and pkg_resources: no build
        # isolation and an old setuptools, for the source build only
        echo "[setup] installing mmcv==$MMCV_VERSION with ops (PIP_FIND_LINKS=${PIP_FIND_LINKS:-<unset>}; without a wheel this builds from source, ~13 min)" >&2
        "$py" -m pip install -q "setuptools<70" numpy wheel
        MMCV_WITH_OPS=1 "$py" -m pip install -q --no-build-isolation \
            "mmcv==$MMCV_VERSION"
    fi
    "$py" -c "import mmcv.ops" || { echo "[setup] mmcv.ops does not import" >&2; return 1; }
}
