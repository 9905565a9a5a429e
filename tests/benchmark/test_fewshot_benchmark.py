"""tools/benchmark_fewshot.py on the embedded Raccoon subset with glip-lite:
one short run (1 shot, 1 seed, 2 epochs of one image), killed after its
first epoch and resumed, shared by the tests below: reports written, only
the best weights kept, nothing redone, repeated arguments merged, foreign
work dirs refused. Planning and tables are tested without training."""
import csv
import json
import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from mmglip.benchmark import aggregate, markdown_table, plan_runs, shard
from mmglip.benchmark.plan import RunSpec, unique

from tests.tool_modules import load_tool
from ..conftest import REPO

MODEL = 'configs/glip_lite/glip-lite_raccoon-mini.py'
TASK = 'configs/_base_/datasets/raccoon_mini.py'
SCHEDULE = 'configs/_base_/schedules/odinw_fewshot_cpu.py'
RUN = 'runs/raccoon_mini/full/shot1_seed3'


def test_plan_and_shard():
    runs = plan_runs(['A', 'B'], [0, 1, 3, 'all'], [3, 30], ['full'])
    names = [r.name for r in runs]
    assert names[:4] == ['A/zero-shot/shot0_seed0', 'A/full/shot1_seed3',
                         'A/full/shot1_seed30', 'A/full/shot3_seed3']
    assert 'A/full/shotall_seed3' in names and len(runs) == 2 * 6
    parts = [shard(runs, r, 3) for r in range(3)]
    assert sorted(n for p in parts for n in (x.name for x in p)) == \
        sorted(names)


def test_repeats_plan_nothing_twice(capsys):
    runs = plan_runs(['A', 'A'], [0, 1, 1, 0], [3, 3, 30], ['full', 'full'])
    assert len(runs) == len(set(runs)) == 1 + 2
    assert runs[1] == RunSpec('A', 1, 3, 'full')
    assert unique([3, 30, 3, 300, 30, 3], '--seeds') == [3, 30, 300]
    err = capsys.readouterr().err
    assert err == 'warning: --seeds: 3, 30 given more than once; each is ' \
        'used once.\n'
    assert unique(['full'], '--modes') == ['full']
    assert capsys.readouterr().err == ''


def test_one_task_table():
    """The tool's default tasks (the set odinw13), the task configs and the
    zips: the tables ODINW_TASKS / ODINW35_TASKS; each name's config states
    that name; the sets expand to their configs."""
    from mmengine.config import Config

    from mmglip.benchmark.plan import task_configs
    from mmglip.datasets.odinw import odinw_config_path
    from mmglip.datasets.odinw_download import ODINW13_ZIPS
    from mmglip.odinw_tasks import ODINW35_TASKS, ODINW_TASKS
    tool = load_tool('tools/benchmark_fewshot.py')
    assert tool.parse_args(['m', '--work-dir', 'w']).tasks == ['odinw13']
    assert set(ODINW13_ZIPS) == set(ODINW_TASKS)
    for name in ODINW_TASKS:
        assert Config.fromfile(odinw_config_path(name)).task.name == name
    thirteen = task_configs(['odinw13'])
    assert list(thirteen) == list(ODINW_TASKS)
    assert thirteen['Aquarium'] == odinw_config_path('Aquarium')
    assert task_configs(['Aquarium']) == {'Aquarium': thirteen['Aquarium']}
    odinw35 = task_configs(['ODinW35'])
    assert list(odinw35) == list(ODINW35_TASKS) and len(odinw35) == 35
    for name, path in odinw35.items():
        assert '/odinw35/' in path
        assert Config.fromfile(path).task.name == name
    assert task_configs(['EgoHands_specific']) == {
        'EgoHands_specific': odinw35['EgoHands_specific']}


def test_table_mean_std_and_average():
    res = [dict(mode='full', task=t, shot=1, seed=s, ap=ap)
           for t, aps in (('A', (10, 20)), ('B', (30, 30)))
           for s, ap in zip((3, 30), aps)]
    agg = aggregate(res)
    assert agg['cells'][('full', 'A', '1')]['mean'] == 15
    assert round(agg['cells'][('full', 'A', '1')]['std'], 3) == 7.071
    assert agg['average'][('full', '1')]['mean'] == 22.5
    table = markdown_table(agg)
    assert '| A | 15.0 ± 7.1 |' in table
    assert '| **average (2 tasks)** | 22.5 ±' in table


