"""Checkpoint files of a work dir: find the newest one a killed run can
resume from, keep a finished run's weights only, remove the rest.

Light on purpose: importing this module imports neither torch nor mmdet
(torch is imported inside the functions that read or write checkpoints), so
command-line tools can use it before their heavy imports.

mmengine writes, in a run's work dir, ``epoch_N.pth`` (epoch-based loops) or
``iter_N.pth`` (iteration-based loops), a ``last_checkpoint`` text file that
names the newest of them once it is complete, and ``best_*.pth`` when
``save_best`` is set. A kill while a checkpoint is written leaves a file cut
short; :func:`latest_readable_checkpoint` moves such files aside (renamed
``<name>.incomplete``, never deleted) and returns the newest one that can be
read.
"""
import functools
import os
import os.path as osp
import re
import zipfile
from typing import Callable, Dict, Iterable, List, Optional

#: suffix given to a checkpoint file that could not be read
INCOMPLETE_SUFFIX = '.incomplete'
#: names of the numbered checkpoints mmengine writes: epoch_N.pth, iter_N.pth
NUMBERED_CHECKPOINT = re.compile(r'(epoch|iter)_(\d+)\.pth')
#: mmengine's pointer to the newest complete checkpoint
LAST_CHECKPOINT_FILE = 'last_checkpoint'

#: ``on_set_aside(path, moved_to, error)``: called for each unreadable file
SetAsideCallback = Callable[[str, str, BaseException], None]


def read_checkpoint_header(path: str) -> Dict:
    """Load the checkpoint at ``path`` cheaply enough to check it is whole.

    Files in torch's zip format (every ``torch.save`` since torch 1.6) are
    memory-mapped, so a checkpoint of several GB is not read into memory;
    a file cut short has lost the zip directory at its end and fails here.
    Older (non-zip) files are loaded normally. Unpickles arbitrary objects
    (``weights_only=False``, as mmengine's resume does): use it on your own
    work dirs only.

    Raises:
        any error of ``torch.load``, or ``ValueError`` if the file holds
        something else than a dict.
    """
    obj = _torch_load(path, mmap=True)
    if not isinstance(obj, dict):
        raise ValueError(f'{path} holds a {type(obj).__name__}, not a '
                         'checkpoint dict')
    return obj


def _torch_load(path: str, mmap: bool):
    import torch
    # mmap only works on the zip format; older files are plain pickles
    return torch.load(path, map_location='cpu', weights_only=False,
                      mmap=mmap and zipfile.is_zipfile(path))


def read_checkpoint(path: str, mmap: bool = False) -> Dict:
    """``torch.load`` a checkpoint file the user gave (on the CPU), or a
    :class:`~mmglip.errors.UserError` naming it when it is not one: a
    folder, a JSON or HTML page saved under a ``.pth`` name, a download cut
    short. ``mmap=True`` maps zip-format files instead of reading them (a
    cheap check that a file of several GB is whole)."""
    from mmglip.errors import UserError
    if osp.isdir(path):
        raise UserError(f'{path}: is a folder, not a checkpoint file.')
    try:
        ckpt = _torch_load(path, mmap)
    except Exception as exc:  # noqa: BLE001 (any unreadable file)
        head = b''
        try:
            with open(path, 'rb') as f:
                head = f.read(64)
        except OSError:
            pass
        hint = ' (it starts like a text file: a JSON / HTML page instead ' \
            'of weights?)' if head.lstrip()[:1] in (b'{', b'<', b'[') else ''
        reason = (str(exc).splitlines() or [''])[0][:120]
        raise UserError(
            f'{path}: not a readable PyTorch checkpoint{hint} '
            f'({type(exc).__name__}: {reason}); download it again or give '
            'another file.') from exc
    if not isinstance(ckpt, dict):
        raise UserError(f'{path}: holds a {type(ckpt).__name__}, not a '
                        'checkpoint (a dict of weights).')
    return ckpt


def _candidates(work_dir: str) -> List[str]:
    """Checkpoint paths of ``work_dir``, newest first (not yet checked).

    Numbered files are ordered by their number (``epoch_12`` after
    ``epoch_3``, whatever the file times say); if a folder holds both
    ``epoch_*`` and ``iter_*`` files the two kinds are merged by file time.
    The file named by ``last_checkpoint`` comes first when it is not one of
    the numbered files (a custom ``filename_tmpl`` or ``out_dir``); when it
    is, a numbered file with a higher number (written completely just
    before a kill, while ``last_checkpoint`` still named the one before) is
    newer and comes before it.
    """
    by_kind: Dict[str, List] = {'epoch': [], 'iter': []}
    for name in os.listdir(work_dir):
        m = NUMBERED_CHECKPOINT.fullmatch(name)
        path = osp.join(work_dir, name)
        if m and osp.isfile(path):
            by_kind[m.group(1)].append((int(m.group(2)), path))
    lists = [sorted(v, reverse=True) for v in by_kind.values() if v]
    if len(lists) == 2:
        merged = sorted(
            (p for lst in lists for p in lst),
            key=lambda np: (osp.getmtime(np[1]), np[0]), reverse=True)
    else:
        merged = lists[0] if lists else []
    paths = [p for _, p in merged]

    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip()
        if target and not osp.isfile(target):
            # the work dir was moved or copied: look beside the pointer
            target = osp.join(work_dir, osp.basename(target))
        if target and osp.isfile(target):
            known = {osp.realpath(p) for p in paths}
            if osp.realpath(target) not in known:
                paths.insert(0, target)
    return paths


