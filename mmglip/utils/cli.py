"""What every mmglip command-line tool shares: user errors as one line,
argument checks that run before the heavy imports, and (re-exported from
:mod:`mmglip.utils.config_checks`) ``--cfg-options`` keys checked against
the config.

Light on purpose: importing this module imports neither torch nor mmdet, so
a tool can check its arguments in well under a second and only then pay for
building a model.

A *user error* is a mistake in what the user gave (a missing file, a typo'd
option, an unwritable folder): the tool prints ``error: <one line>`` naming
the input and what to do, and exits with status 2. Anything else is a bug
and keeps its traceback. ``--debug`` (or ``MMGLIP_DEBUG=1``) shows the
traceback of user errors too.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, List, Optional, Sequence

# the library's user error and message helpers live at its ground floor;
# tools import them from here with the rest of their command-line kit
from mmglip.errors import (UserError, check_file, closest,  # noqa: F401
                           did_you_mean, one_line, warn)
from mmglip.utils.config_checks import (  # noqa: F401
    check_dataloader_cfgs, check_dataset_cfgs, check_eval_parts,
    check_evaluator_cfgs, check_loop_cfgs, constructor_options,
    dataloader_options, merge_cfg_options, sync_prompt_tokenizers,
    unknown_cfg_keys, warn_unknown_cfg_keys)

#: exit status of a user error (as argparse's own usage errors)
USER_ERROR_EXIT = 2
#: exit status after Ctrl-C (128 + SIGINT)
INTERRUPT_EXIT = 130


def user_error_types() -> tuple:
    """The exception types reported as user errors (one line, exit 2):
    :class:`UserError` (mmglip's prompt, benchmark, zoo, checkpoint, dataset
    and image errors derive from it) and the OS errors that name a file:
    not found, exists, is a directory, not a directory, permission denied.
    """
    return (UserError, FileNotFoundError, FileExistsError, IsADirectoryError,
            NotADirectoryError, PermissionError)


def debug_requested(argv: Optional[Sequence[str]] = None) -> bool:
    argv = sys.argv[1:] if argv is None else argv
    return '--debug' in argv or os.environ.get('MMGLIP_DEBUG', '') not in (
        '', '0')


def run_tool(main: Callable[[Optional[List[str]]], Optional[int]],
             argv: Optional[List[str]] = None) -> int:
    """Run a tool's ``main(argv)``; a user error becomes ``error: ...`` on
    stderr and exit status 2, Ctrl-C exit status 130 (what was written
    stays written), a bug keeps its traceback.

    Usage at the end of a tool: ``sys.exit(run_tool(main))``.
    """
    debug = debug_requested(argv)
    try:
        status = main(argv)
    except KeyboardInterrupt:
        print('\ninterrupted (what was already written is kept)',
              file=sys.stderr)
        return INTERRUPT_EXIT
    except Exception as exc:  # noqa: BLE001 (sorted below)
        if debug or not isinstance(exc, user_error_types()):
            raise
        print(f'error: {one_line(exc)}', file=sys.stderr)
        return USER_ERROR_EXIT
    return int(status or 0)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--debug', action='store_true',
        help='show the full traceback of errors in the input too '
        '(also MMGLIP_DEBUG=1)')


def add_runner_args(parser: argparse.ArgumentParser, checks: str,
                    launch_script: str) -> None:
    """The options ``tools/train.py`` and ``tools/test.py`` share:
    ``--cfg-options``, ``--launcher``, ``--local_rank`` and ``--check-only``
    (which checks ``checks`` and exits; ``launch_script`` does that once
    before it starts the processes), then ``--debug``. Parse with
    :func:`parse_runner_args`."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, key=value; a key the '
                        'config does not have is warned about')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by torch.distributed launchers')
    parser.add_argument('--check-only', action='store_true',
                        help=f'check {checks}, then exit ({launch_script} '
                        'does this once before it starts the processes)')
    add_debug_flag(parser)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None
                      ) -> argparse.Namespace:
    """Parse, and give mmengine the process's ``LOCAL_RANK`` (from
    ``--local_rank`` where the launcher did not set it)."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and shows each argument's default
    (unless it is None / False, or the help already names it)."""

    def _get_help_string(self, action):
        text = action.help or ''
        if '(default' in text or action.default in (None, False,
                                                    argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in ('?', '*'):
            default = action.default
            if isinstance(default, (list, tuple)):
                default = ' '.join(map(str, default))
            text += f' (default: {default})'
        return text


# --------------------------------------------------------------- arguments
def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer')
    if value < 1:
        raise argparse.ArgumentTypeError(f'{value} is not >= 1')
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number')
    if value < 0:
        raise argparse.ArgumentTypeError(f'{value} is negative')
    return value


def check_writable_dir(path: str, what: str) -> str:
    """Create the folder ``path`` if needed and check that files can be
    written there, before any long work; a UserError names it otherwise.
    """
    probe_root = path
    while not osp.exists(probe_root):
        parent = osp.dirname(osp.abspath(probe_root))
        if parent == osp.abspath(probe_root):
            break
        probe_root = parent
    if osp.exists(path) and not osp.isdir(path):
        raise UserError(f'{what} {path}: is a file, not a folder; give a '
                        'folder (it is created if missing).')
    if osp.exists(probe_root) and not osp.isdir(probe_root):
        raise UserError(f'{what} {path}: {probe_root} is a file, so the '
                        'folder cannot be made there.')
    try:
        os.makedirs(path, exist_ok=True)
        probe = osp.join(path, f'.mmglip-write-test-{os.getpid()}')
        with open(probe, 'w') as f:
            f.write('')
        os.remove(probe)
    except OSError as exc:
        raise UserError(f'{what} {path}: cannot write there '
                        f'({exc.strerror or exc}); choose another folder.')
    return path


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` that this machine has (imports torch,
    not mmdet)."""
    import re
    if device == 'cpu':
        return device
    m = re.fullmatch(r'cuda(?::(\d+))?', device)
    if not m:
        raise UserError(f'--device {device!r}: use cpu, cuda or cuda:N.')
    import torch
    if not torch.cuda.is_available():
        raise UserError(f'--device {device}: this machine has no CUDA GPU '
                        'that torch can use; use --device cpu.')
    index = int(m.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise UserError(f'--device {device}: only {torch.cuda.device_count()}'
                        ' GPU(s) here (cuda:0 ...).')
    return device


__all__ = [
    'UserError', 'run_tool', 'add_debug_flag', 'HelpFormatter',
    'positive_int', 'non_negative_float', 'check_file', 'check_writable_dir',
    'check_device', 'closest', 'did_you_mean', 'unknown_cfg_keys',
    'warn_unknown_cfg_keys', 'check_loop_cfgs', 'check_dataloader_cfgs',
    'constructor_options', 'check_dataset_cfgs', 'merge_cfg_options', 'warn',
    'sync_prompt_tokenizers', 'check_eval_parts'
]
