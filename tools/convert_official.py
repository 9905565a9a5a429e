#!/usr/bin/env python
"""Convert an official GLIP checkpoint to mmglip's layout.

    python tools/convert_official.py glip_tiny_model_o365_goldg.pth \
        glip-t_c_mmglip.pth [--key model_ema]

Keeps only the model weights (``model`` or ``model_ema``; optimizer and
scheduler state are dropped), strips ``module.``, renames keys, and writes an
mmengine checkpoint ``{"state_dict": ..., "meta": ...}``. DST is written
atomically and never overwritten unless --force is given.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, check_writable_dir,
                              run_tool)


def convert_file(src: str, dst: str, key: str = 'model',
                 force: bool = False) -> dict:
    """Convert ``src`` into ``dst`` with
    :func:`mmglip.weights.official.to_mmglip` (the conversion every loader
    uses); returns the written checkpoint's meta."""
    check_file(src, 'SRC')
    if osp.exists(dst) and not force:
        raise UserError(f'{dst} exists; pass --force to replace it.')
    check_writable_dir(osp.dirname(osp.abspath(dst)), 'DST')
    import torch

    from mmglip.utils.checkpoints import read_checkpoint
    from mmglip.utils.io import atomic_write
    from mmglip.weights.official import is_official, to_mmglip
    ckpt = read_checkpoint(src, mmap=True)
    if not is_official(ckpt):
        raise UserError(
            f'SRC {src}: not an official GLIP checkpoint (no "model" entry '
            'with official keys, nor official keys at its top level); an '
            'mmglip checkpoint loads as it is.')
    converted, meta = to_mmglip(ckpt, key, src)
    # the file records its layout (also in the state dict's _metadata):
    # loaders refuse it for a config of another GLIP variant
    meta = dict(meta, source=osp.abspath(src), layout='mmglip',
                converted_from='official',
                not_converted=meta['ignored'] + meta['unconverted'])
    with atomic_write(dst, 'wb') as f:
        torch.save(dict(state_dict=converted, meta=meta), f)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('src', help='official GLIP .pth')
    p.add_argument('dst', help='output .pth in mmglip layout')
    p.add_argument('--key', default='model', choices=['model', 'model_ema'],
                   help='which weights to keep (model_ema: an error for a '
                   'file saved without EMA)')
    p.add_argument('--force', action='store_true', help='replace DST')
    add_debug_flag(p)
    args = p.parse_args(argv)
    meta = convert_file(args.src, args.dst, args.key, args.force)
    layout = (f'{meta["fusion_blocks"]} fusion blocks' if meta['fusion'] else
              f'{meta["fusion_blocks"]} DyHead blocks, no fusion')
    print(f'{args.src} ({layout}) -> {args.dst}')
    print(f'dropped entries: {", ".join(meta["dropped"]) or "none"}; '
          f'{len(meta["ignored"])} unused official keys '
          '(buffers, unused cls_logits, pooler)')
    if meta['unconverted']:
        print(f'warning: {len(meta["unconverted"])} unknown official keys '
              f'left out: {", ".join(meta["unconverted"][:10])}',
              file=sys.stderr)


if __name__ == '__main__':
    sys.exit(run_tool(main))
