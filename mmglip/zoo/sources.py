"""Where zoo bytes come from: the Hugging Face Hub (``hf_hub_download``,
its cache and settings) or a plain mirror (a folder, or an http(s) URL whose
downloads resume with HTTP Range across runs). What is accepted is decided
by :mod:`mmglip.zoo.hub`, which calls these."""
import functools
import os
import os.path as osp
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Optional

from mmglip.errors import UserError

_HEX64 = re.compile(r'[0-9a-f]{64}')


class ZooError(UserError, RuntimeError):
    """A zoo file could not be provided; the one-line message names the URL
    or path and says what to do."""


def zoo_home() -> Path:
    """mmglip's own files: ``$MMGLIP_HOME``, else ``$HF_HOME/mmglip``."""
    from huggingface_hub import constants
    return Path(os.path.expanduser(os.environ.get('MMGLIP_HOME') or osp.join(
        constants.HF_HOME, 'mmglip')))


def _is_url(base: str) -> bool:
    return re.match(r'https?://', base) is not None


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f'[mmglip.zoo] {msg}', file=sys.stderr, flush=True)


def _transfer_errors() -> tuple:
    """What a failed transfer raises: OSError (HfHubHTTPError, offline,
    size checks) and the HTTP library's errors (huggingface_hub 1.30+ names
    its httpx / httpx2 ``huggingface_hub.utils.httpx``)."""
    from huggingface_hub.utils import httpx
    return OSError, ValueError, httpx.HTTPError


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def from_hub(filename: str, repo_id: str, revision: str,
             offline: Optional[bool], quiet: bool):
    from huggingface_hub import constants, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import LocalEntryNotFoundError
    url = hf_hub_url(repo_id, filename, revision=revision)
    offline = bool(offline) or constants.is_offline_mode()
    try:
        path = hf_hub_download(
            repo_id, filename, revision=revision, local_files_only=offline,
            library_name='mmglip',
            tqdm_class=_silent_tqdm() if quiet else None)
    except _transfer_errors() as e:
        if offline and isinstance(e, LocalEntryNotFoundError):
            why = ('HF_HUB_OFFLINE=1' if constants.is_offline_mode() else
                   'offline=True / --offline')
            raise ZooError(
                f'{filename} is not in the Hugging Face cache '
                f'({constants.HF_HUB_CACHE}) and downloads are off ({why}): '
                f'download it once online (from {url}), copy a cache that '
                'holds it (HF_HOME / HF_HUB_CACHE), or use a local mirror '
                '(--mirror DIR / MMGLIP_MIRROR).') from e
        if getattr(getattr(e, 'response', None), 'status_code', 0) == 404:
            raise ZooError(
                f'{url}: not found (404). Check the model index ({repo_id} '
                f'at {revision}) and HF_ENDPOINT.') from e
        cause = e.__cause__ if isinstance(e, LocalEntryNotFoundError) and \
            e.__cause__ is not None else e
        raise ZooError(
            f'could not download {url} ({_first_line(cause)}); nothing was '
            'cached. Check the network and HF_ENDPOINT (a mirror of the '
            'hub), or use --mirror DIR_OR_URL / MMGLIP_MIRROR.') from e
    blob = osp.basename(osp.realpath(path))  # the hub's ETag names the blob
    digests = [('the hub\'s LFS SHA-256', blob)] if _HEX64.fullmatch(
        blob) else []
    return Path(path), url, digests


def _silent_tqdm():
    from huggingface_hub.utils import tqdm
    return functools.partial(tqdm, disable=True)


def read_digest(text: Optional[str]) -> Optional[str]:
    m = re.match(r'\s*([0-9a-fA-F]{64})(\s|$)', text or '')
    return m.group(1).lower() if m else None


