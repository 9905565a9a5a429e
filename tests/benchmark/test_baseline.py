"""glip-lite and its closed-set baseline dyhead-lite in one benchmark call
on the embedded Raccoon subset (zero-shot and 1 shot, one seed, one epoch of
one image): one table with both, the baseline without zero-shot; bad
inputs of several models refused in one line."""
import csv
import json
import shutil

import pytest

from ..conftest import REPO

TASK = REPO / 'configs/_base_/datasets/raccoon_mini.py'
SCHEDULE = REPO / 'configs/_base_/schedules/odinw_fewshot_cpu.py'
TINY = ['--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1']


def _schedule(root):
    path = root / 'schedule.py'
    path.write_text(f'_base_ = {str(SCHEDULE)!r}\n'
                    'fewshot_repeats = {1: 1}\n')
    return path


def _task_copy(root, classes="('raccoon', )"):
    """raccoon_mini.py under the same task name, its class list editable."""
    (root / 'tasks').mkdir(exist_ok=True)
    path = root / 'tasks' / 'raccoon_mini.py'
    path.write_text(
        f'_base_ = {str(TASK)!r}\n'
        f"task = dict(name='raccoon_mini', root='raccoon_mini/', "
        f'classes={classes})\n'
        'train_dataloader = dict(dataset=dict(task=task))\n'
        'val_dataloader = dict(dataset=dict(task=task))\n'
        'test_dataloader = val_dataloader\n')
    return path


@pytest.fixture(scope='module')
def both(tmp_path_factory, benchmark_tool):
    """One call with glip-lite and --baseline (dyhead-lite)."""
    from mmglip.utils.cli import run_tool
    root = tmp_path_factory.mktemp('baseline')
    task = _task_copy(root)
    work = root / 'work'
    argv = ['glip-lite', '--baseline', '--tasks', task, '--schedule',
            _schedule(root), '--shots', '0', '1', '--seeds', '3',
            '--work-dir', work, *TINY]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        status = run_tool(benchmark_tool.main, [str(a) for a in argv])
    assert status == 0
    return root, work, [str(a) for a in argv]


def test_one_table_with_glip_and_the_baseline(both):
    _, work, _ = both
    table = (work / 'table.md').read_text()
    assert '### Models compared: AP (on raccoon_mini' in table
    assert '| model | tuning | zero-shot | 1-shot |' in table
    rows = {line.split(' | ')[0].strip('| '): line.split(' | ')
            for line in table.splitlines() if line.startswith('| ')}
    glip, base = rows['glip-lite'], rows['dyhead-lite (closed-set baseline)']
    assert base[2] == '-'  # no zero-shot for a closed-set model
    results = json.loads((work / 'results.json').read_text())
    by_model = {(r['model'], r['shot']): r for r in results}
    assert set(by_model) == {('glip-lite', 0), ('glip-lite', 1),
                             ('dyhead-lite', 1)}
    assert glip[2] == f'{by_model["glip-lite", 0]["ap"]:.1f}'
    assert base[3].rstrip(' |') == f'{by_model["dyhead-lite", 1]["ap"]:.1f}'
    with open(work / 'results.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['model'] for r in rows] == ['glip-lite', 'glip-lite',
                                          'dyhead-lite']
    assert (work / 'ap_vs_shots.png').stat().st_size > 1000
    # the same k-shot files for both, each model's runs in its own folder
    assert sorted(p.name for p in (work / 'splits' / 'raccoon_mini')
                  .iterdir())
    for model in ('glip-lite', 'dyhead-lite'):
        done = json.loads((work / model / 'runs/raccoon_mini/full/'
                           'shot1_seed3/result.json').read_text())
        assert done['model'] == model
        assert (work / model / 'benchmark.json').is_file()
        assert not (work / model / 'splits').exists()
    # the baseline trained the classifier of the task's one class
    cfg = next((work / 'dyhead-lite/runs/raccoon_mini/full/shot1_seed3')
               .glob('*/vis_data/config.py'), None) or next(
        (work / 'dyhead-lite/runs/raccoon_mini/full/shot1_seed3')
        .glob('*/*.py'))
    assert 'num_classes=1' in cfg.read_text().replace(' ', '')


def test_second_call_redoes_nothing(both, run_benchmark):
    _, work, argv = both
    before = (work / 'table.md').read_text()
    status, out, err = run_benchmark(*argv)
    assert status == 0, err
    assert '1 runs of dyhead-lite planned, 1 on this worker (0/1), 1 ' \
        'already done' in err + out
    assert (work / 'table.md').read_text() == before


def test_a_changed_class_list_is_refused(both, run_benchmark):
    root, work, argv = both
    other = root / 'other'
    other.mkdir()
    task = _task_copy(other, "('raccoon', 'dog')")
    argv = list(argv)
    argv[argv.index('--tasks') + 1] = str(task)
    status, _, err = run_benchmark(*argv)
    assert status != 0
    lines = [line for line in err.splitlines()
             if line.strip() and not line.startswith('note:')]
    assert len(lines) == 1 and 'another configuration' in lines[0]
    assert "task 'raccoon_mini'" in lines[0]


@pytest.mark.parametrize('mode', ['prompt', 'linear'])
def test_closed_set_modes_refused(run_benchmark, tmp_path, mode):
    status, _, err = run_benchmark(
        'glip-lite', 'dyhead-lite', '--tasks', TASK, '--modes', 'full', mode,
        '--shots', '1', '--work-dir', tmp_path / 'w')
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert f'--modes {mode}: dyhead-lite is a closed-set detector' in err
    assert 'supports full tuning only' in err
    assert not (tmp_path / 'w' / 'models.json').exists()


def test_baseline_of_an_unknown_model(run_benchmark, tmp_path):
    config = tmp_path / 'mine.py'
    shutil.copy(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py', config)
    status, _, err = run_benchmark(config, '--baseline', '--tasks', TASK,
                                   '--work-dir', tmp_path / 'w')
    assert status == 2
    assert 'no closed-set baseline known for' in err and 'dyhead-t' in err


def test_layouts_are_not_mixed(both, run_benchmark, tmp_path):
    _, work, argv = both
    status, _, err = run_benchmark('glip-lite', *argv[argv.index('--tasks'):])
    assert status == 2 and 'holds a benchmark of several models' in err


def test_weights_count_must_match(run_benchmark, tmp_path):
    w = tmp_path / 'w.pth'
    w.write_bytes(b'x')
    status, _, err = run_benchmark('glip-lite', 'dyhead-lite', '--weights',
                                   w, w, w, '--tasks', TASK, '--work-dir',
                                   tmp_path / 'w')
    assert status == 2 and '3 given for 2 models' in err
