"""ODinW zero-shot as published (issue 10 item 3): the official settings of
every task (evaluation split, class renames, caption prompt) as the
benchmark's zero-shot mode applies them, and ``tools/benchmark_fewshot.py
MODEL --shots 0`` end to end with glip-lite over the 13 task configs on a
generated tree in the official layout, and on the real Aquarium data
through the converter."""
import json
import os.path as osp
import warnings

import pytest

from mmglip.benchmark import FewShotBenchmark, RunSpec
from mmglip.benchmark.plan import task_configs
from mmglip.benchmark.run_config import build_run_config
from mmglip.datasets import odinw_split_files
from mmglip.odinw_tasks import ODINW35_TASKS, ODINW_TASKS
from tests.tool_modules import load_tool
from .conftest import AQUARIUM, need, write_coco, write_image
from ..conftest import REPO

MODEL = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
SCHEDULE = str(REPO / 'configs/_base_/schedules/odinw_fewshot_cpu.py')

# The official settings, read off microsoft/GLIP configs/odinw_13 and
# configs/odinw_35 (DATASETS.TEST, OVERRIDE_CATEGORY, CAPTION_PROMPT; the
# README's commands switch USE_OVERRIDE_CATEGORY and USE_CAPTION_PROMPT on):
# task -> (evaluation split folder, renamed classes, caption prompt classes)
ODINW13 = {t: ('valid', None, None) for t in ODINW_TASKS}
ODINW13.update(EgoHands=('mini_val', None, None),
               VehiclesOpenImages=('mini_val', None, None),
               pistols=('val', None, None))
MINIVAL35 = ('DroneControl', 'EgoHands_generic', 'EgoHands_specific',
             'OxfordPets_by-breed', 'OxfordPets_by-species', 'PKLot',
             'UnoCards', 'VehiclesOpenImages', 'brackishUnderwater',
             'openPoetryVision', 'websiteScreenshots')
ONE_FOLDER35 = ('boggleBoards', 'dice', 'pistols', 'selfdrivingCar')
ODINW35 = {t: ('mini_val' if t in MINIVAL35 else
               'val' if t in ONE_FOLDER35 else 'valid', None, None)
           for t in ODINW35_TASKS}
ODINW35.update(
    Aquarium=('valid', None, ('penguin', 'puffin', 'stingray')),
    CottontailRabbits=('valid', {'Cottontail-Rabbit': 'rabbit'}, None),
    EgoHands_generic=('mini_val', None, ('hand', )),
    NorthAmericaMushrooms=('valid', {
        'CoW': 'flat mushroom',
        'chanterelle': 'yellow mushroom'
    }, None),
    Packages=('valid', None, ('package', )),
    pothole=('valid', None, ('pothole', )))


def _bench(work, task_set, data_root='data/odinw', **kwargs):
    return FewShotBenchmark(MODEL, str(work), str(data_root),
                            task_configs([task_set]), SCHEDULE, **kwargs)


@pytest.mark.parametrize('task_set, official', [('odinw13', ODINW13),
                                                ('odinw35', ODINW35)])
def test_zero_shot_mode_is_the_official_settings(task_set, official,
                                                 tmp_path):
    """What --shots 0 evaluates per task: the official evaluation split
    (the val role: val, or minival where the task has one, never test) with
    the official commands' prompt switches on, so exactly the task's
    official renames and caption prompt reach the prompt."""
    bench = _bench(tmp_path, task_set)
    assert list(bench.task_configs) == list(official)
    for task, (folder, renamed, prompted) in official.items():
        cfg = build_run_config(bench, RunSpec(task, 0, 0, 'zero-shot'))
        ds = cfg.test_dataloader.dataset
        assert ds.split == 'val' and ds.task.name == task
        ann, _ = odinw_split_files(ds.task, 'val')
        assert osp.basename(osp.dirname(ann)) == folder or \
            osp.basename(ann).startswith(folder + '_'), (task, ann)
        assert cfg.test_evaluator == cfg.val_evaluator
        assert ds.use_caption_prompt and ds.use_class_overrides
        assert ds.task.get('class_overrides') == renamed, task
        prompt = ds.task.get('caption_prompt')
        assert (tuple(prompt) if prompt else None) == prompted, task
        # k-shot runs keep testing on the test split, same prompt switches
        k = build_run_config(bench, RunSpec(task, 1, 3, 'full'))
        assert k.test_dataloader.dataset.split == 'test'
        assert k.val_dataloader.dataset.use_caption_prompt