def latest_readable_checkpoint(
        work_dir: str,
        on_set_aside: Optional[SetAsideCallback] = None) -> Optional[str]:
    """The newest readable checkpoint of ``work_dir`` (to resume a killed
    run from), or None if there is none (or no such folder).

    Considered: ``epoch_N.pth`` and ``iter_N.pth`` files and the file that
    mmengine's ``last_checkpoint`` names (see :func:`_candidates` for the
    order). ``best_*.pth`` files are not: the best checkpoint is not the
    newest state of the run.

    Each candidate, newest first, is opened with
    :func:`read_checkpoint_header`; one that cannot be read (cut short by a
    kill, or not a checkpoint) is renamed ``<name>.incomplete`` (replacing
    an older file of that name; nothing is deleted) and the next one is
    tried. ``last_checkpoint`` itself is left as it is: give the returned
    path to the runner (``cfg.load_from`` with ``cfg.resume = True``).

    Args:
        work_dir: the run's work dir.
        on_set_aside: called as ``on_set_aside(path, moved_to, error)`` for
            each file moved aside, e.g. to print a warning.

    Returns:
        the path of the newest readable checkpoint, or None.

    Raises:
        PermissionError: a candidate cannot be opened for lack of
            permission (it is not moved: it may well be whole).
    """
    if not osp.isdir(work_dir):
        return None
    for path in _candidates(work_dir):
        try:
            read_checkpoint_header(path)
            return path
        except PermissionError:
            raise
        except Exception as exc:  # noqa: BLE001 (any unreadable file)
            moved_to = path + INCOMPLETE_SUFFIX
            os.replace(path, moved_to)
            if on_set_aside is not None:
                on_set_aside(path, moved_to, exc)
    return None


def save_weights_only(checkpoint: Dict, path: str) -> str:
    """Write ``checkpoint``'s ``state_dict`` and ``meta`` (no optimizer,
    parameter schedulers or message hub) to ``path``, atomically: the file
    appears complete or not at all (written as ``<path>.part``, then
    renamed). mmengine's ``load_checkpoint`` and ``tools/test.py`` read it
    as any checkpoint.

    Args:
        checkpoint: a checkpoint dict with a ``state_dict`` (and ``meta``).
        path: where to write it.

    Returns:
        ``path``.
    """
    import torch

    from mmglip.utils.io import atomic_write
    if 'state_dict' not in checkpoint:
        raise KeyError(f'checkpoint for {path} has no state_dict')
    out = dict(state_dict=checkpoint['state_dict'],
               meta=checkpoint.get('meta') or {})
    with atomic_write(path, 'wb') as f:
        torch.save(out, f)
    return path


def checkpoint_files(work_dir: str) -> List[str]:
    """The checkpoint files mmengine (and :func:`latest_readable_checkpoint`)
    leave in ``work_dir``: ``epoch_N.pth``, ``iter_N.pth``, ``best_*.pth``,
    ``last_checkpoint`` and ``*.pth.incomplete``; sorted."""
    if not osp.isdir(work_dir):
        return []
    out = []
    for name in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, name)
        if not osp.isfile(path):
            continue
        if (NUMBERED_CHECKPOINT.fullmatch(name) or name ==
                LAST_CHECKPOINT_FILE or (name.startswith('best_')
                                         and name.endswith('.pth'))
                or name.endswith('.pth' + INCOMPLETE_SUFFIX)):
            out.append(path)
    return out


def remove_checkpoints(work_dir: str,
                       keep: Iterable[Optional[str]] = ()) -> List[str]:
    """Delete :func:`checkpoint_files` of ``work_dir`` except those in
    ``keep``; returns the deleted paths. Call it only once what the run
    produced (its results, the weights kept) is written."""
    keep_real = {osp.realpath(p) for p in keep if p}
    removed = []
    for path in checkpoint_files(work_dir):
        if osp.realpath(path) in keep_real:
            continue
        os.remove(path)
        removed.append(path)
    return removed


def patch_torch_load_for_mmengine() -> None:
    """Let mmengine 0.10.7 load its own checkpoints on torch >= 2.6.

    mmengine calls ``torch.load(f, map_location=...)`` without
    ``weights_only``. From torch 2.6 that defaults to ``True`` and refuses the
    numpy / mmengine objects an mmengine checkpoint holds (message_hub, meta),
    so ``--resume`` fails with an UnpicklingError. mmglip only loads files the
    user points it at (their own work dirs, zoo files they chose), so within
    mmengine's checkpoint loader we restore the pre-2.6 default. Calls that
    pass ``weights_only`` explicitly are left alone.
    """
    import torch
    from mmengine.runner import checkpoint as mme_ckpt
    if getattr(mme_ckpt.torch.load, '_mmglip_patched', False):
        return
    original = torch.load

    @functools.wraps(original)
    def load(*args, **kwargs):
        kwargs.setdefault('weights_only', False)
        return original(*args, **kwargs)

    load._mmglip_patched = True

    class _TorchProxy:
        """``torch`` as seen by mmengine.runner.checkpoint, with ``load``
        defaulting to ``weights_only=False``."""

        def __getattr__(self, name):
            return load if name == 'load' else getattr(torch, name)

    mme_ckpt.torch = _TorchProxy()


__all__ = [
    'latest_readable_checkpoint', 'read_checkpoint_header',
    'save_weights_only', 'checkpoint_files', 'remove_checkpoints',
    'patch_torch_load_for_mmengine'
]
