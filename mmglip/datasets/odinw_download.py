"""The ODinW datasets, one command away: the official zips of the Hugging
Face repository ``GLIPModel/GLIP`` (``odinw_35/<name>.zip``) fetched through
the same verified path as the weights (:func:`mmglip.zoo.hub.fetch_file`),
beside the datasets they feed (the task table: :mod:`mmglip.odinw_tasks`),
unpacked into the official layout under a data root, checked, and the
k-shot split files added where the zips have none.

Written by hand (huggingface_hub downloads, but does not unpack, check or
place a dataset): unpacking goes to a temporary folder beside the target and
is renamed into place only when complete, so an interrupted call leaves no
half-written task; a zip that does not unpack or fails its checks is not
placed (and, when downloaded, set aside so that the next call fetches it
anew); a task folder that this module did not place is never touched; a
second call finds each placed task by its marker file and does nothing.
"""
import json
import os
import os.path as osp
import shutil
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

from mmglip.errors import UserError, did_you_mean
from mmglip.odinw_tasks import ODINW_TASKS
from mmglip.zoo.hub import sha256_file

#: folder of the zips in the hub repository
ODINW_HUB_FOLDER = 'odinw_35'
#: the 33 zips of ODinW-35 (AerialMaritimeDrone and EgoHands hold two tasks
#: each), as the official download script names them
ODINW35_ZIPS = (
    'AerialMaritimeDrone', 'AmericanSignLanguageLetters', 'Aquarium', 'BCCD',
    'ChessPieces', 'CottontailRabbits', 'DroneControl', 'EgoHands',
    'HardHatWorkers', 'MaskWearing', 'MountainDewCommercial',
    'NorthAmericaMushrooms', 'OxfordPets', 'PKLot', 'Packages', 'PascalVOC',
    'Raccoon', 'ShellfishOpenImages', 'ThermalCheetah', 'UnoCards',
    'VehiclesOpenImages', 'WildfireSmoke', 'boggleBoards',
    'brackishUnderwater', 'dice', 'openPoetryVision', 'pistols', 'plantdoc',
    'pothole', 'selfdrivingCar', 'thermalDogsAndPeople', 'vector',
    'websiteScreenshots')
#: the zips of the 13 tasks, in download order
ODINW13_ZIPS = tuple(sorted(ODINW_TASKS))
#: written into a placed task folder, last: the task is complete
MARKER = '.mmglip-odinw.json'
#: lists the k-shot files mmglip's sampler wrote (the zips have none)
GENERATED_SPLITS = 'FEWSHOT_SPLITS_GENERATED_BY_MMGLIP.txt'
ANN_SUFFIX = 'annotations_without_background.json'


@dataclass
class PlacedTask:
    """What :func:`download_odinw` did for one zip: ``status`` is
    ``placed``, ``already there`` or ``failed`` (the zip failed its checks:
    ``errors`` says why, ``message`` in one line with what to do, and
    nothing is at ``path``)."""
    name: str
    path: str
    status: str
    annotation_files: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    generated_splits: List[str] = field(default_factory=list)
    message: str = ''

    def summary(self, shown: int = 2) -> str:
        """The first errors, and how many more."""
        more = len(self.errors) - shown
        return '; '.join(self.errors[:shown]) + (
            f' (and {more} more)' if more > 0 else '')


def resolve_names(names: Sequence[str]) -> List[str]:
    """``odinw13`` / ``odinw35`` / zip names (any case) -> zip names, in
    order, each once; an unknown name is a UserError with the closest."""
    out = []
    by_lower = {n.lower(): n for n in ODINW35_ZIPS}
    for name in names:
        if name.lower() in ('odinw13', 'odinw-13', 'odinw_13'):
            found = list(ODINW13_ZIPS)
        elif name.lower() in ('odinw35', 'odinw-35', 'odinw_35'):
            found = list(ODINW35_ZIPS)
        elif name.lower() in by_lower:
            found = [by_lower[name.lower()]]
        else:
            choices = list(ODINW35_ZIPS) + ['odinw13', 'odinw35']
            raise UserError(
                f'--dataset {name!r}: not an ODinW dataset'
                f'{did_you_mean(name, choices)}; give odinw13, odinw35 or '
                f'names of {", ".join(ODINW35_ZIPS)}.')
        out.extend(n for n in found if n not in out)
    return out