def from_mirror(base: str, filename: str, pinned: bool,
                offline: Optional[bool], quiet: bool):
    if not _is_url(base):
        path = Path(base) / filename
        if not path.is_file():
            raise ZooError(f'{path}: no such file in the mirror folder '
                           f'{base} (--mirror / MMGLIP_MIRROR).')
        side = path.with_name(path.name + '.sha256')
        digest = read_digest(side.read_text(errors='replace')) \
            if side.is_file() else None
        return path, os.fspath(path), [(os.fspath(side), digest)
                                       ] if digest else [], False
    from huggingface_hub import constants
    url = f'{base}/{urllib.parse.quote(filename)}'
    dest = mirror_copy(filename)
    side = dest.with_name(dest.name + '.sha256')
    if not dest.is_file():
        if offline or (offline is None and constants.is_offline_mode()):
            raise ZooError(
                f'{filename} is not in the mirror cache {dest.parent} and '
                'downloads are off (HF_HUB_OFFLINE=1 / --offline): download '
                f'it once from {url}, or use a mirror folder (--mirror DIR).')
        if not pinned:
            digest = read_digest(_get_text(url + '.sha256'))
            if digest is None:
                raise ZooError(
                    f'{url}: no SHA-256 to verify it against (the model index '
                    f'pins none and {url}.sha256 is missing or not a '
                    'SHA-256), so it was not downloaded. Put sha256sum\'s '
                    'output for the published file there (tools/download.py '
                    'NAME --dest DIR writes it), or pin SHA256 in the model '
                    'index.')
            side.parent.mkdir(parents=True, exist_ok=True)
            side.write_text(digest + '\n')
        try:
            http_download(url, dest, quiet)
        except ZooError:
            if not dest.with_name(dest.name + '.part').exists():
                side.unlink(missing_ok=True)  # nothing of it is kept
            raise
    digest = None if pinned or not side.is_file() else read_digest(
        side.read_text(errors='replace'))
    return dest, url, [(f'{url}.sha256', digest)] if digest else [], True


def mirror_copy(filename: str) -> Path:
    """Where a URL mirror's download of ``filename`` is kept (and found
    again, whichever mirror brought it)."""
    return zoo_home() / 'mirror' / filename


def _get_text(url: str) -> Optional[str]:
    from huggingface_hub.utils import get_session
    try:
        r = get_session().get(url, timeout=10, follow_redirects=True)
    except _transfer_errors() as e:
        raise ZooError(f'could not download {url} ({_first_line(e)}); check '
                       'the network and --mirror / MMGLIP_MIRROR.') from e
    return r.text if r.status_code == 200 and len(r.content) < 4096 else None


def http_download(url: str, dest: Path, quiet: bool) -> None:
    """``url`` into ``dest`` through ``dest.part`` (resumed next time)."""
    from huggingface_hub.file_download import http_get
    part = dest.with_name(dest.name + '.part')
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    _log(f'resuming {url} at {have:,} bytes' if have else
         f'downloading {url}', quiet)
    try:
        with open(part, 'ab') as f:
            http_get(url, f, resume_size=have, displayed_filename=dest.name,
                     headers={'Accept-Encoding': 'identity'},
                     tqdm_class=_silent_tqdm() if quiet else None)
    except _transfer_errors() as e:
        response = getattr(e, 'response', None)
        status = getattr(response, 'status_code', 0)
        if status != 416:  # 416: the part was complete already
            raise _transfer_failed(url, part, status, response, e) from e
    os.replace(part, dest)


def _transfer_failed(url: str, part: Path, status: int, response,
                     exc: BaseException) -> ZooError:
    """The one-line error of a failed mirror transfer; an empty ``part``
    is removed (there is nothing to resume)."""
    kept = part.stat().st_size if part.exists() else 0
    if not kept:
        part.unlink(missing_ok=True)
    if 400 <= status < 500:  # the server's answer, not the network's
        reason = getattr(response, 'reason_phrase', '') or 'client error'
        earlier = (f'; the {kept:,} bytes of an earlier transfer stay in '
                   f'{part}' if kept else '')
        what = 'not found' if status == 404 else 'refused'
        return ZooError(
            f'{url}: {what} on the mirror ({status} {reason}), nothing was '
            f'downloaded{earlier}. Check --mirror / MMGLIP_MIRROR: a URL '
            'mirror serves each file as URL/<file>.')
    if kept:
        return ZooError(
            f'could not download {url} ({_first_line(exc)}); {kept:,} bytes '
            f'are kept in {part}: run the same command again to resume, or '
            'check --mirror / MMGLIP_MIRROR.')
    return ZooError(
        f'could not download {url} ({_first_line(exc)}); nothing was kept. '
        'Check the network and --mirror / MMGLIP_MIRROR, then run again.')
