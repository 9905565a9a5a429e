"""Start an mmglip tool on torchrun, one process per GPU (per CPU process
without CUDA: gloo); run by tools/dist_train.sh and tools/dist_test.sh
through tools/lib/torchrun.sh, with the interpreter it picked:

    python tools/lib/torchrun.py TOOL.py GPUS [TOOL args]

Environment (mmdet's names): NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR
(node 0's address) and PORT, the same on every machine but the rank.

What it adds to torchrun: a mistake in GPUS / NNODES / NODE_RANK / PORT, a
busy port and a failed process are one line each, without torchrun's
traceback; for train.py and test.py the arguments and the config are
checked once (``--check-only``) before any process starts. On one machine
without PORT, the processes meet on port 29500 or, when that is taken, on a
free one (said in one line); a PORT that is taken is an error that names a
free one. Ctrl-C stops the processes (SIGTERM: what they wrote is kept; a
checkpoint cut short is set aside by ``train.py --resume``) and ends with
one line and exit status 130.
"""
import errno
import os
import os.path as osp
import signal
import socket
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmglip.utils.cli import (INTERRUPT_EXIT, UserError,  # noqa: E402
                              run_tool)

DEFAULT_PORT = 29500
#: tools that can check their arguments before any process starts
CHECK_FIRST = ('train.py', 'test.py')


def env_int(name, default, low, high=None, why=''):
    """The integer environment variable ``name`` within [low, high], or a
    UserError naming it (and ``why`` those bounds)."""
    text = os.environ.get(name, '')
    if text == '':
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f'>= {low}' if high is None else f'from {low} to {high}'
        raise UserError(f'{name}={text!r}: give an integer {bounds}{why}.')
    return value