def _safe_extract(zip_path: str, dest: str) -> Optional[str]:
    """Unpack ``zip_path`` into ``dest``, refusing members that would land
    outside it (absolute paths, ``..``). Returns why the zip cannot be
    unpacked (not a zip, truncated, a damaged member), None when it was."""
    root = osp.realpath(dest)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for member in zf.infolist():
                target = osp.realpath(osp.join(root, member.filename))
                if target != root and not target.startswith(root + os.sep):
                    raise UserError(
                        f'{zip_path}: member {member.filename!r} would be '
                        'written outside the data root; not unpacking this '
                        'file.')
            zf.extractall(root)
    except (zipfile.BadZipFile, zlib.error, EOFError,
            NotImplementedError) as e:
        return (f'not a readable zip ({type(e).__name__}: '
                f'{str(e) or "unexpected end of data"})')
    return None


def _task_folder(unpacked: str, name: str) -> str:
    """The folder of the task inside an unpacked zip: ``<name>/`` (the
    official zips hold one top folder named like the zip); a zip with the
    task's files at its top level is taken as that folder."""
    inner = osp.join(unpacked, name)
    entries = [e for e in os.listdir(unpacked) if e != '__MACOSX']
    if osp.isdir(inner):
        return inner
    if len(entries) == 1 and osp.isdir(osp.join(unpacked, entries[0])):
        return osp.join(unpacked, entries[0])
    os.makedirs(inner)
    for entry in entries:
        os.replace(osp.join(unpacked, entry), osp.join(inner, entry))
    return inner


def _check_task(task_dir: str) -> PlacedTask:
    """Check every annotation file of an unpacked task with the ODinW
    validation (images present, boxes, categories)."""
    from .validation import load_and_validate
    placed = PlacedTask(osp.basename(task_dir), task_dir, 'placed')
    for folder, _, files in sorted(os.walk(task_dir)):
        for fname in sorted(files):
            if not fname.endswith(ANN_SUFFIX) or fname.startswith(
                    'fewshot_'):
                continue
            ann = osp.join(folder, fname)
            placed.annotation_files.append(osp.relpath(ann, task_dir))
            report = load_and_validate(ann, folder)
            placed.errors.extend(f'{osp.relpath(ann, task_dir)}: {e.message}'
                                 for e in report.errors)
    if not placed.annotation_files:
        placed.errors.append(f'no *{ANN_SUFFIX} file in the zip')
    return placed


def _split_of(rel: str) -> Optional[str]:
    """``train`` / ``val`` for a split's annotation file (``train/...json``
    or ``train_...json`` as pistols has them), else None."""
    folder, base = osp.basename(osp.dirname(rel)), osp.basename(rel)
    if base == ANN_SUFFIX:
        return {'train': 'train', 'valid': 'val', 'val': 'val'}.get(folder)
    for split, prefix in (('train', 'train_'), ('val', 'val_')):
        if base == prefix + ANN_SUFFIX:
            return split
    return None


def _add_fewshot_splits(task_dir: str, placed: PlacedTask) -> None:
    """The official k-shot files (1, 3, 5, 10 shots x seeds 3, 30, 300) for
    every train / val annotation file that has none, listed in
    :data:`GENERATED_SPLITS` as made by mmglip's sampler, not shipped."""
    from .kshot import prepare_all
    for rel in placed.annotation_files:
        split = _split_of(rel)
        if split is None:
            continue
        ann = osp.join(task_dir, rel)
        folder = osp.dirname(ann)
        if any(f.startswith(f'fewshot_{split}_') for f in os.listdir(folder)):
            continue  # the zip has its own split files: keep them
        for path in prepare_all(ann, split=split):
            placed.generated_splits.append(osp.relpath(path, task_dir))
    if placed.generated_splits:
        with open(osp.join(task_dir, GENERATED_SPLITS), 'w') as f:
            f.write('These k-shot split files were generated by mmglip\'s '
                    'sampler (mmglip.datasets.kshot, the official '
                    'sampling rule); the official zip has none:\n')
            f.write('\n'.join(placed.generated_splits) + '\n')


