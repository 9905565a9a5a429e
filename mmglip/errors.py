"""The library's ground floor: the user-error type and the wording of
messages that name a user's input.

A *user error* is a mistake in what the user gave (a missing file, a typo'd
option, a file of another model): the message names the input and says what
to do; command-line tools (:mod:`mmglip.utils.cli`) print it as one line and
exit with status 2. Every module may import this one; it imports nothing of
mmglip (nor torch), so the pure prompt layer or the datasets do not depend on
the command-line module.
"""
import difflib
import os
import os.path as osp
import sys
from typing import Iterable, Optional


class UserError(Exception):
    """A mistake in the user's input; the message names it and says what to
    do. Tools print it as one line, without a traceback."""


def one_line(exc: BaseException) -> str:
    """The message of an exception, as the user should read it."""
    if isinstance(exc, OSError) and exc.filename is not None \
            and not isinstance(exc, UserError):
        reason = exc.strerror or str(exc)
        return f'{exc.filename}: {reason}'
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = str(exc.args[0])
    return text


def check_file(path: str, what: str) -> str:
    """An existing, readable file, or a UserError naming it."""
    if not osp.exists(path):
        raise UserError(f'{what} {path}: no such file.')
    if osp.isdir(path):
        raise UserError(f'{what} {path}: is a folder, give a file.')
    if not os.access(path, os.R_OK):
        raise UserError(f'{what} {path}: not readable (permissions).')
    return path


def closest(name: str, choices: Iterable[str]) -> Optional[str]:
    """The choice closest to ``name`` (for "did you mean" hints), or None."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    best = closest(name, choices)
    return f' (did you mean {best!r}?)' if best else ''


def warn(message: str) -> None:
    """A one-line warning on stderr (not Python's warnings filter, which
    hides repeats)."""
    print(f'warning: {message}', file=sys.stderr)


__all__ = ['UserError', 'one_line', 'check_file', 'closest', 'did_you_mean',
           'warn']