def process_count(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(
            f'GPUS {text!r}: give the number of processes per machine, an '
            'integer >= 1 (one per GPU; CPU processes without CUDA).')
    return value


def port_in_use(port):
    """Whether a server cannot listen on ``port`` here (as torchrun's
    store does: all addresses, SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('', port))
            sock.listen()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_port():
    with socket.socket() as sock:
        sock.bind(('', 0))
        return sock.getsockname()[1]


def busy_port_error(port, nnodes):
    where = 'every machine ' if nnodes > 1 else ''
    return UserError(
        f'PORT {port} is in use on this machine (another run?): start '
        f'{where}with another port, e.g. PORT={free_port()}.')


def pick_port(nnodes, node_rank):
    """The port the processes meet on (see the module's docstring)."""
    port = env_int('PORT', None, 1, 65535)
    here = node_rank == 0  # node 0 listens, the others connect
    if port is None:
        port = DEFAULT_PORT
        if nnodes == 1 and port_in_use(port):
            port = free_port()
            print(f'port {DEFAULT_PORT} is in use (another run?); the '
                  f'processes meet on port {port} (PORT=N picks one)',
                  file=sys.stderr)
            return port
    if here and port_in_use(port):
        raise busy_port_error(port, nnodes)
    return port


def check_first(tool_path, tool_args):
    """``TOOL --check-only``: a mistake is one line before any process
    starts. Ctrl-C here (the check gets it too): it says so itself."""
    proc = subprocess.Popen(
        [sys.executable, tool_path, *tool_args, '--check-only'],
        stdout=subprocess.DEVNULL)
    interrupted = False
    while True:
        try:
            status = proc.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
    if status:
        sys.exit(status)
    if interrupted:  # SIGINT to the launcher alone: start nothing
        raise KeyboardInterrupt


def process_failure(exc, nproc_all):
    """One line for a process that failed (its own message is above) and
    the exit status to end with."""
    rank, failure = exc.get_first_failure()
    code = failure.exitcode
    if code < 0:
        name = failure.signal_name()
        if -code == signal.SIGKILL:
            name += ', out of memory?'
        return (f'process {rank} of {nproc_all} was killed ({name}); the '
                'others were stopped', 128 - code)
    if code == INTERRUPT_EXIT:  # it said so itself
        return None, code
    return (f'process {rank} of {nproc_all} ended with exit status {code} '
            '(its message is above); the others were stopped', code)


def launch(tool, nproc, tool_args):
    nnodes = env_int('NNODES', 1, 1)
    node_rank = env_int('NODE_RANK', 0, 0, nnodes - 1,
                        f' (NNODES={nnodes} machines)')
    port = pick_port(nnodes, node_rank)
    tool_path = osp.join(REPO, 'tools', tool)
    if tool in CHECK_FIRST:
        check_first(tool_path, tool_args)

    import torch
    from torch.distributed.elastic.multiprocessing.api import \
        SignalException
    from torch.distributed.elastic.multiprocessing.errors import \
        ChildFailedError
    from torch.distributed.run import parse_args, run
    if torch.cuda.is_available() and nproc > torch.cuda.device_count():
        raise UserError(
            f'GPUS {nproc}: this machine has {torch.cuda.device_count()} '
            'CUDA device(s) (CUDA_VISIBLE_DEVICES='
            f'{os.environ.get("CUDA_VISIBLE_DEVICES", "unset")}); give at '
            'most that many.')
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    args = parse_args([
        f'--nnodes={nnodes}', f'--node_rank={node_rank}',
        f'--master_addr={os.environ.get("MASTER_ADDR", "127.0.0.1")}',
        f'--master_port={port}', f'--nproc_per_node={nproc}',
        # SIGINT: stop_with_sigterm below
        '--signals-to-handle=SIGTERM,SIGHUP,SIGQUIT',
        tool_path, *tool_args, '--launcher', 'pytorch'])
    quiet_torchrun_agent()

    class CtrlC(SignalException):
        """SIGINT, for the agent a SIGTERM: see stop_with_sigterm."""

    def stop_with_sigterm(signum, frame):
        raise CtrlC(f'Process {os.getpid()} got SIGINT',
                    sigval=signal.SIGTERM)

    try:
        # Ctrl-C: torchrun's agent would pass SIGINT on to the processes,
        # and a KeyboardInterrupt raised inside them can come out as
        # another error with a traceback, where code catches everything
        # (mmengine's Config.pretty_text, run while a checkpoint is saved).
        # The agent stops them with SIGTERM instead, as it does when one of
        # them fails: they end where they are, and what they wrote stays.
        signal.signal(signal.SIGINT, stop_with_sigterm)
        run(args)
    except SignalException as exc:
        sig = signal.SIGINT if isinstance(exc, CtrlC) else \
            signal.Signals(exc.sigval)
        print(interrupted_line(tool, nproc, nnodes, sig.name),
              file=sys.stderr)
        return 128 + sig.value
    except ChildFailedError as exc:
        line, code = process_failure(exc, nnodes * nproc)
        if line is not None and code != 2:  # 2: a user error, said by it
            print(f'error: {line}', file=sys.stderr)
        return code if 0 < code < 256 else 1
    except (torch.distributed.DistNetworkError,
            torch.distributed.DistStoreError) as exc:
        message = str(exc)
        if 'EADDRINUSE' in message or 'address already in use' in message:
            raise busy_port_error(port, nnodes)
        first = message.strip().splitlines()[0] if message.strip() else ''
        raise UserError(
            f'the processes could not meet at MASTER_ADDR:PORT '
            f'({args.master_addr}:{port}): {first}')
    return 0


def interrupted_line(tool, nproc, nnodes, signame):
    where = ' of this machine' if nnodes > 1 else ''
    hint = '; the same command plus --resume continues the training' \
        if tool == 'train.py' else ''
    return (f'interrupted ({signame}): the {nproc} processes{where} '
            f'stopped, what they wrote is kept{hint}')


def quiet_torchrun_agent():
    """torchrun's agent logs each step of a shutdown ("Received SIGINT
    death signal", "Sending process ... closing signal"); the launcher says
    what happened in one line instead. Warnings of the launch itself
    (torch.distributed.run: OMP_NUM_THREADS) stay."""
    import logging
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(('torch.distributed.elastic',
                            'torch.distributed.launcher')):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise UserError('usage: tools/lib/torchrun.py TOOL.py GPUS '
                        '[TOOL args]')
    tool, nproc = argv[0], process_count(argv[1])
    return launch(tool, nproc, argv[2:])


if __name__ == '__main__':
    sys.exit(run_tool(main))
