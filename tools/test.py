#!/usr/bin/env python
"""Evaluate a GLIP model (mmdet's tools/test.py flags).

CHECKPOINT may be an mmglip checkpoint or an official GLIP file.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='Test a GLIP detector')
    p.add_argument('config', help='config file or model name')
    p.add_argument('checkpoint',
                   help='checkpoint (mmglip or official) or a zoo name')
    p.add_argument('--work-dir', help='where logs and metrics go')
    p.add_argument('--out', help='dump predictions to this .pkl file')
    p.add_argument('--show-dir', help='draw predictions into this folder')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, key=value')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    import mmglip
    mmglip.register_all_modules()
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmglip.apis import resolve_config
    from mmglip.zoo.download import is_zoo_reference, resolve_weights
    if is_zoo_reference(args.checkpoint):
        args.checkpoint = resolve_weights(args.checkpoint)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must end with .pkl, got {args.out}')
    if args.out is not None and osp.exists(args.out):
        raise FileExistsError(f'--out {args.out} exists; not overwriting it.')
    cfg = Config.fromfile(resolve_config(args.config))
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    # a full checkpoint carries BERT: no pretrained download needed
    cfg.model.language_model.pretrained = False
    cfg.load_from = args.checkpoint
    if args.show_dir:
        cfg.default_hooks.visualization.update(
            dict(draw=True, test_out_dir=args.show_dir))
    runner = Runner.from_cfg(cfg)
    if args.out is not None:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
