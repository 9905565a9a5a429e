#!/usr/bin/env python
"""Score a tools/test.py --out dump again, without the model (mmdet's
tools/analysis_tools/eval_metric.py).

    python tools/analysis/eval_metric.py CONFIG PKL [--cfg-options k=v ...]

CONFIG: a config file or a model name, normally the one the dump was made
with; PKL: the dump (tools/test.py ... --out PKL). The config's test dataset
is read for its classes and annotation file (its images are not needed), the
config's test_evaluator scores the dump (COCO / ODinW AP, LVIS Fixed AP,
Flickr30k recall) and prints what tools/test.py prints: the metrics' own
tables, then one line of "name: value". --cfg-options changes the config as
in tools/test.py (test_evaluator.topk=300, another test_evaluator.ann_file).

A file that is not a dump, a dump of other images than the metric's ground
truth (test_evaluator.ann_file), labels beyond the config's classes, a
missing file: one line naming it (exit status 2). Only score dumps you made:
reading a pickle runs the code it names.
"""
import argparse
import copy
import inspect
import os.path as osp
import sys
import uuid

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_file, merge_cfg_options,
                              run_tool, warn)


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('config', help='config file or model name')
    p.add_argument('pkl', help='the predictions: tools/test.py --out PKL')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, key=value; a key the config '
                   'does not have is warned about')
    add_debug_flag(p)
    return p.parse_args(argv)


def build_cfg(args):
    from mmengine.config import Config

    from mmglip.apis.inference import resolve_config
    check_file(args.pkl, 'PKL')
    cfg = Config.fromfile(resolve_config(args.config))
    merge_cfg_options(cfg, args.cfg_options)
    for key in ('test_evaluator', 'test_dataloader'):
        if not cfg.get(key):
            raise UserError(f'{args.config}: the config has no {key}; '
                            'give the config the dump was made with.')
    if not cfg.test_dataloader.get('dataset'):
        raise UserError(f'{args.config}: test_dataloader has no dataset.')
    return cfg


def build_dataset(cfg):
    """The test dataset, for its metainfo (classes, annotation file): no
    pipeline, and its images not looked for where the class can skip
    that."""
    from mmglip.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    cls = DATASETS.get(ds_cfg.get('type'))
    if cls is not None and 'check_images' in inspect.signature(
            cls.__init__).parameters:
        ds_cfg['check_images'] = False
    return DATASETS.build(ds_cfg)


def evaluator_metrics(cfg):
    """The metric configs of ``test_evaluator`` (a metric, a list of them,
    or an evaluator dict with ``metrics``)."""
    ev = cfg.test_evaluator
    if isinstance(ev, dict) and 'metrics' in ev:
        return ev['metrics']
    return ev


def check_labels(samples, dataset, pkl: str) -> None:
    classes = (dataset.metainfo or {}).get('classes')
    if not classes:
        return
    top = max((int(s['pred_instances']['labels'].max())
               for s in samples if len(s['pred_instances']['labels'])),
              default=-1)
    if top >= len(classes):
        raise UserError(
            f'{pkl}: the dump has label {top}, but the config\'s test '
            f'dataset has {len(classes)} classes: give the config the dump '
            'was made with.')


def metrics_line(metrics: dict, digits: int = 4) -> str:
    """``name: value`` pairs as mmengine's LogProcessor writes them at the
    end of tools/test.py."""
    return '  '.join(
        f'{name}: {value:.{digits}f}' if isinstance(value, float) else
        f'{name}: {value}' for name, value in metrics.items())


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    import mmglip
    mmglip.register_all_modules()
    from mmengine.logging import MMLogger

    from mmglip.evaluation import (MetricFailed, ReportingEvaluator,
                                   check_images_covered, dump_images,
                                   load_dump)
    logger = MMLogger.get_instance(f'eval_metric-{uuid.uuid4().hex[:8]}',
                                   log_level=cfg.get('log_level', 'INFO'))
    samples = load_dump(args.pkl)
    dataset = build_dataset(cfg)
    evaluator = ReportingEvaluator(evaluator_metrics(cfg))
    evaluator.dataset_meta = dataset.metainfo
    check_labels(samples, dataset, args.pkl)
    for msg in check_images_covered(
            dump_images(samples), f'the dump {args.pkl}', evaluator.metrics,
            here='the dump',
            fix='score it with the config it was made with (or '
            '--cfg-options test_evaluator.ann_file=<the file of its '
            'images>)'):
        warn(msg)
    names = ', '.join(type(m).__name__ for m in evaluator.metrics)
    logger.info(f'{args.pkl}: scoring the predictions of {len(samples)} '
                f'images with {names} ...')
    try:
        metrics = evaluator.offline_evaluate(samples, chunk_size=64)
    except MetricFailed as exc:  # its traceback: --debug
        raise UserError(f'{args.pkl}: {exc}') from exc
    digits = (cfg.get('log_processor') or {}).get('num_digits', 4)
    logger.info(f'{args.pkl} ({len(samples)} images)    '
                f'{metrics_line(metrics, digits)}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