def test_cfg_options_still_win(tmp_path):
    bench = _bench(tmp_path, 'Raccoon', cfg_options={
        'test_dataloader.dataset.split': 'test',
        'test_dataloader.dataset.use_class_overrides': False})
    cfg = build_run_config(bench, RunSpec('Raccoon', 0, 0, 'zero-shot'))
    assert cfg.test_dataloader.dataset.split == 'test'
    assert not cfg.test_dataloader.dataset.use_class_overrides


def _odinw_tree(root):
    """The 13 tasks in the official layout, two tiny images per split
    (each with a box of every class), the files as the official zips name
    them (valid/, mini_val/, pistols' one folder)."""
    from mmengine.config import Config
    for task, path in task_configs(['odinw13']).items():
        spec = Config.fromfile(path).task
        classes = spec.classes
        for split in ('train', 'val', 'test'):
            ann, img_dir = odinw_split_files(spec, split)
            names = [f'{task}_{split}_{i}.jpg' for i in range(2)]
            for i, name in enumerate(names):
                write_image(root / img_dir / name, (64, 48),
                            (40 * i, 90, 160))
            write_coco(root / ann, [(i + 1, n, 64, 48)
                                    for i, n in enumerate(names)],
                       [(len(classes) * i + k + 1, i + 1, k + 1,
                         [4 + k, 4, 30, 24]) for i in range(2)
                        for k in range(len(classes))],
                       [(k + 1, c) for k, c in enumerate(classes)])


SMALL = ['--cfg-options', 'test_dataloader.dataset.pipeline.1.scale=(96,72)',
         'model.language_model.pretrained=False',
         'model.backbone.pretrained=False',
         'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False']


def _zero_shot(tool, argv):
    from mmglip.utils.cli import run_tool
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return run_tool(tool.main, [str(a) for a in argv])


def test_zero_shot_over_the_13_tasks(tmp_path, capsys, monkeypatch):
    """--shots 0 over the default task set: one evaluation per task on its
    official split, the per-task table and the 13-task average."""
    monkeypatch.chdir(REPO)
    root, work = tmp_path / 'odinw', tmp_path / 'work'
    _odinw_tree(root)
    tool = load_tool('tools/benchmark_fewshot.py')
    status = _zero_shot(tool, [MODEL, '--shots', '0', '--data-root', root,
                               '--work-dir', work, *SMALL])
    out = capsys.readouterr().out
    assert status == 0, out
    results = json.loads((work / 'results.json').read_text())
    assert [r['task'] for r in results] == sorted(ODINW_TASKS)
    files = {r['task']: r['eval_file'] for r in results}
    assert files['EgoHands'] == f'EgoHands/generic/mini_val/{_ANN}'
    assert files['VehiclesOpenImages'] == \
        f'VehiclesOpenImages/416x416/mini_val/{_ANN}'
    assert files['pistols'] == f'pistols/export/val_{_ANN}'
    assert files['Raccoon'] == f'Raccoon/Raccoon.v2-raw.coco/valid/{_ANN}'
    assert all(r['shot'] == 0 and r['epochs'] == 0 for r in results)
    table = (work / 'table.md').read_text()
    assert 'official evaluation split' in table
    assert '| **average (13 tasks)** |' in table
    assert all(f'| {t} |' in table for t in ODINW_TASKS)
    assert '| **average (13 tasks)** |' in out


_ANN = 'annotations_without_background.json'


def test_zero_shot_on_real_aquarium(tmp_path, capsys, monkeypatch):
    """The shared Aquarium (YOLO) through the converter into the official
    folder, zero-shot as published on its valid split (3 images)."""
    need(AQUARIUM)
    import sys
    sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
    from odinw_formats import convert
    monkeypatch.chdir(REPO)
    root = tmp_path / 'odinw'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        convert(str(AQUARIUM), str(root / 'Aquarium' /
                                   'Aquarium Combined.v2-raw-1024.coco'),
                'yolo', link=True)
    tool = load_tool('tools/benchmark_fewshot.py')
    work = tmp_path / 'work'
    status = _zero_shot(tool, [
        MODEL, '--tasks', 'Aquarium', '--shots', '0', '--data-root', root,
        '--work-dir', work, *SMALL, 'test_dataloader.dataset.indices=3'])
    out = capsys.readouterr().out
    assert status == 0, out
    (result, ) = json.loads((work / 'results.json').read_text())
    assert result['eval_file'] == \
        f'Aquarium/Aquarium Combined.v2-raw-1024.coco/valid/{_ANN}'
    assert 0 <= result['ap'] <= 100
    assert '| Aquarium |' in (work / 'table.md').read_text()
