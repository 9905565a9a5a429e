"""Zoo files (GLIP checkpoints, ODinW zips) from the Hugging Face Hub or a
plain mirror, accepted only when verified.

    from mmglip.zoo.hub import fetch_file
    path = fetch_file(FILE, repo_id=REPO, revision=REV, sha256=SHA256)

(:func:`mmglip.weights.fetch.fetch_weights` fetches a model of the index by
name this way and adds the check that the file is a GLIP checkpoint of the
entry's variant.)

Transfers are huggingface_hub's ``hf_hub_download``: the standard HF cache,
resumed transfers, locks, and ``HF_HOME`` / ``HF_HUB_CACHE`` / ``HF_ENDPOINT``
(a mirror of the hub) / ``HF_HUB_OFFLINE`` / tokens as in any Hugging Face
library. This module adds what the hub does not do:

* **verified content.** A file is accepted only when its size and SHA-256
  are what the model index pins, and its SHA-256 is the LFS SHA-256 the hub
  announced (the ``X-Linked-Etag`` that names the cached blob); huggingface_hub
  itself checks only the size. The caller's content checks (``checks``:
  for a checkpoint, that it loads as an official GLIP checkpoint of the
  entry's variant) must pass too. Anything else is moved aside to
  ``$MMGLIP_HOME/quarantine/<file>.rejected-<SHA-256's first 16 digits>``
  (one copy per content; the hub's cache entry goes with it) and a one-line
  :class:`ZooError` names the URL. There is no trust on first use: a file
  with no known SHA-256 is refused.
* **plain mirrors** (fetched by :mod:`mmglip.zoo.sources`) for air-gapped
  sites: ``mirror`` / ``$MMGLIP_MIRROR`` is a
  folder (or ``file://`` URL) holding ``<file>``, or an http(s) URL serving
  ``URL/<file>``. Their SHA-256 comes from the index or from ``<file>.sha256``
  beside the file (``sha256sum`` output; ``tools/download.py NAME --dest DIR``
  writes it next to the verified copy). A file with neither is refused: a
  flipped byte inside a tensor still loads, so loading proves nothing about
  the bytes. URL downloads go to ``$MMGLIP_HOME/mirror/`` (resumed with HTTP
  Range, also across runs); a folder's file is used, or refused, in place.
  Other URL schemes (``ftp://``) are refused.
* **found by name.** A file a URL mirror brought is found afterwards by its
  name without the mirror (``fetch_weights('glip-t_a')`` offline), and one
  the hub brought when a URL mirror is named; each is verified as strictly
  as from its own source (the pinned SHA-256, the digest its source gave,
  the checkpoint check) and set aside when it no longer matches.
* **verified once.** What was verified is recorded in
  ``$MMGLIP_HOME/verified/`` with the file's size, mtime and inode, so that a
  cache hit is not hashed again while the file is unchanged.

``$MMGLIP_HOME`` defaults to ``$HF_HOME/mmglip``.
"""
import contextlib
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from mmglip.utils.io import atomic_write_json

# ZooError and zoo_home are part of this module's API
from .sources import (_HEX64, ZooError, _first_line, _is_url, _log,
                      from_hub, from_mirror, mirror_copy, read_digest,
                      zoo_home)

#: URL scheme accepted wherever a checkpoint path is (``mmglip://glip-t_c``)
SCHEME = 'mmglip://'
_Check = Tuple[str, Callable[[Path], Optional[str]]]  # (label, problem)


def mirror_in_force(mirror: Optional[str] = None) -> Optional[str]:
    """The mirror in use: ``mirror``, else ``$MMGLIP_MIRROR``; a folder path
    (``file://`` URLs become paths) or an http(s) base URL; None: the hub.

    Raises:
        ZooError: a URL of another scheme (``ftp://``, ``s3://``).
    """
    base = mirror or os.environ.get('MMGLIP_MIRROR') or None
    scheme = re.match(r'([A-Za-z][A-Za-z0-9+.-]*)://', base or '')
    if scheme and scheme.group(1).lower() not in ('file', 'http', 'https'):
        raise ZooError(
            f'mirror {base} (--mirror / MMGLIP_MIRROR): {scheme.group(0)} '
            'URLs are not supported; give a folder, a file:// URL or an '
            'http(s):// URL.')
    if base and base.startswith('file://'):
        return urllib.request.url2pathname(urllib.parse.urlparse(base).path)
    if base and _is_url(base):
        return base.rstrip('/')
    return osp.expanduser(base) if base else None


def is_zoo_reference(value: str) -> bool:
    """Whether ``value`` names a zoo model (``glip-t_c``,
    ``mmglip://glip-t_c``) rather than an existing file."""
    if not isinstance(value, str):
        return False
    if value.startswith(SCHEME):
        return True
    if osp.exists(value):
        return False
    from .index import load_index
    try:
        return value in load_index()
    except FileNotFoundError:
        return False


