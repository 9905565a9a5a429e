"""The launch scripts: missing arguments are a usage line (exit 2), each
mistake in GPUS / NNODES / NODE_RANK / PORT, a busy PORT and an interpreter
without the project's packages is one line (exit 2); the checkout's
.venv/bin/python runs them whatever `python` PATH finds (PYTHON= names
another); a real two-process launch moves off a busy default port and ends
on Ctrl-C with exit status 130, one line and its checkpoint and log kept;
tools/slurm_train.sh hands srun one task per GPU and train.py the slurm
launcher (srun is a stand-in that prints what it was given)."""
import errno
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import DEMO_DATA, REPO

TINY_CONFIG = REPO / 'configs' / 'glip_lite' / 'glip-lite_raccoon-mini.py'


def _launch(script, *args, env=None, cwd=REPO):
    return subprocess.run(['bash', str(script), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def _one_error_line(res):
    """The run's stderr is exactly one ``error: ...`` line (exit 2)."""
    assert res.returncode == 2, (res.returncode, res.stderr[-3000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr
    assert 'Traceback' not in res.stdout + res.stderr
    return lines[0]


def _python_without_packages(folder: Path) -> Path:
    """A real Python that has none of the project's packages (the venv's
    interpreter without site-packages, -S), as `python` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    python = folder / 'python'
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    return python


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


@pytest.mark.parametrize('args, env, named', [
    (['train', '0'], {}, "GPUS '0'"),
    (['train', 'abc'], {}, "GPUS 'abc'"),
    (['train', '-1'], {}, "GPUS '-1'"),
    (['test', 'abc'], {}, "GPUS 'abc'"),
    (['train', '2'], {'NNODES': '0'}, "NNODES='0'"),
    (['train', '2'], {'NNODES': 'two'}, "NNODES='two'"),
    (['train', '2'], {'NNODES': '2', 'NODE_RANK': '2'},
     "NODE_RANK='2': give an integer from 0 to 1 (NNODES=2"),
    (['test', '2'], {'PORT': '99999'}, "PORT='99999'"),
    (['train', '2'], {'PORT': 'x'}, "PORT='x'"),
])
def test_a_wrong_count_or_port_is_one_line(args, env, named):
    kind, gpus = args
    cmd = ['tools/dist_train.sh', TINY_CONFIG, gpus] if kind == 'train' \
        else ['tools/dist_test.sh', TINY_CONFIG, 'glip-lite', gpus]
    line = _one_error_line(_launch(*cmd, env=env))
    assert named in line and 'give' in line


@pytest.mark.parametrize('name', ['GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK'])
def test_slurm_train_names_a_wrong_count(tmp_path, name):
    line = _one_error_line(_launch('tools/slurm_train.sh', 'p', 'j',
                                   TINY_CONFIG, tmp_path, env={name: 'abc'}))
    assert line == f"error: {name}='abc': give an integer >= 1."


def _listening(port: int):
    """A socket listening on ``port`` (None when another process already
    does: the port is busy either way)."""
    sock = socket.socket()
    # a closed connection's TIME_WAIT does not make the port busy
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(('127.0.0.1', port))
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        return None
    sock.listen()
    return sock


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(('', port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize('nnodes', ['1', '2'])
def test_a_busy_port_is_one_line_naming_a_free_one(tmp_path, nnodes):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen()
        port = sock.getsockname()[1]
        line = _one_error_line(_launch(
            'tools/dist_train.sh', TINY_CONFIG, 2, '--work-dir', tmp_path,
            env=dict(PORT=str(port), NNODES=nnodes)))
    assert line.startswith(f'error: PORT {port} is in use on this machine')
    suggested = int(line.rsplit('PORT=', 1)[1].rstrip('.'))
    assert suggested != port and _port_is_free(suggested)
    assert ('every machine' in line) == (nnodes == '2')
    assert not (tmp_path / 'iter_1.pth').exists()


def test_an_interpreter_without_the_packages_is_one_line(tmp_path):
    python = _python_without_packages(tmp_path / 'bin')
    line = _one_error_line(_launch('tools/dist_test.sh', TINY_CONFIG,
                                   'glip-lite', 2, env=dict(PYTHON=python)))
    assert line.startswith(f'error: PYTHON={python} has no torch, mmengine, '
                           'mmdet; run tools/setup_env.sh')
    line = _one_error_line(_launch('tools/dist_train.sh', TINY_CONFIG, 2,
                                   env=dict(PYTHON=str(tmp_path / 'none'))))
    assert f'PYTHON={tmp_path / "none"}: no such interpreter' in line


def _checkout_copy(root: Path) -> Path:
    """The launch script in a checkout of its own (mmglip is installed in
    the environment: the launcher imports it from there)."""
    for name in ('dist_train.sh', 'lib/torchrun.sh', 'lib/torchrun.py'):
        (root / 'tools' / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / 'tools' / name, root / 'tools' / name)
    return root


def test_python_on_path_without_the_packages_is_one_line(tmp_path):
    """No .venv in the checkout: `python` on PATH runs the launcher, and
    one without the packages is named with the fix."""
    checkout = _checkout_copy(tmp_path / 'checkout')
    python = _python_without_packages(tmp_path / 'bin')
    line = _one_error_line(_launch(
        checkout / 'tools' / 'dist_train.sh', TINY_CONFIG, 2,
        env=dict(PATH=f'{python.parent}:/usr/bin:/bin')))
    assert line.startswith(f'error: python on PATH ({python}) has no torch, '
                           'mmengine, mmdet; run tools/setup_env.sh')
    assert 'PYTHON=/path/to/bin/python' in line


def test_the_checkouts_venv_runs_whatever_python_path_finds(tmp_path):
    """The checkout's .venv/bin/python runs the launcher (which here names
    a wrong GPUS) while PATH's `python` has none of the packages; PYTHON=
    still names another."""
    checkout = _checkout_copy(tmp_path / 'checkout')
    venv_python = checkout / '.venv' / 'bin' / 'python'
    venv_python.parent.mkdir(parents=True)
    used = tmp_path / 'venv-python-used'
    venv_python.write_text(
        f'#!/bin/sh\necho "$@" >> {used}\nexec {sys.executable} "$@"\n')
    venv_python.chmod(0o755)
    path_python = _python_without_packages(tmp_path / 'bin')
    env = dict(PATH=f'{path_python.parent}:/usr/bin:/bin')
    line = _one_error_line(_launch(checkout / 'tools' / 'dist_train.sh',
                                   TINY_CONFIG, 'two', env=env))
    assert line.startswith("error: GPUS 'two': give the number of processes")
    assert f'tools/lib/torchrun.py train.py two {TINY_CONFIG}' in \
        used.read_text()
    line = _one_error_line(_launch(
        checkout / 'tools' / 'dist_train.sh', TINY_CONFIG, 2,
        env=dict(env, PYTHON=str(path_python))))
    assert line.startswith(f'error: PYTHON={path_python} has no torch')


def test_dist_train_names_a_wrong_argument_once_before_starting(tmp_path):
    """A file of another kind given to --resume: one error line from the
    check before torchrun, no traceback of the launcher, no process run."""
    res = _launch('tools/dist_train.sh', TINY_CONFIG, 2, '--work-dir',
                  tmp_path / 'work', '--resume', 'README.md')
    assert _one_error_line(res) == (
        "error: README.md: not a readable PyTorch checkpoint "
        "(UnpicklingError: invalid load key, '#'.); download it again or "
        "give another file.")
    assert 'torch.distributed' not in res.stdout + res.stderr


def _tiny_config(tmp_path: Path) -> Path:
    """glip-lite on the embedded Raccoon images at 128 x 96, a checkpoint
    (without the optimiser: smaller) and a log line after every iteration,
    more iterations than the test waits for."""
    path = tmp_path / 'tiny.py'
    path.write_text(f"""
_base_ = ['{TINY_CONFIG}']
data_root = '{DEMO_DATA}/'
pipeline = [
    dict(type='LoadImageChecked', imdecode_backend='pillow'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.Resize', scale=(128, 96), keep_ratio=False),
    dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'text', 'tokens_positive',
                    'caption_prompt')),
]
train_dataloader = dict(batch_size=1,
                        dataset=dict(data_root=data_root, pipeline=pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1000)
param_scheduler = []
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=1, max_keep_ckpts=-1,
                    save_optimizer=False),
    logger=dict(interval=1))
log_processor = dict(by_epoch=False)
""")
    return path


def test_ctrl_c_on_a_two_process_run_exits_130_in_one_line(tmp_path):
    """A real two-process run (gloo) with port 29500 taken: it meets on
    another port and says so; SIGINT to the launcher's process group (as
    Ctrl-C sends it) once the first checkpoint is written: exit status 130,
    one line, no traceback, the checkpoint and the log kept."""
    work = tmp_path / 'work'
    out, err = tmp_path / 'stdout', tmp_path / 'stderr'
    held = _listening(29500)
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    env.pop('PORT', None)
    with open(out, 'w') as stdout, open(err, 'w') as stderr:
        proc = subprocess.Popen(
            ['bash', 'tools/dist_train.sh', str(_tiny_config(tmp_path)), '2',
             '--work-dir', str(work)],
            cwd=REPO, stdout=stdout, stderr=stderr, env=env,
            start_new_session=True,
            # Ctrl-C's default handling, even where pytest runs with SIGINT
            # ignored (a job started with '&' by a non-interactive shell)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # the event: mmengine names the checkpoint in last_checkpoint once
        # it is written; the deadline only ends a hang
        last = work / 'last_checkpoint'
        deadline = time.monotonic() + 300
        while not (last.exists() and last.read_text().endswith('.pth')):
            assert proc.poll() is None, (out.read_text()[-2000:],
                                         err.read_text()[-3000:])
            assert time.monotonic() < deadline, 'no checkpoint'
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        status = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if held is not None:
            held.close()
    stdout, stderr = out.read_text(), err.read_text()
    assert status == 130, stderr[-3000:]
    for text in (stdout, stderr):
        assert 'Traceback' not in text, text[text.find('Traceback') - 500:]
    assert 'SignalException' not in stderr and 'death signal' not in stderr
    assert ('port 29500 is in use (another run?); the processes meet on '
            'port ') in stderr
    assert [line for line in stderr.splitlines() if 'interrupt' in line] \
        == [stderr.strip().splitlines()[-1]] == [
            'interrupted (SIGINT): the 2 processes stopped, what they wrote '
            'is kept; the same command plus --resume continues the training']
    # what was written is kept: the first checkpoint, whole, and the log
    from mmglip.utils.checkpoints import read_checkpoint
    assert read_checkpoint(str(work / 'iter_1.pth'))['meta']['iter'] == 1
    logs = list(work.glob('*/*.log'))
    assert len(logs) == 1
    assert 'Iter(train) [   1/1000]' in logs[0].read_text()


def _torchrun_module():
    spec = importlib.util.spec_from_file_location(
        'mmglip_torchrun', REPO / 'tools' / 'lib' / 'torchrun.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('exitcode, line, status', [
    (-signal.SIGKILL, 'process 1 of 4 was killed (SIGKILL, out of memory?); '
     'the others were stopped', 137),
    (1, 'process 1 of 4 ended with exit status 1 (its message is above); '
     'the others were stopped', 1),
    (130, None, 130),
])
def test_a_failed_process_is_one_line(tmp_path, exitcode, line, status):
    """What the launcher says when torchrun reports a failed process (the
    first one that failed), with torchrun's own failure record."""
    from torch.distributed.elastic.multiprocessing.errors import (
        ChildFailedError, ProcessFailure)
    failures = {1: ProcessFailure(1, 4242, exitcode, str(tmp_path / 'no')),
                3: ProcessFailure(1, 4243, -signal.SIGTERM,
                                  str(tmp_path / 'no'))}
    failures[3].timestamp = failures[1].timestamp + 1
    exc = ChildFailedError('tools/train.py', failures)
    assert _torchrun_module().process_failure(exc, 4) == (line, status)


