#!/usr/bin/env python
"""Export a GLIP model to ONNX for ONNX Runtime (or any ONNX runtime).

    python tools/deploy/export_onnx.py MODEL --weights W --out DIR
    python tools/deploy/export_onnx.py MODEL --weights W --out DIR \\
        --texts "raccoon. trash can"

MODEL: a config file or a model name (glip-t_a, glip-t_b, glip-t_c,
glip-t, glip-l, glip-lite). Writes into DIR:
  text_encoder.onnx  token ids + attention mask -> the token features the
                     detector reads (not written with --texts)
  detector.onnx      image batch + token features + mask -> per FPN level
                     the alignment logits, box deltas and centerness that
                     mmglip's post-processing (top-k, NMS, rescale) reads;
                     with --texts the prompt's features are baked in and
                     the image is the only input (no BERT at run time)
  tokenizer/         the language model's tokenizer files
Batch size, image height / width and token length are dynamic. Each file
records in its metadata the variant, the weights' SHA-256, the mmglip
version, the opset, the input scale (mean / std) and the maximum tokens.

Before DIR is written, the export checks itself: the onnx checker on each
file, and one ONNX Runtime run on a real image against PyTorch (the same
top-100 detections, scores within 1e-4, boxes within 0.01 px); it prints
the numbers. Run the exported model with
    python tools/infer.py IMAGES MODEL --backend onnxruntime --onnx DIR \\
        --texts "..."
Needs onnx and onnxruntime: pip install -e .[deploy]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, run_tool)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('model', help='config file or model name')
    p.add_argument('--weights', help='checkpoint: an official GLIP file, an '
                   'mmglip checkpoint or a zoo name (default: the model\'s '
                   'initialisation, pretrained parts only)')
    p.add_argument('--weights-key', default='model',
                   choices=['model', 'model_ema'],
                   help='which weights of the checkpoint')
    p.add_argument('--out', required=True, help='folder for the ONNX files '
                   '(new, or empty; --overwrite replaces an earlier export)')
    p.add_argument('--texts', nargs='+',
                   help='bake this prompt in (one string split on ". ", or '
                   'several strings, one name each): one detector graph '
                   'for a fixed vocabulary, no text encoder')
    p.add_argument('--precision', choices=['fp32', 'int8'],
                   default='fp32',
                   help='fp32: the exact default; int8: the detector\'s '
                   'matrix products quantized (ONNX Runtime dynamic '
                   'quantization), its drift from fp32 printed')
    p.add_argument('--check-image', help='image of the self-check (default: '
                   'a Raccoon image shipped with mmglip)')
    p.add_argument('--language-model',
                   help='hub id or local directory of the text encoder '
                   '(default: the config\'s)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an earlier export in --out')
    add_debug_flag(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.check_image:
        check_file(args.check_image, '--check-image')
    from mmglip.deploy.errors import require
    require('onnx')
    require('onnxruntime')
    from mmglip.deploy.export import check_out_dir
    check_out_dir(args.out, args.overwrite)
    from mmglip.apis import init_model
    from mmglip.apis.inference import resolve_config
    from mmglip.deploy import export_onnx, variant_name, weights_identity
    from mmglip.text import prompt_names
    texts = None
    if args.texts:
        texts = prompt_names(args.texts[0] if len(args.texts) == 1
                             else args.texts)
        if not texts:
            raise UserError('--texts: no names in it; give "a. b. c".')
    config = resolve_config(args.model)
    print(f'Loading {args.model} ...', flush=True)
    model = init_model(config, args.weights, 'cpu', args.weights_key,
                       args.language_model)
    if getattr(model, 'load_report', None) is not None:
        print(model.load_report)
    agreement = export_onnx(
        model, args.out, variant=variant_name(args.model),
        weights=weights_identity(args.weights), texts=texts,
        check_image=args.check_image, overwrite=args.overwrite,
        precision=args.precision)
    print(f'Exported {args.model} to {args.out} (self-check: {agreement})')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
