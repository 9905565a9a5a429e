#!/usr/bin/env python
"""Evaluate a GLIP model (mmdet's tools/test.py flags).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out X.pkl] \\
        [--show-dir DIR] [--cfg-options key=value ...]

CONFIG: a config file or a model name; CHECKPOINT: an mmglip checkpoint, an
official GLIP file or a zoo name (glip-t_c, mmglip://glip-t_c). Arguments
are checked, and the weights read (a zoo model fetched), before the model is
built; an error in them ends with one line naming it (exit status 2). The
weights are loaded as by mmglip.apis.load_weights: a checkpoint of another
GLIP variant is refused, missing / unexpected keys are reported (the
evaluation goes on).

Before any inference, the metric's ground truth (test_evaluator.ann_file)
must hold every image of the dataset (test_dataloader.dataset.ann_file);
otherwise one line names both files. --out never replaces an existing file
and is written before any metric runs: a metric that fails after the
inference is one line naming it and the dump kept (score it again with
tools/analysis/eval_metric.py CONFIG X.pkl), its traceback in the run's log
file. Progress: images done / total, elapsed time and ETA at least every
5 % of the images or 10 s. mmengine's environment, config and hook dumps go
to the run's log file only.

--backend onnxruntime --onnx DIR evaluates the model exported into DIR by
tools/deploy/export_onnx.py (the same data, prompts, post-processing and
metrics; DIR must hold CONFIG's model and CHECKPOINT's weights);
--backend openvino runs the same folder in OpenVINO (--precision bf16:
its detector in bfloat16).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_runner_args, check_file,
                              check_writable_dir, merge_cfg_options,
                              parse_runner_args, run_tool, warn)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('config', help='config file or model name')
    p.add_argument('checkpoint',
                   help='checkpoint (mmglip or official) or a zoo name')
    p.add_argument('--work-dir', help='where logs and metrics go (default: '
                   './work_dirs/<config name>)')
    p.add_argument('--out', help='also dump the predictions to this new '
                   '.pkl file')
    p.add_argument('--show-dir', help='draw predictions into this folder')
    p.add_argument('--backend', default='pytorch',
                   choices=['pytorch', 'onnxruntime', 'openvino'],
                   help='run the networks in PyTorch, or in ONNX Runtime '
                   'or OpenVINO from the --onnx folder')
    p.add_argument('--onnx', metavar='DIR', help='with --backend '
                   'onnxruntime / openvino: the folder '
                   'tools/deploy/export_onnx.py wrote for CONFIG and '
                   'CHECKPOINT')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                   help='with --backend openvino: bf16 computes the '
                   'detector in bfloat16 (faster, drifts; README '
                   '"Deploy")')
    add_runner_args(p, 'the arguments, the config and the checkpoint',
                    'tools/dist_test.sh')
    return parse_runner_args(p, argv)


def check_args(args):
    """Every input checked before the model is built; returns the weights,
    ``(state_dict, meta)`` of :func:`mmglip.weights.load.state_dict_from`."""
    from mmglip.apis.inference import resolve_config
    resolve_config(args.config)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UserError(f'--out {args.out}: must end with .pkl')
        if osp.exists(args.out):
            raise UserError(f'--out {args.out} exists; not overwriting it '
                            '(give another name).')
        check_writable_dir(osp.dirname(args.out) or '.', '--out')
    if args.show_dir:
        check_writable_dir(args.show_dir, '--show-dir')
    from mmglip.deploy import check_backend_args
    check_backend_args(args)
    if osp.exists(args.checkpoint):
        check_file(args.checkpoint, 'CHECKPOINT')
    # a zoo name is fetched (mmglip.zoo.hub) and verified here
    from mmglip.weights.load import state_dict_from
    return state_dict_from(args.checkpoint)


def build_cfg(args):
    from mmengine.config import Config

    from mmglip.apis.inference import resolve_config
    cfg = Config.fromfile(resolve_config(args.config))
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_writable_dir(cfg.work_dir, '--work-dir')
    # a full checkpoint carries BERT: no pretrained download needed
    cfg.model.language_model.pretrained = False
    # the weights are loaded by load_checked_weights, not mmengine's loader
    cfg.load_from = None
    if args.show_dir:
        cfg.default_hooks.visualization.update(
            dict(draw=True, test_out_dir=osp.abspath(args.show_dir)))
    return cfg


def load_checked_weights(runner, weights):
    """Load ``weights`` (from :func:`check_args`) into the runner's model
    with :func:`mmglip.weights.load.load_into_model`; non-strict as
    mmengine's ``load_from``: the report (logged) lists missing / unexpected
    keys and the evaluation goes on; another variant's file is refused."""
    import logging

    from mmengine.model import is_model_wrapper

    from mmglip.weights.load import load_into_model
    model = runner.model.module if is_model_wrapper(runner.model) else \
        runner.model
    state_dict, meta = weights
    report = load_into_model(model, state_dict, meta['label'], strict=False,
                             meta=meta)
    runner.logger.log(logging.INFO if report.ok else logging.WARNING,
                      str(report))
    return report