def test_slurm_train_hands_srun_one_task_per_gpu(tmp_path):
    srun = tmp_path / 'srun'
    srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
               GPUS='16', SRUN_ARGS='--quotatype=auto --exclusive',
               PYTHON=sys.executable)
    res = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'gpu', 'glip-t', 'cfg.py', 'wd',
         '--resume'], cwd=REPO, capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    args = res.stdout.splitlines()
    for flag in ('--partition=gpu', '--job-name=glip-t', '--ntasks=16',
                 '--ntasks-per-node=8', '--gres=gpu:8', '--cpus-per-task=5',
                 '--quotatype=auto', '--exclusive'):
        assert flag in args
    cmd = args[args.index(sys.executable):]
    assert cmd[1:] == ['-u', str(REPO / 'tools' / 'train.py'), 'cfg.py',
                       '--work-dir=wd', '--launcher', 'slurm', '--resume']


def test_dist_test_checks_its_arguments_once_before_the_processes(tmp_path):
    # a checkpoint that is not there: one line, not one per process
    missing = tmp_path / 'no_such.pth'
    line = _one_error_line(_launch('tools/dist_test.sh', TINY_CONFIG,
                                   missing, 2))
    assert str(missing) in line
    # an --out that exists is refused before anything runs, and kept
    out = tmp_path / 'preds.pkl'
    out.write_bytes(b'the user\'s earlier dump')
    line = _one_error_line(_launch('tools/dist_test.sh', TINY_CONFIG,
                                   'glip-lite', 2, '--out', out))
    assert f'--out {out} exists' in line
    assert out.read_bytes() == b'the user\'s earlier dump'
