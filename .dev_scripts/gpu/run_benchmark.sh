#!/usr/bin/env bash
# tools/analysis/benchmark.py on a GPU machine without network (the device
# machines this project is lent: Python 3.12, torch + CUDA, no OpenMMLab).
#
# Here, once:   bash .dev_scripts/gpu/fetch_wheels.sh .gpu
# There:        bash .dev_scripts/gpu/run_benchmark.sh OUT_DIR [PHASE...]
#
# Installs the carried wheels into TMP (default /tmp/mmglip_gpu), builds
# mmcv's nms / modulated deform conv for the GPU (build_mmcv_ops.py), checks
# them against mmcv's CPU kernels, makes a random BERT directory, then runs
# the phases in order, each table into OUT_DIR:
#   ad   parts a and d (latency, fp16 / bf16, images / s at batch 1 and 8)
#   fp16 tools/analysis/check_fp16.py (fp16 / bf16 vs fp32 detections)
#   b    part b (1,203 LVIS names, 40 per chunk)
# Both variants (GLIP-T (C), (A)), mmglip and MMDetection's port on the same
# random official-layout weights (made there by the reference) and the
# vendored Raccoon images. BENCH_ARGS adds benchmark.py options; PYTHON3
# (default python3), VARIANTS and DEVICE=cpu make a dry run of this script
# elsewhere.
set -euo pipefail
OUT_DIR=${1:?usage: run_benchmark.sh OUT_DIR [ad] [fp16] [b]}
shift
PHASES=("${@:-ad fp16 b}")
W=${GPU_WHEELS:-.gpu}
T=${TMP_DIR:-/tmp/mmglip_gpu}
for phase in ${PHASES[*]}; do
    [[ $phase =~ ^(ad|fp16|b)$ ]] || { echo "error: unknown phase '$phase' (ad, fp16, b)" >&2; exit 2; }
done
[[ -f "$W/mmcv-2.1.0.tar.gz" && -d "$W/common" ]] || {
    echo "error: $W: no carried wheels; run .dev_scripts/gpu/fetch_wheels.sh $W where pip works" >&2; exit 2; }
mkdir -p "$T" "$OUT_DIR"
PY=${PYTHON3:-python3}
DEVICE=${DEVICE:-cuda}
log() { echo "[gpu $(date +%T)] $*" >&2; }

for part in common ref build; do
    [[ -d "$T/$part" ]] || "$PY" -m pip install -q --no-index --no-deps \
        --no-compile --no-cache-dir --target "$T/$part" "$W/$part"/*.whl
done
MMCV=$T/mmcv/mmcv-2.1.0
if ! ls "$MMCV"/mmcv/_ext*.so >/dev/null 2>&1; then
    cuda=()
    if [[ $DEVICE == cuda ]]; then
        cuda=(--cuda)
        command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
        log "$(nvcc --version | tail -2 | head -1)"
        export TORCH_CUDA_ARCH_LIST=$("$PY" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
    fi
    log "building mmcv ops ${cuda[*]} ${TORCH_CUDA_ARCH_LIST:-}"
    PYTHONPATH=$T/build MAX_JOBS=$(nproc) \
        "$PY" .dev_scripts/gpu/build_mmcv_ops.py "$W/mmcv-2.1.0.tar.gz" \
        "$T/mmcv" "${cuda[@]}" >"$OUT_DIR/mmcv_build.log" 2>&1 \
        || { tail -40 "$OUT_DIR/mmcv_build.log"; exit 1; }
fi
export PYTHONPATH=$T/common:$MMCV   # mmglip: the image's transformers 5.x
cat >"$T/ref-python" <<EOF
#!/bin/sh
PYTHONPATH=$T/ref:$T/common:$MMCV exec "$PY" "\$@"
EOF
chmod +x "$T/ref-python"
log "mmcv ops: $DEVICE against CPU"
"$PY" - "$DEVICE" <<'EOF'
import sys
import torch
from mmcv.ops import ModulatedDeformConv2d, nms
g = torch.Generator().manual_seed(0)
x = torch.randn(2, 16, 40, 56, generator=g)
off = torch.randn(2, 18, 40, 56, generator=g)
mask = torch.rand(2, 9, 40, 56, generator=g)
conv = ModulatedDeformConv2d(16, 32, 3, padding=1)
with torch.no_grad():
    cpu = conv(x, off, mask)
    dev = sys.argv[1]
    gpu = conv.to(dev)(x.to(dev), off.to(dev), mask.to(dev)).cpu()
boxes = torch.rand(500, 4, generator=g) * 100
boxes[:, 2:] += boxes[:, :2]
scores = torch.rand(500, generator=g)
k_cpu = nms(boxes, scores, 0.5)[1]
k_gpu = nms(boxes.to(dev), scores.to(dev), 0.5)[1].cpu()
print(f'deform conv max |{dev} - cpu| {(gpu - cpu).abs().max():.2e}; '
      f'nms keeps the same boxes: {torch.equal(k_cpu, k_gpu)}')
EOF
[[ -f "$T/bert/config.json" ]] || "$T/ref-python" .dev_scripts/parity/make_bert_dir.py \
    "$T/bert" --weights random --seed 0 --vocab "$W/vocab.txt" >/dev/null
VARIANTS=(${VARIANTS:-glip-t_c glip-t_a})
COMMON=(--variants "${VARIANTS[@]}" --ref-python "$T/ref-python" --bert-dir "$T/bert" --work-dir "$T/work"
        --device "$DEVICE" --images demo/data/raccoon_mini --num-images 4)
for phase in ${PHASES[*]}; do
    log "phase $phase"
    case $phase in
        ad) parts=(a d); [[ $DEVICE == cpu ]] && parts=(a)
            "$PY" tools/analysis/benchmark.py "${COMMON[@]}" --parts "${parts[@]}" \
                --warmup 3 --reps 10 ${BENCH_ARGS:-} --out "$OUT_DIR/bench_ad.md" ;;
        b)  "$PY" tools/analysis/benchmark.py "${COMMON[@]}" --parts b \
                --lvis-warmup 1 --lvis-reps 3 ${BENCH_ARGS:-} --out "$OUT_DIR/bench_b.md" ;;
        fp16) names=$(paste -sd'|' tests/text/coco_names.txt | sed 's/|/. /g')
              for v in "${VARIANTS[@]}"; do
                "$PY" tools/analysis/check_fp16.py demo/data/raccoon_mini/test "$v" \
                    --weights "$T/work/${v}_official.pth" --texts "$names" \
                    --language-model "$T/bert" --device "$DEVICE" 2>&1 \
                    | tee -a "$OUT_DIR/fp16.txt" || true
              done ;;
        *) echo "unknown phase $phase (ad, fp16, b)" >&2; exit 2 ;;
    esac
done