# ------------------------------------------------------------ one real run
def _argv(work_dir, schedule, epochs=2, shots=('1', ), seeds=('3', )):
    return [MODEL, '--tasks', TASK, '--schedule', str(schedule),
            '--work-dir', str(work_dir), '--shots', *shots, '--seeds', *seeds,
            '--cfg-options', f'train_cfg.max_epochs={epochs}',
            'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1']


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    """A work dir with one finished run that was killed after epoch 1 (its
    epoch 2 checkpoint then replaced by a file cut short) and resumed.
    Returns (work dir, schedule, the resumed call's CompletedProcess).

    The kill comes from inside, at a known point: the schedule adds
    KillOnceAfterEpoch (tests/benchmark/kill_hook.py), which SIGKILLs the
    first call right after epoch 1's checkpoint is written and then never
    again (its flag file is gone), whatever the machine's speed."""
    root = tmp_path_factory.mktemp('benchmark')
    flag = root / 'kill_after_epoch_1'
    flag.write_text('')
    # the CPU schedule, with the 1-shot set not repeated: one image, one
    # iteration per epoch
    schedule = root / 'schedule.py'
    schedule.write_text(
        f'_base_ = {str(REPO / SCHEDULE)!r}\n'
        'fewshot_repeats = {1: 1}\n'
        "custom_imports = dict(imports=['tests.benchmark.kill_hook'])\n"
        'custom_hooks = [dict(type="KillOnceAfterEpoch", epoch=1, '
        f'flag_file={str(flag)!r})]\n')
    work = root / 'work'
    cmd = [sys.executable, 'tools/benchmark_fewshot.py',
           *_argv(work, schedule)]
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=env)
    assert first.returncode == -signal.SIGKILL, first.stderr[-4000:]
    assert not flag.exists()
    run_dir = work / RUN
    assert not (run_dir / 'result.json').exists()
    assert (run_dir / 'epoch_1.pth').is_file()
    assert (run_dir / 'last_checkpoint').is_file()
    assert not (run_dir / 'epoch_2.pth').exists()
    # as if the kill had come while epoch 2 was being saved
    data = (run_dir / 'epoch_1.pth').read_bytes()
    (run_dir / 'epoch_2.pth').write_bytes(data[:len(data) // 2])

    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    return work, schedule, res


def test_killed_run_resumes_and_keeps_best_weights(finished):
    work, _, res = finished
    stderr = res.stderr
    run_dir = work / RUN
    log = '\n'.join(p.read_text() for p in run_dir.glob('*/*.log'))
    assert 'epoch_2.pth cannot be read' in stderr
    assert 'resumed epoch: 1' in log
    result = json.loads((run_dir / 'result.json').read_text())
    assert result['epochs'] == 2 and 0 <= result['ap'] <= 100
    # only the best weights stay: no epoch, best, pointer or set-aside file
    assert sorted(p.name for p in run_dir.iterdir() if p.is_file()) == [
        'glip-lite_raccoon-mini.py', 'result.json', 'weights_best.pth']
    assert result['weights_file'] == RUN + '/weights_best.pth'
    weights = torch.load(work / result['weights_file'], map_location='cpu',
                         weights_only=False)
    assert set(weights) == {'state_dict', 'meta'}
    assert weights['meta']['epoch'] in (1, 2)
    # reports and the k-shot splits
    for name in ('results.json', 'results.csv', 'table.md',
                 'ap_vs_shots.png'):
        assert (work / name).is_file(), name
    assert '| raccoon_mini |' in (work / 'table.md').read_text()
    assert (work / 'splits/raccoon_mini/fewshot_train_shot1_seed3.json'
            ).is_file()


def _stamps(work):
    return {p: p.stat().st_mtime_ns for p in work.glob('runs/**/*')
            if p.is_file()}


def test_nothing_redone_and_repeats_merged(finished, run_benchmark):
    work, schedule, _ = finished
    stamps = _stamps(work)
    status, out, err = run_benchmark(
        *_argv(work, schedule, shots=('1', '1'), seeds=('3', '3')))
    assert status == 0, err
    assert '1 runs planned' in out and '1 already done' in out
    warnings = [line for line in err.splitlines()
                if line.startswith('warning:')]
    assert warnings == [
        'warning: --shots: 1 given more than once; each is used once.',
        'warning: --seeds: 3 given more than once; each is used once.']
    assert _stamps(work) == stamps


def test_other_configuration_refused(finished, run_benchmark):
    work, schedule, _ = finished
    stamps = _stamps(work)
    record = (work / 'benchmark.json').read_bytes()
    status, _, err = run_benchmark(*_argv(work, schedule, epochs=3))
    assert status == 2 and 'Traceback' not in err
    assert 'another configuration' in err and 'cfg_options' in err
    assert (work / 'benchmark.json').read_bytes() == record
    assert _stamps(work) == stamps


def test_console_shows_progress_and_the_log_file_the_rest(finished):
    """Issue 19 item 8: run i of N, the run's progress with an ETA and its
    AP as it finishes on the console; mmengine's config and environment
    dumps, its log lines, the frozen-parameter notes and pycocotools'
    tables only in the run's log file."""
    work, _, res = finished
    out = res.stdout
    lines = [line for line in out.splitlines()
             if line.startswith('[benchmark]')]
    assert lines[0].startswith('[benchmark] 1 runs planned, 1 on this '
                               'worker (0/1), 0 already done')
    label = '[benchmark] run 1/1 raccoon_mini/full/shot1_seed3: '
    assert lines[1] == label + 'full tuning'
    start = re.fullmatch(re.escape(label) + r'training 2 epochs of 1 '
                         r'iterations, resumed after epoch 1 \(log: (.*)\)',
                         lines[2])
    assert start, lines[2]
    log = REPO / start.group(1)  # relative to the tool's working folder
    assert log.is_file() and log.parent.parent == work / RUN
    assert re.fullmatch(re.escape(label) + r'epoch 2/2, val AP \d+\.\d; '
                        r'ETA \d+ s', lines[3]), lines[3]
    assert lines[4] == label + 'testing the best checkpoint on 8 images'
    assert label + '4/8 images' in lines
    assert re.fullmatch(re.escape(label) + r'AP \d+\.\d on the test split '
                        r'\(took \d+ (s|min \d\d s)\); all runs of this call '
                        'done', lines[-1]), lines[-1]
    console = out + res.stderr
    text = log.read_text()
    for only_in_log in ('System environment', 'Config:',
                        'Hooks will be executed in the following order',
                        'is skipped since its requires_grad=False',
                        'Average Precision', 'Epoch(train)'):
        assert only_in_log not in console, only_in_log
        assert only_in_log in text, only_in_log
    assert ' - mmengine - INFO - ' not in console


def test_csv_rounds_as_the_table(finished, tmp_path):
    """Issue 19 item 11: results.csv holds AP (and seconds) with the one
    decimal of the table, not 0.8999999999999999; results.json keeps the
    values as computed."""
    from mmglip.benchmark.report import write_reports
    work, _, _ = finished
    with open(work / 'results.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    for key in ('ap', 'ap50', 'val_best_ap', 'seconds'):
        assert re.fullmatch(r'\d+\.\d', rows[0][key]), (key, rows[0][key])
    result = json.loads((work / RUN / 'result.json').read_text())
    assert float(rows[0]['ap']) == pytest.approx(result['ap'], abs=0.05)
    # the value of the report that showed it
    res = [dict(mode='full', task='t', shot=1, seed=3, ap=100 * 0.009,
                ap50=100 * 0.029, val_best_ap=None, epochs=2,
                seconds=61.04, eval_file='t/test/a.json')]
    assert res[0]['ap'] == 0.8999999999999999
    paths = write_reports(res, str(tmp_path))
    with open(paths['results.csv'], newline='') as f:
        row = next(csv.DictReader(f))
    assert (row['ap'], row['ap50'], row['val_best_ap'], row['seconds']) == (
        '0.9', '2.9', '', '61.0')
    assert '| t | 0.9 |' in open(paths['table.md']).read()
    assert json.loads(open(paths['results.json']).read())[0]['ap'] == \
        0.8999999999999999
