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
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, check_writable_dir,
                              run_tool)


def convert_file(src: str, dst: str, key: str = 'model',
                 force: bool = False) -> dict:
    """Convert ``src`` into ``dst``; returns the written checkpoint's meta."""
    check_file(src, 'SRC')
    if osp.exists(dst) and not force:
        raise UserError(f'{dst} exists; pass --force to replace it.')
    check_writable_dir(osp.dirname(osp.abspath(dst)), 'DST')
    import torch

    from mmglip.utils.checkpoints import read_checkpoint
    from mmglip.zoo.official import (extract_state_dict,
                                     official_fusion_layout,
                                     official_to_mmglip)
    ckpt = read_checkpoint(src)
    sd = extract_state_dict(ckpt, key)
    fused, blocks = official_fusion_layout(sd)
    converted, left = official_to_mmglip(sd)
    meta = dict(source=osp.abspath(src), weights_key=key,
                fusion=fused, fusion_blocks=blocks, not_converted=left,
                dropped=sorted(k for k in ckpt if k not in (key, )))
    tmp = f'{dst}.part{os.getpid()}'
    try:
        torch.save(dict(state_dict=converted, meta=meta), tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('src', help='official GLIP .pth')
    p.add_argument('dst', help='output .pth in mmglip layout')
    p.add_argument('--key', default='model', choices=['model', 'model_ema'],
                   help='which weights to keep')
    p.add_argument('--force', action='store_true', help='replace DST')
    add_debug_flag(p)
    args = p.parse_args(argv)
    meta = convert_file(args.src, args.dst, args.key, args.force)
    layout = (f'{meta["fusion_blocks"]} fusion blocks' if meta['fusion'] else
              f'{meta["fusion_blocks"]} DyHead blocks, no fusion')
    print(f'{args.src} ({layout}) -> {args.dst}')
    print(f'dropped entries: {", ".join(meta["dropped"]) or "none"}; '
          f'{len(meta["not_converted"])} unused official keys '
          '(buffers, unused cls_logits, pooler)')


if __name__ == '__main__':
    sys.exit(run_tool(main))
