#!/usr/bin/env python
"""Train a GLIP model (mmdet's tools/train.py flags).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] \\
        [--amp] [--cfg-options key=value ...]

CONFIG: a config file or a model name (glip-t_c, glip-lite, ...).
--resume without a path continues from the newest checkpoint of the work dir
that can be read: a checkpoint cut short (a killed run, a full disk) is moved
aside as <name>.incomplete, never deleted, and the one before it is used.
When the work dir has no checkpoint, training starts from scratch and says
so. Arguments are checked before the model is built; an error in them ends
with one line naming it (exit status 2). mmengine's environment, config and
hook dumps go to the run's log file only (the console names it).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_runner_args, check_eval_parts, check_file,
                              check_writable_dir, merge_cfg_options,
                              parse_runner_args, run_tool,
                              sync_prompt_tokenizers, warn)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('config', help='config file or model name')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                   '(default: ./work_dirs/<config name>)')
    p.add_argument('--amp', action='store_true',
                   help='automatic mixed precision (AmpOptimWrapper)')
    p.add_argument('--auto-scale-lr', action='store_true',
                   help='scale the lr by the actual batch size (needs '
                   'auto_scale_lr.base_batch_size in the config)')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the newest readable '
                   'checkpoint of the work dir when no path is given')
    add_runner_args(p, 'the arguments and the config',
                    'tools/dist_train.sh')
    return parse_runner_args(p, argv)


def build_cfg(args):
    """The run's config, every user input checked (no model built yet)."""
    from mmengine.config import Config

    from mmglip.apis.inference import resolve_config
    cfg = Config.fromfile(resolve_config(args.config))
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    if cfg.get('load_from') and args.resume is None and not \
            cfg.get('resume') and '://' not in str(cfg.load_from):
        # a local file or zoo name: readable, with weights (a URL or hub
        # file is fetched when the run starts)
        from mmglip.weights.load import check_source
        check_source(cfg.load_from, 'model', 'load_from')
    for part in check_eval_parts(cfg):
        print(f'{part}_cfg: no {part} data in the config, so no {part} loop')
    if sync_prompt_tokenizers(cfg):
        print('prompt tokens of the data are counted with '
              f'{cfg.model.language_model.name!r} (model.language_model.name)')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    check_writable_dir(cfg.work_dir, '--work-dir')
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or \
                'base_batch_size' not in cfg.auto_scale_lr:
            raise UserError('--auto-scale-lr needs `auto_scale_lr = '
                            'dict(base_batch_size=N)` in the config.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        from mmglip.utils.checkpoints import latest_readable_checkpoint
        found = latest_readable_checkpoint(
            cfg.work_dir,
            on_set_aside=lambda path, moved, exc: warn(
                f'--resume: {path} cannot be read (cut short?); moved aside '
                f'as {moved}, trying the one before'))
        if found is None:
            warn(f'--resume: no checkpoint in {cfg.work_dir}; training '
                 'starts from scratch')
            cfg.resume = False
        else:
            print(f'--resume: continuing from {found}')
            cfg.resume = True
            cfg.load_from = found
    elif args.resume is not None:
        from mmglip.utils.checkpoints import read_checkpoint
        check_file(args.resume, '--resume')
        read_checkpoint(args.resume, mmap=True)
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    if args.check_only:
        print(f'{args.config}: arguments and config checked')
        return 0
    import mmglip
    mmglip.register_all_modules()
    from mmglip.utils.distributed import setup_cpu_distributed
    setup_cpu_distributed(cfg, args.launcher)
    from mmglip.utils.run_log import build_runner
    runner = build_runner(cfg)  # mmengine's dumps: in the log file only
    runner.train()


if __name__ == '__main__':
    sys.exit(run_tool(main))