def prepare_evaluation(runner, args):
    """Build the test loop (the dataset is read, the metrics built), check
    that the metrics' ground truth holds the dataset's images, put the
    ``--out`` dump before the metrics and show progress. Returns the loop's
    evaluator."""
    from mmglip.evaluation import (DumpPredictions, EvalProgressHook,
                                   ReportingEvaluator, check_images_covered,
                                   dataset_images)
    loop = runner.test_loop
    old = loop.evaluator
    dataset = loop.dataloader.dataset
    source = f"the dataset's file {getattr(dataset, 'ann_file', '?')}"
    for msg in check_images_covered(
            dataset_images(dataset), source, old.metrics, here='the dataset',
            fix='set test_evaluator.ann_file to the dataset\'s file (or '
            'the dataset to the file scored)'):
        warn(msg)
    metrics = list(old.metrics)
    if args.out is not None:
        metrics.insert(0, DumpPredictions(out_file_path=args.out))
    evaluator = ReportingEvaluator(metrics)
    evaluator._dataset_meta = old._dataset_meta
    loop.evaluator = evaluator
    runner.register_hook(EvalProgressHook(), 'LOW')
    return evaluator


def metric_failure(runner, args, exc):
    """The one line of a metric that failed after the inference (a
    :class:`mmglip.evaluation.MetricFailed`); its traceback goes to the
    run's log file."""
    import traceback

    from mmglip.utils.run_log import log_file_of
    cause = exc.__cause__ or exc
    runner.logger.error(
        f'{exc}\n' + ''.join(traceback.format_exception(
            type(cause), cause, cause.__traceback__)),
        extra=dict(file_only=True))
    if exc.kept:
        msg = (f'{exc} after the inference; the predictions are kept in '
               f'{exc.kept}: score them again with python '
               f'tools/analysis/eval_metric.py {args.config} {exc.kept}'
               + (' and the same --cfg-options' if args.cfg_options else ''))
    else:
        msg = (f'{exc} after the inference; the predictions were not kept '
               '(--out X.pkl keeps them)')
    log = log_file_of(runner.logger)
    return UserError(msg + (f' (traceback in {log})' if log else ''))


def main(argv=None):
    args = parse_args(argv)
    weights = check_args(args)
    cfg = build_cfg(args)
    if args.check_only:
        print(f'{args.config}: arguments, config and checkpoint checked')
        return 0
    import mmglip
    mmglip.register_all_modules()
    from mmglip.utils.distributed import setup_cpu_distributed
    setup_cpu_distributed(cfg, args.launcher)
    from mmglip.evaluation import MetricFailed
    from mmglip.utils.run_log import build_runner
    runner = build_runner(cfg)
    if args.backend != 'pytorch':
        from mmglip.deploy import load_onnx_model, variant_name
        runner.model = load_onnx_model(
            args.onnx, cfg, args.checkpoint, variant_name(args.config),
            backend=args.backend, precision=args.precision)
    else:
        load_checked_weights(runner, weights)
    del weights  # the model holds them now
    prepare_evaluation(runner, args)
    try:
        runner.test()
    except MetricFailed as exc:
        raise metric_failure(runner, args, exc) from exc


if __name__ == '__main__':
    sys.exit(run_tool(main))
