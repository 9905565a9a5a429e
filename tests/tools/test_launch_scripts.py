"""The launch scripts: missing arguments are a usage line (exit 2), and
tools/slurm_train.sh hands srun one task per GPU and train.py the slurm
launcher (srun is a stand-in that prints what it was given)."""
import os
import subprocess

import pytest

from ..conftest import REPO


@pytest.mark.parametrize('script, args', [
    ('tools/dist_train.sh', ['cfg.py']),
    ('tools/dist_test.sh', ['cfg.py', 'ckpt.pth']),
    ('tools/slurm_train.sh', ['partition', 'job']),
])
def test_missing_arguments_are_a_usage_line(script, args):
    res = subprocess.run(['bash', script, *args], cwd=REPO,
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith('usage: ') and res.stderr.count('\n') == 1


def test_slurm_train_hands_srun_one_task_per_gpu(tmp_path):
    srun = tmp_path / 'srun'
    srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
               GPUS='16', SRUN_ARGS='--quotatype=auto --exclusive')
    res = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'gpu', 'glip-t', 'cfg.py', 'wd',
         '--resume'], cwd=REPO, capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    args = res.stdout.splitlines()
    for flag in ('--partition=gpu', '--job-name=glip-t', '--ntasks=16',
                 '--ntasks-per-node=8', '--gres=gpu:8', '--cpus-per-task=5',
                 '--quotatype=auto', '--exclusive'):
        assert flag in args
    cmd = args[args.index('python'):]
    assert cmd[2:] == [str(REPO / 'tools' / 'train.py'), 'cfg.py',
                       '--work-dir=wd', '--launcher', 'slurm', '--resume']


def test_dist_train_names_a_wrong_argument_once_before_starting(tmp_path):
    """A file of another kind given to --resume: one error line from the
    check before torchrun, no traceback of the launcher, no process run."""
    import sys
    env = dict(os.environ,
               PATH=f'{os.path.dirname(sys.executable)}:{os.environ["PATH"]}')
    res = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         'configs/glip_lite/glip-lite_raccoon-mini.py', '2', '--work-dir',
         str(tmp_path / 'work'), '--resume', 'README.md'],
        cwd=REPO, capture_output=True, text=True, env=env)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: README.md: not a readable PyTorch checkpoint "
        "(UnpicklingError: invalid load key, '#'.); download it again or "
        "give another file."]
    assert 'torch.distributed' not in res.stdout + res.stderr