def sha256_file(path, chunk_size: int = 1 << 23) -> str:
    """SHA-256 (hex) of a file's content, read in chunks (checkpoints and
    zips can be several GB); the one digest of the zoo, the ODinW data and
    the benchmark's fingerprint."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk_size), b''):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- records
def _record_path(path: Path) -> Path:
    key = hashlib.sha256(os.fsencode(osp.realpath(path))).hexdigest()[:32]
    return zoo_home() / 'verified' / f'{key}.json'


def _signature(path: Path) -> list:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _verified(path: Path) -> dict:
    """What was verified of ``path`` while it had its present signature."""
    try:
        record = json.loads(_record_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return record if record.get('signature') == _signature(path) else {}


def _remember(path: Path, sha256: str, checks: List[str]) -> None:
    record = dict(path=osp.realpath(path), signature=_signature(path),
                  sha256=sha256, checks=checks)
    try:  # a read-only home only costs a re-hash next time
        atomic_write_json(_record_path(path), record)
    except OSError:
        pass


@contextlib.contextmanager
def _lock(filename: str, quiet: bool):
    """One fetch of ``filename`` at a time across processes."""
    from filelock import FileLock, Timeout
    path = zoo_home() / 'locks' / (re.sub(r'[^\w.-]', '_', filename) +
                                   '.lock')
    lock = FileLock(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            _log(f'waiting for another download of {filename} ...', quiet)
            lock.acquire()
    except OSError:  # a read-only home: reading a cache needs no lock
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


# ---------------------------------------------------------- verification
def _set_aside(path: Path, sha256: Optional[str] = None) -> Path:
    """Move ``path``'s file (the blob behind a hub pointer) to the
    quarantine as ``<file>.rejected-<first 16 digits of its SHA-256>``: one
    copy per content (the same refused bytes again are dropped and the copy
    there is touched). Remove the pointer, a mirror copy's digest and the
    verification record."""
    real = osp.realpath(path)
    sha256 = sha256 or sha256_file(real)
    bad = zoo_home() / 'quarantine' / f'{path.name}.rejected-{sha256[:16]}'
    bad.parent.mkdir(parents=True, exist_ok=True)
    _record_path(Path(real)).unlink(missing_ok=True)
    if bad.is_file() and os.path.getsize(bad) == os.path.getsize(real):
        os.unlink(real)
        os.utime(bad)  # its time: when it was last refused
    else:
        shutil.move(real, bad)
    if path.is_symlink():
        path.unlink()
    # a URL mirror's digest goes too: the next transfer fetches it anew
    path.with_name(path.name + '.sha256').unlink(missing_ok=True)
    return bad


def discard(path) -> Optional[Path]:
    """Set aside a fetched file that a later check of its content refused
    (e.g. an ODinW zip that does not unpack), so that the next fetch
    transfers it anew: a file of the Hugging Face cache or of a URL mirror's
    downloads goes to the quarantine (returned); a mirror folder's file is
    the user's and stays (None)."""
    from huggingface_hub import constants
    real = osp.realpath(path)
    ours = [osp.realpath(constants.HF_HUB_CACHE),
            osp.realpath(mirror_copy(''))]
    if not any(real.startswith(root.rstrip(os.sep) + os.sep)
               for root in ours):
        return None
    return _set_aside(Path(path))


def _problem(path: Path, digests, size: Optional[int],
             checks: List[_Check],
             quiet: bool) -> Tuple[Optional[str], Optional[str]]:
    """``(why path is not the expected file (None: it is; recorded), its
    SHA-256 where it was computed)``."""
    record = _verified(path)
    if not record:
        _log(f'verifying {path}', quiet)
    actual_size = os.path.getsize(path)
    if size is not None and actual_size != size:
        return f'{actual_size:,} bytes, expected {size:,}', None
    actual = record.get('sha256') or sha256_file(path)
    wrong = [f'SHA-256 {actual}, expected {digest} from {source}'
             for source, digest in digests if digest != actual]
    if wrong:
        return '; '.join(wrong), actual
    for label, check in checks:
        if label not in record.get('checks', []):
            problem = check(path)
            if problem:
                return problem, actual
    if not record:
        _log(f'{path.name}: SHA-256 {actual} verified against ' +
             ', '.join(source for source, _ in digests) +
             ''.join(f'; {label}' for label, _ in checks), quiet)
    _remember(path, actual, [label for label, _ in checks])
    return None, actual