def read_marker(task_dir: str) -> Optional[dict]:
    path = osp.join(task_dir, MARKER)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def place_zip(zip_path: str, name: str, data_root: str,
              source: str = '') -> PlacedTask:
    """Unpack a verified ODinW zip into ``data_root/<name>`` (atomically),
    check it and add k-shot files. A zip that does not unpack or whose
    annotation files fail their checks is not placed (status ``failed``).
    Refuses a ``data_root/<name>`` that this module did not place."""
    target = osp.join(data_root, name)
    if osp.exists(target):
        marker = read_marker(target)
        if marker is None:
            raise UserError(
                f'{target} exists but was not placed by mmglip (no {MARKER}); '
                'nothing was changed: move it away or give another '
                '--data-root.')
        placed = PlacedTask(name, target, 'already there',
                            marker.get('annotation_files', []),
                            marker.get('errors', []),
                            marker.get('generated_splits', []))
        if placed.errors:  # placed by a release that placed failed tasks
            placed.status = 'failed'
            placed.message = (
                f'{name}: {target} was placed by an earlier call although '
                f'its checks failed ({placed.summary()}); it is not used: '
                'delete it and run again.')
        return placed
    os.makedirs(data_root, exist_ok=True)
    tmp = osp.join(data_root, f'.{name}.unpacking-{os.getpid()}')
    try:
        os.makedirs(tmp)
        unreadable = _safe_extract(zip_path, tmp)
        if unreadable:
            return PlacedTask(name, target, 'failed', errors=[unreadable])
        task_dir = _task_folder(tmp, name)
        placed = _check_task(task_dir)
        if placed.errors:
            placed.path, placed.status = target, 'failed'
            return placed
        _add_fewshot_splits(task_dir, placed)
        with open(osp.join(task_dir, MARKER), 'w') as f:
            json.dump(dict(name=name, source=source,
                           zip_sha256=sha256_file(zip_path),
                           placed=time.strftime('%Y-%m-%dT%H:%M:%S'),
                           annotation_files=placed.annotation_files,
                           errors=placed.errors,
                           generated_splits=placed.generated_splits), f,
                      indent=1)
        os.replace(task_dir, target)
        placed.path = target
        return placed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean_stale(data_root: str) -> None:
    """Remove unpacking folders of interrupted earlier calls."""
    if not osp.isdir(data_root):
        return
    for entry in os.listdir(data_root):
        if entry.startswith('.') and '.unpacking-' in entry:
            shutil.rmtree(osp.join(data_root, entry), ignore_errors=True)


def download_odinw(names: Sequence[str], data_root: str, *,
                   mirror: Optional[str] = None,
                   offline: Optional[bool] = None, quiet: bool = False,
                   log: Callable[[str], None] = print,
                   error: Optional[Callable[[str], None]] = None
                   ) -> List[PlacedTask]:
    """Fetch (verified), unpack and check ODinW datasets.

    Args:
        names: ``odinw13``, ``odinw35`` or zip names (:data:`ODINW35_ZIPS`).
        data_root: where the task folders go (the configs' ``odinw_root``,
            ``data/odinw`` by default).
        mirror / offline / quiet: as for :func:`mmglip.zoo.hub.fetch_file`.
        log: where progress lines go.
        error: where the one line of each task that failed goes (default:
            ``log``).

    Returns:
        one :class:`PlacedTask` per zip. A task already placed by an earlier
        call is neither fetched nor touched. A zip that fails its checks is
        not placed (status ``failed``); a downloaded one is set aside, so
        that the next call fetches it anew.
    """
    from mmglip.zoo.hub import discard, fetch_file, mirror_in_force
    from mmglip.zoo.index import load_index
    zips = resolve_names(names)
    index = load_index()
    repo_id, revision = index.hub_repo, index.hub_revision
    origin = mirror_in_force(mirror) or f'{repo_id} on the hub'
    _clean_stale(data_root)
    done = []
    for name in zips:
        target = osp.join(data_root, name)
        if osp.exists(target):  # ours (else refused), placed or failed
            placed = place_zip('', name, data_root)
            if placed.status == 'failed':
                (error or log)(placed.message)
            else:
                log(f'{name}: already in {target}')
            done.append(placed)
            continue
        filename = f'{ODINW_HUB_FOLDER}/{name}.zip'
        path = fetch_file(filename, repo_id=repo_id, revision=revision,
                          mirror=mirror, offline=offline, quiet=quiet)
        placed = place_zip(os.fspath(path), name, data_root, source=filename)
        if placed.status == 'failed':
            placed.message = _failure(placed, filename, origin, path,
                                      discard)
            (error or log)(placed.message)
            done.append(placed)
            continue
        msg = (f'{name}: placed in {placed.path} '
               f'({len(placed.annotation_files)} annotation files')
        if placed.generated_splits:
            msg += (f', {len(placed.generated_splits)} k-shot files '
                    'generated by mmglip\'s sampler')
        log(msg + ')')
        done.append(placed)
    return done


def _failure(placed: PlacedTask, filename: str, origin: str, path,
             discard: Callable) -> str:
    """The one line of a zip that failed its checks; a downloaded zip is
    set aside, so that the next call fetches it anew (a mirror folder's
    zip is the user's and stays)."""
    head = (f'{placed.name}: {filename} from {origin} failed its checks: '
            f'{placed.summary()}; nothing was placed in {placed.path}.')
    try:
        bad = discard(path)
    except OSError as e:
        return (f'{head} It could not be moved aside ({e}): delete {path} '
                'and run again.')
    if bad is None:
        return f'{head} Replace {path} with the published zip and run again.'
    return (f'{head} The zip was kept aside as {bad}: run again to fetch it '
            'anew (if this persists, the source serves a broken zip).')
