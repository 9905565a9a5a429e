"""What every command-line tool promises: a description and help for every
argument, defaults shown; errors in the input as one line (exit 2)."""
import os
import re
import subprocess
import sys

import pytest

from mmglip.utils.cli import HelpFormatter, UserError, run_tool

from ..conftest import REPO
from ..tool_modules import load_tool

TOOLS = ['tools/infer.py', 'tools/train.py', 'tools/test.py',
         'tools/benchmark_fewshot.py', 'tools/download.py',
         'tools/convert_official.py',
         'tools/dataset_converters/to_odinw.py',
         'tools/dataset_converters/check_odinw.py',
         'tools/dataset_converters/sample_fewshot.py']


@pytest.mark.parametrize('tool', TOOLS)
def test_help_describes_every_argument(tool):
    res = subprocess.run([sys.executable, tool, '--help'], cwd=REPO,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    text = res.stdout
    usage, _, rest = text.partition('\n\n')
    description = rest.split('\n\n')[0].strip()
    assert description and not description.startswith(
        ('positional', 'options')), text[:500]
    # every argument line is followed by its help text
    import argparse
    module = load_tool(tool)
    parser_calls = []
    original = (argparse.ArgumentParser.parse_args,
                argparse.ArgumentParser.parse_intermixed_args)

    def capture(self, *a, **k):
        parser_calls.append(self)
        raise SystemExit(0)
    argparse.ArgumentParser.parse_args = capture
    argparse.ArgumentParser.parse_intermixed_args = capture  # to_odinw.py
    try:
        with pytest.raises(SystemExit):
            (getattr(module, 'parse_args', None) or module.main)([])
    finally:
        (argparse.ArgumentParser.parse_args,
         argparse.ArgumentParser.parse_intermixed_args) = original
    parser = parser_calls[0]
    assert parser.formatter_class is HelpFormatter, tool
    for action in parser._actions:
        assert action.help, f'{tool}: {action.dest} has no help'
        if action.default not in (None, False) and action.option_strings \
                and action.dest not in ('help', 'local_rank'):
            assert '(default: ' in parser.format_help(), tool
    assert '--debug' in text


def test_run_tool_turns_user_errors_into_one_line(capsys):
    def bad_input(argv):
        raise UserError('input.json: no such file.')

    def bug(argv):
        raise ZeroDivisionError('a bug')

    assert run_tool(bad_input, []) == 2
    assert capsys.readouterr().err == 'error: input.json: no such file.\n'
    with pytest.raises(UserError):  # --debug: the traceback
        run_tool(bad_input, ['--debug'])
    with pytest.raises(ZeroDivisionError):  # bugs keep their traceback
        run_tool(bug, [])

    def interrupted(argv):
        raise KeyboardInterrupt
    assert run_tool(interrupted, []) == 130


def test_cfg_options_keys_are_checked_against_the_config():
    from mmengine.config import Config

    from mmglip.utils.cli import unknown_cfg_keys
    cfg = Config.fromfile(str(REPO / 'configs/glip_lite/'
                              'glip-lite_raccoon-mini.py'))
    assert unknown_cfg_keys(cfg, {'model.test_cfg.max_per_img': 1,
                                  'train_cfg.max_epochs': 2}) == []
    msgs = unknown_cfg_keys(cfg, {'model.test_cfg.max_per_imgg': 1,
                                  'modle.chunk_size': 4,
                                  'train_dataloader.dataset.pipeline.9.x': 1})
    assert "model.test_cfg has no key 'max_per_imgg' (did you mean " \
        "'max_per_img'?)" in msgs[0]
    assert "the config has no key 'modle' (did you mean 'model'?)" in msgs[1]
    assert 'is a list of' in msgs[2]


def test_dataloader_options_are_checked_against_the_dataloader():
    """Keys right under a ``*_dataloader`` go to torch's DataLoader: one it
    takes is no typo; one it does not take is named (a warning from
    unknown_cfg_keys, an error from check_dataloader_cfgs)."""
    from mmengine.config import Config

    from mmglip.utils.cli import (UserError, check_dataloader_cfgs,
                                  unknown_cfg_keys)
    cfg = Config.fromfile(str(REPO / 'configs/glip_lite/'
                              'glip-lite_raccoon-mini.py'))
    assert unknown_cfg_keys(cfg, {'train_dataloader.pin_memory': True,
                                  'val_dataloader.prefetch_factor': 2}) == []
    msgs = unknown_cfg_keys(cfg, {'val_dataloader.num_worker': 0})
    assert msgs == ["--cfg-options val_dataloader.num_worker: val_dataloader "
                    "has no key 'num_worker' (did you mean 'num_workers'?); "
                    "torch's DataLoader does not take it"]
    check_dataloader_cfgs(cfg)  # the config as written
    cfg.merge_from_dict({'train_dataloader.pin_memory': True})
    check_dataloader_cfgs(cfg)
    cfg.merge_from_dict({'test_dataloader.shuffel': False})
    with pytest.raises(UserError, match=r"^test_dataloader\.shuffel: torch's "
                       r"DataLoader .* has no option 'shuffel' \(did you "
                       r"mean 'shuffle'\?\)"):
        check_dataloader_cfgs(cfg)


def test_dataset_options_are_checked_against_the_dataset_class():
    """Keys of a dataloader's dataset (and of the datasets inside wrappers)
    are keyword arguments of the dataset class: one its constructor (or a
    base's) does not take is one error line with the closest option, before
    anything is built - the builder itself would fail with a TypeError."""
    from mmengine.config import Config

    from mmglip.registry import DATASETS
    from mmglip.utils.cli import (UserError, check_dataset_cfgs,
                                  merge_cfg_options, unknown_cfg_keys)
    path = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
    cfg = Config.fromfile(path)
    # an option the class takes is no "unknown key" (it will be used)
    assert unknown_cfg_keys(cfg, {'test_dataloader.dataset.indices': 2,
                                  'val_dataloader.dataset.lazy_init': 0}) \
        == []
    assert unknown_cfg_keys(cfg, {'test_dataloader.dataset.ann_fle': 1}) == [
        '--cfg-options test_dataloader.dataset.ann_fle: '
        "test_dataloader.dataset (ODinWDataset) has no option 'ann_fle' "
        "(did you mean 'ann_file'?); the dataset would not build"]
    # options of ODinWDataset itself and of mmengine's BaseDataset
    merge_cfg_options(cfg, {'test_dataloader.dataset.check_images': True,
                            'test_dataloader.dataset.indices': 2})
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 2
    cfg = Config.fromfile(path)
    with pytest.raises(UserError) as err:
        merge_cfg_options(cfg, {'test_dataloader.dataset.ann_fle': 'x'})
    msg = str(err.value)
    assert msg.startswith(
        "test_dataloader.dataset.ann_fle: ODinWDataset has no option "
        "'ann_fle' (did you mean 'ann_file'?)")
    assert '\n' not in msg and 'check_images' in msg and 'indices' in msg
    # the check's claim, checked: the builder does fail on that key
    with pytest.raises(TypeError, match='ann_fle'):
        DATASETS.build(cfg.test_dataloader.dataset)
    # wrappers: ConcatDataset's datasets, RepeatDataset's dataset
    cfg = Config.fromfile(path)
    part = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(
        type='ConcatDataset', datasets=[part, dict(
            type='RepeatDataset', times=2, dataset=dict(part))])
    check_dataset_cfgs(cfg)
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 3 * len(
        DATASETS.build(part))
    cfg.merge_from_dict(
        {'test_dataloader.dataset.datasets.1.dataset.test_mdoe': True})
    with pytest.raises(UserError, match=re.escape(
            'test_dataloader.dataset.datasets.1.dataset.test_mdoe: '
            "ODinWDataset has no option 'test_mdoe' (did you mean "
            "'test_mode'?)")):
        check_dataset_cfgs(cfg)
    cfg.test_dataloader.dataset.datasets[1].dataset.pop('test_mdoe')
    cfg.test_dataloader.dataset.datasets[1].time = 3
    with pytest.raises(UserError, match=re.escape(
            'test_dataloader.dataset.datasets.1.time: RepeatDataset has no '
            "option 'time' (did you mean 'times'?)")):
        check_dataset_cfgs(cfg)


def test_evaluator_options_are_checked_against_the_metric_class():
    """Keys of ``test_evaluator`` are the metric's keyword arguments: ones it
    takes (``ann_file``, ``outfile_prefix``) are used, not warned about; a
    typo is one error line with the closest option - the builder itself
    would fail with a TypeError after the model was built."""
    from mmengine.config import Config

    from mmglip.registry import METRICS
    from mmglip.utils.cli import (UserError, merge_cfg_options,
                                  unknown_cfg_keys)
    path = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
    cfg = Config.fromfile(path)
    ann = str(REPO / 'demo/data/raccoon_mini/test/'
              'annotations_without_background.json')
    options = {'test_evaluator.ann_file': ann,
               'test_evaluator.outfile_prefix': '/tmp/x'}
    assert unknown_cfg_keys(cfg, options) == []
    merge_cfg_options(cfg, options)
    assert METRICS.build(cfg.test_evaluator).gt_file == ann
    cfg = Config.fromfile(path)
    with pytest.raises(UserError) as err:
        merge_cfg_options(cfg, {'test_evaluator.ann_fle': 'x'})
    msg = str(err.value)
    assert msg.startswith(
        "test_evaluator.ann_fle: DatasetCocoMetric has no option 'ann_fle' "
        "(did you mean 'ann_file'?); the metric would not build")
    assert '\n' not in msg and 'outfile_prefix' in msg
    with pytest.raises(TypeError, match='ann_fle'):
        METRICS.build(cfg.test_evaluator)
    # a list of metrics: each checked, named by its index
    cfg = Config.fromfile(path)
    cfg.test_evaluator = [dict(cfg.test_evaluator),
                          dict(cfg.test_evaluator, prefx='b')]
    with pytest.raises(UserError, match=re.escape(
            "test_evaluator.1.prefx: DatasetCocoMetric has no option "
            "'prefx' (did you mean 'prefix'?)")):
        merge_cfg_options(cfg, None)


def test_a_typod_dataset_key_stops_train_with_one_line(tmp_path):
    res = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/glip_lite/glip-lite_raccoon-mini.py', '--check-only',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         'train_dataloader.dataset.ann_fle=x'],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert res.returncode == 2, res.stderr[-2000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "error: train_dataloader.dataset.ann_fle: ODinWDataset has no option "
        "'ann_fle' (did you mean 'ann_file'?)")