def _copy_from_elsewhere(filename: str, repo_id: str, revision: str,
                         base: Optional[str], pinned: list,
                         size: Optional[int], checks: List[_Check],
                         quiet: bool) -> Optional[Path]:
    """A copy of ``filename`` that another source brought and that
    verifies as strictly as from its own source (the pinned SHA-256 and
    that source's digest, the checks): without a mirror, a URL mirror's
    download; with a URL mirror that has not brought it, the Hugging Face
    cache's file. A copy that does not verify is set aside (None)."""
    if base is None:
        path = mirror_copy(filename)
        side = path.with_name(path.name + '.sha256')
        digest = read_digest(side.read_text(errors='replace')) \
            if side.is_file() else None
        digests = [(f'{side} (its URL mirror\'s .sha256)', digest)
                   ] if digest else []
    elif _is_url(base) and not mirror_copy(filename).is_file():
        from huggingface_hub import try_to_load_from_cache
        hit = try_to_load_from_cache(repo_id, filename, revision=revision)
        if not isinstance(hit, str):
            return None
        path = Path(hit)
        blob = osp.basename(osp.realpath(path))
        digests = [('the hub\'s LFS SHA-256', blob)] if _HEX64.fullmatch(
            blob) else []
    else:  # a mirror folder's file is used in place
        return None
    if not path.is_file() or not pinned + digests:
        return None
    problem, actual = _problem(path, pinned + digests, size, checks, quiet)
    if problem is None:
        return path
    try:
        _log(f'{path} was refused ({problem}) and kept aside as '
             f'{_set_aside(path, actual)}', quiet)
    except OSError as e:
        _log(f'{path} was refused ({problem}); it could not be moved aside '
             f'({_first_line(e)}): delete it', quiet)
    return None


def _fetch(filename: str, repo_id: str, revision: str,
           sha256: Optional[str], size: Optional[int], mirror: Optional[str],
           offline: Optional[bool], quiet: bool,
           checks: List[_Check]) -> Path:
    base = mirror_in_force(mirror)
    pinned = [('the pinned SHA-256', sha256.lower())] if sha256 else []
    with _lock(filename, quiet):
        found = _copy_from_elsewhere(filename, repo_id, revision, base,
                                     pinned, size, checks, quiet)
        if found is not None:
            return found
        if base is None:
            path, url, digests = from_hub(filename, repo_id, revision,
                                          offline, quiet)
            ours = True
        else:
            path, url, digests, ours = from_mirror(base, filename,
                                                   bool(sha256), offline,
                                                   quiet)
        digests = pinned + digests
        if not digests:
            actual = None
            problem = ('no SHA-256 to verify it against (none pinned in the '
                       'model index, none from the hub / the mirror\'s '
                       f'{filename}.sha256)')
        else:
            problem, actual = _problem(path, digests, size, checks, quiet)
        if problem is None:
            return path
        if not ours:
            raise ZooError(
                f'{path} was refused: {problem}. It was not used and is left '
                'in place (the mirror folder is yours): replace it with the '
                'published file or fix its .sha256.')
        try:
            kept = (f'neither used nor cached and is kept aside as '
                    f'{_set_aside(path, actual)}')
        except OSError as e:  # a read-only cache: not used all the same
            kept = (f'not used; it could not be moved aside '
                    f'({_first_line(e)}): delete {path}')
        raise ZooError(
            f'{url}: the downloaded file was refused: {problem}. It was '
            f'{kept}. Run again to download it anew; if this persists, the '
            'server (HF_ENDPOINT / --mirror) serves a different file.')


def fetch_file(filename: str, *, repo_id: str, revision: str,
               sha256: Optional[str] = None, size: Optional[int] = None,
               mirror: Optional[str] = None, offline: Optional[bool] = None,
               quiet: bool = False, checks: Sequence[_Check] = ()) -> Path:
    """A verified local copy of ``filename`` of the hub repository
    ``repo_id`` at ``revision``.

    From the hub: the file in the HF cache. From a URL mirror
    (``mirror`` / ``$MMGLIP_MIRROR``): ``$MMGLIP_HOME/mirror/<filename>``.
    From a mirror folder: the folder's file itself. Accepted only when its
    size is ``size`` (if given) and its SHA-256 is ``sha256`` (if given) and
    the hub's LFS SHA-256 / the mirror's ``<filename>.sha256``; ``offline``
    (default ``HF_HUB_OFFLINE``) forbids network access. ``checks``:
    ``(what, problem(path) -> reason or None)`` pairs run on the verified
    bytes (e.g. :func:`mmglip.weights.fetch.glip_checkpoint_problem`); a
    file one of them finds fault with is refused like a wrong SHA-256.

    Raises:
        ZooError: not available, or refused (then moved aside, see the
            module's doc); the message names the URL / path.
    """
    return _fetch(filename, repo_id, revision, sha256, size, mirror, offline,
                  quiet, list(checks))


__all__ = ['SCHEME', 'ZooError', 'discard', 'fetch_file', 'is_zoo_reference',
           'mirror_in_force', 'sha256_file', 'zoo_home']
