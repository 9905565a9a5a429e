"""tools/benchmark_fewshot.py on the embedded Raccoon subset with glip-lite:
tables and plot written, nothing redone, killed runs resume, foreign work
dirs refused."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mmglip.benchmark import (BenchmarkError, aggregate, markdown_table,
                              plan_runs, shard)

from ..conftest import REPO

MODEL = 'configs/glip_lite/glip-lite_raccoon-mini.py'
TASK = 'configs/_base_/datasets/raccoon_mini.py'
SCHEDULE = 'configs/_base_/schedules/odinw_fewshot_cpu.py'


def _cmd(work_dir, *extra, epochs=1):
    return [sys.executable, 'tools/benchmark_fewshot.py', MODEL, '--tasks',
            TASK, '--schedule', SCHEDULE, '--work-dir', str(work_dir),
            '--cfg-options', f'train_cfg.max_epochs={epochs}',
            'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
            *extra]


def _run(cmd, **kw):
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=env, **kw)


def test_plan_and_shard():
    runs = plan_runs(['A', 'B'], [0, 1, 3, 'all'], [3, 30], ['full'])
    names = [r.name for r in runs]
    assert names[:4] == ['A/zero-shot/shot0_seed0', 'A/full/shot1_seed3',
                         'A/full/shot1_seed30', 'A/full/shot3_seed3']
    assert 'A/full/shotall_seed3' in names and len(runs) == 2 * 6
    parts = [shard(runs, r, 3) for r in range(3)]
    assert sorted(n for p in parts for n in (x.name for x in p)) == \
        sorted(names)


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


def test_two_shots_two_seeds_then_nothing_redone(tmp_path):
    res = _run(_cmd(tmp_path, '--shots', '1', '3', '--seeds', '3', '30'))
    assert res.returncode == 0, res.stderr[-4000:]
    for name in ('results.json', 'results.csv', 'table.md',
                 'ap_vs_shots.png'):
        assert (tmp_path / name).is_file(), name
    results = json.loads((tmp_path / 'results.json').read_text())
    assert sorted((r['shot'], r['seed']) for r in results) == \
        [(1, 3), (1, 30), (3, 3), (3, 30)]
    table = (tmp_path / 'table.md').read_text()
    assert '| raccoon_mini |' in table and '1-shot' in table
    # the k-shot splits were written with the results
    splits = sorted(p.name for p in (tmp_path / 'splits/raccoon_mini').iterdir())
    assert 'fewshot_train_shot3_seed30.json' in splits
    stamps = {p: p.stat().st_mtime_ns
              for p in tmp_path.glob('runs/**/result.json')}
    assert len(stamps) == 4

    again = _run(_cmd(tmp_path, '--shots', '1', '3', '--seeds', '3', '30'))
    assert again.returncode == 0, again.stderr[-4000:]
    assert '4 already done' in again.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert not any(p.name.startswith('epoch_') and
                   p.stat().st_mtime_ns > max(stamps.values())
                   for p in tmp_path.glob('runs/**/*.pth'))

    # same work dir, another configuration: refused, nothing touched
    other = _run(_cmd(tmp_path, '--shots', '1', '--seeds', '3', epochs=2))
    assert other.returncode != 0
    assert 'another configuration' in other.stderr
    assert 'cfg_options' in other.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_killed_run_resumes(tmp_path):
    cmd = _cmd(tmp_path, '--shots', 'all', '--seeds', '3', epochs=3)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=dict(os.environ, HF_HUB_OFFLINE='1'),
                            start_new_session=True)
    run_dir = tmp_path / 'runs/raccoon_mini/full/shotall_seed3'
    deadline = time.time() + 600
    # mmengine writes last_checkpoint once epoch_1.pth is complete
    while not (run_dir / 'last_checkpoint').is_file():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / 'result.json').exists()

    res = _run(cmd)
    assert res.returncode == 0, res.stderr[-4000:]
    log = '\n'.join(p.read_text() for p in run_dir.glob('*/*.log'))
    assert 'resumed epoch: 1' in log
    result = json.loads((run_dir / 'result.json').read_text())
    assert result['epochs'] == 3 and 0 <= result['ap'] <= 100


def test_unreadable_checkpoint_is_set_aside(tmp_path):
    import torch

    from mmglip.benchmark.run import latest_checkpoint
    torch.save({'meta': {}}, tmp_path / 'epoch_1.pth')
    (tmp_path / 'epoch_2.pth').write_bytes(b'cut short by a kill')
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    assert (tmp_path / 'epoch_2.pth.incomplete').is_file()
    assert latest_checkpoint(str(tmp_path / 'none')) is None


def test_bad_inputs():
    res = _run([sys.executable, 'tools/benchmark_fewshot.py', MODEL,
                '--tasks', 'NoSuchTask', '--work-dir', '/tmp/unused'])
    assert res.returncode != 0 and "unknown task 'NoSuchTask'" in res.stderr
    with pytest.raises(BenchmarkError, match="--shots '2'"):
        from mmglip.benchmark.fewshot import parse_shots
        parse_shots(['1', '2'])
