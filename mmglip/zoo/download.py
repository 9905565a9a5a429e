"""Download, verify, convert and cache the released GLIP checkpoints.

    from mmglip.zoo.download import download
    path = download('glip-t_c')                  # mmglip-layout checkpoint
    path = download('glip-t_c', dest='weights')  # and a copy in weights/

What it guarantees:

* **verified**: size and SHA-256 are checked against, in this order of
  trust, the digest pinned in the model index, the digest recorded on this
  machine's first download (``$MMGLIP_HOME/hashes.json``) and the server's
  checksum header (Hugging Face's ``X-Linked-Etag`` on the redirect of an LFS
  file, an ``ETag`` that is a SHA-256, ``X-Checksum-Sha256``, RFC 3230
  ``Digest: sha-256=`` or RFC 9530 ``Repr-Digest``). Every one that is known
  must match. A digest that only the server gave is recorded on first
  download; a file that no source vouches for is recorded as measured
  ("trust on first use") with a warning. On a mismatch the file is moved
  aside as ``<file>.corrupt-<timestamp>`` (never deleted, never used) and
  :class:`ChecksumMismatchError` names both digests, the URL and the entry.
* **resumable**: bytes go to ``<file>.part``; an interrupted transfer (a cut
  connection, a killed process) resumes with an HTTP ``Range`` request
  (``If-Range`` guards against a changed file); a server without Range
  support is detected (it answers 200) and the transfer starts over.
  Transient errors (connection resets, timeouts, 5xx, 408, 429) are retried
  with exponential back-off; 404 and other client errors are not.
* **atomic**: the final name only ever holds a verified file (``os.replace``
  of the finished part), for the download, the conversion and ``dest``.
* **converted**: official files (``module.``-prefixed ``model`` /
  ``model_ema``, optimizer and scheduler state) become mmglip checkpoints
  ``{"state_dict", "meta"}`` with model weights only; the official file is
  then removed from the cache unless ``keep_official`` (its digest stays
  recorded in the converted file's meta and in ``hashes.json``).
* **cached and offline**: files live under ``$MMGLIP_HOME`` (default
  ``~/.cache/mmglip``): ``official/`` (downloads), ``checkpoints/``
  (converted), ``locks/``, ``hashes.json``. A cached file is used without any
  network access; ``MMGLIP_OFFLINE=1`` (or ``offline=True``) forbids the
  network altogether and fails clearly when the file is not cached.
* **concurrent-safe**: an exclusive ``fcntl.flock`` lock per file in
  ``$MMGLIP_HOME/locks``; a second downloader of the same file waits and
  then finds the verified file.
* **mirrors**: ``mirror`` (or ``MMGLIP_MIRROR``) replaces the base URL:
  every file is fetched from ``<mirror>/<weight file>``, for mirrors,
  air-gapped sites and tests.
"""
import base64
import binascii
import contextlib
import datetime
import errno
import fcntl
import hashlib
import http.client
import json
import os
import os.path as osp
import random
import re
import shutil
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .index import UnknownModelError, ZooEntry, load_index
from mmglip.utils.cli import UserError

DEFAULT_HOME = '~/.cache/mmglip'
CHUNK = 1 << 20
USER_AGENT = 'mmglip-zoo/1.0 (+https://github.com/microsoft/GLIP weights)'
#: URL scheme accepted wherever a checkpoint path is (``load_from=``)
SCHEME = 'mmglip://'
_HEX64 = re.compile(r'^[0-9a-fA-F]{64}$')
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class ZooError(UserError, RuntimeError):
    """A zoo file could not be provided; the message says why and what to
    do."""


class DownloadError(ZooError):
    """The transfer failed (HTTP error, network, retries exhausted)."""


class ChecksumMismatchError(ZooError):
    """The downloaded bytes are not the published file."""

    def __init__(self, message: str, expected: str = '', actual: str = '',
                 kept_at: str = ''):
        super().__init__(message)
        self.expected, self.actual, self.kept_at = expected, actual, kept_at


class OfflineError(ZooError):
    """Offline and the file is not cached."""


class DestinationExistsError(ZooError, FileExistsError):
    """``dest`` holds a different file and ``force`` was not given."""


# ---------------------------------------------------------------------------
# settings


def zoo_home(home: Optional[Union[str, Path]] = None) -> Path:
    """The cache root: ``home``, ``$MMGLIP_HOME`` or ``~/.cache/mmglip``."""
    return Path(os.path.expanduser(
        os.fspath(home or os.environ.get('MMGLIP_HOME') or DEFAULT_HOME)))


def mirror_base(mirror: Optional[str] = None) -> Optional[str]:
    """The mirror base URL in force (argument, then ``MMGLIP_MIRROR``)."""
    mirror = mirror or os.environ.get('MMGLIP_MIRROR') or None
    return mirror.rstrip('/') if mirror else None


def is_offline(offline: Optional[bool] = None) -> bool:
    if offline is not None:
        return offline
    return os.environ.get('MMGLIP_OFFLINE', '').lower() in ('1', 'true',
                                                            'yes', 'on')


def entry_url(entry: ZooEntry, mirror: Optional[str] = None) -> str:
    """Where ``entry``'s file is fetched from."""
    base = mirror_base(mirror)
    if base:
        return f'{base}/{urllib.parse.quote(entry.weight_file)}'
    return entry.weights


def _log(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(f'[mmglip.zoo] {msg}', file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'{path.name}.tmp{os.getpid()}')
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_json(path: Path) -> Dict:
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def file_lock(path: Path, what: str = '', quiet: bool = False,
              timeout: Optional[float] = None):
    """An exclusive ``flock`` on ``path`` (created), released on exit or
    when the process dies. Waits for another holder, saying so once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            try:
                holder = os.pread(fd, 64, 0).decode(errors='replace').strip()
            except OSError:
                holder = ''
            _log(f'waiting for another download of {what or path.name}'
                 f'{" (pid " + holder + ")" if holder else ""} ...', quiet)
            start = time.monotonic()
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e2:
                    if e2.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if timeout is not None and time.monotonic() - start > timeout:
                    raise ZooError(f'timed out after {timeout:.0f} s waiting '
                                   f'for the lock {path}')
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------
# recorded hashes ($MMGLIP_HOME/hashes.json)


class HashStore:
    """Digests recorded on first download, keyed by weight file name:
    ``{file: {"sha256", "size", "source", "url", "recorded"}}``."""

    def __init__(self, home: Path):
        self.path = home / 'hashes.json'
        self.lock = home / 'locks' / 'hashes.json.lock'

    def get(self, filename: str) -> Optional[Dict]:
        return _read_json(self.path).get(filename)

    def record(self, filename: str, sha256: str, size: int, source: str,
               url: str) -> None:
        with file_lock(self.lock, 'hashes.json', quiet=True):
            data = _read_json(self.path)
            data[filename] = dict(sha256=sha256, size=size, source=source,
                                  url=url, recorded=_now())
            _atomic_write_text(self.path,
                               json.dumps(data, indent=2, sort_keys=True))


# ---------------------------------------------------------------------------
# server checksum headers


def _b64_to_hex(value: str) -> Optional[str]:
    try:
        raw = base64.b64decode(value.strip().strip(':'), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def checksum_from_headers(headers) -> Tuple[Optional[str], Optional[str]]:
    """``(sha256 hex, header name)`` from one response's headers, or
    ``(None, None)``. ``headers`` is an ``email.message.Message`` or dict."""
    get = headers.get

    def clean(v):
        v = v.strip()
        if v.startswith('W/'):
            return ''  # a weak validator is no digest
        return v.strip('"').strip()

    for name in ('X-Linked-Etag', 'X-Checksum-Sha256', 'X-Goog-Hash-Sha256',
                 'ETag'):
        value = get(name)
        if value and _HEX64.match(clean(value)):
            return clean(value).lower(), name
    for name in ('Repr-Digest', 'Digest'):
        value = get(name)
        if not value:
            continue
        for part in value.split(','):
            algo, _, digest = part.strip().partition('=')
            if algo.strip().lower() in ('sha-256', 'sha256'):
                hexd = _b64_to_hex(digest)
                if hexd is None and _HEX64.match(digest.strip().strip(':')):
                    hexd = digest.strip().strip(':').lower()
                if hexd:
                    return hexd, name
    value = get('x-amz-checksum-sha256')
    if value and '-' not in value:  # "-N": a checksum of part checksums
        hexd = _b64_to_hex(value)
        if hexd:
            return hexd, 'x-amz-checksum-sha256'
    return None, None


def size_from_headers(headers, status: int) -> Optional[int]:
    """The full file size a response announces (``X-Linked-Size``,
    ``Content-Range`` total, or ``Content-Length`` of a 200)."""
    linked = headers.get('X-Linked-Size')
    if linked and linked.strip().isdigit():
        return int(linked)
    crange = headers.get('Content-Range')
    if crange:
        m = re.match(r'bytes\s+(?:\d+-\d+|\*)/(\d+)', crange.strip())
        if m:
            return int(m.group(1))
    if status == 200:
        length = headers.get('Content-Length')
        if length and length.strip().isdigit():
            return int(length)
    return None


class _RecordingRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects and keeps each redirect response's headers (Hugging
    Face sends an LFS file's SHA-256 as ``X-Linked-Etag`` on the 302)."""

    def __init__(self):
        super().__init__()
        self.seen: List[Tuple[int, str, object]] = []

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.seen.append((code, req.full_url, headers))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Response:
    """An open HTTP response plus the headers of the redirects before it."""

    def __init__(self, resp, chain):
        self.resp, self.chain = resp, chain
        # file:// (a mirror on a mounted disk) has no status: a whole file
        self.status = resp.status if resp.status is not None else 200
        self.headers = resp.headers
        self.url = resp.geturl()

    def all_headers(self):
        return [h for _, _, h in self.chain] + [self.headers]

    def read(self, n):
        return self.resp.read(n)

    def close(self):
        self.resp.close()


def _open(url: str, headers: Dict[str, str], timeout: float) -> _Response:
    redirects = _RecordingRedirects()
    opener = urllib.request.build_opener(redirects)
    req = urllib.request.Request(url, headers={
        'User-Agent': USER_AGENT, 'Accept-Encoding': 'identity', **headers})
    resp = opener.open(req, timeout=timeout)
    return _Response(resp, redirects.seen)


# ---------------------------------------------------------------------------
# the transfer


@dataclass
class _Expected:
    sha256: Optional[str]
    size: Optional[int]
    sources: Dict[str, str]  # sha256 source name -> digest


class _Transfer:
    """Download ``url`` into ``part`` (resuming), hashing as it goes."""

    def __init__(self, url: str, part: Path, label: str, *, retries: int,
                 backoff: float, timeout: float, progress: bool,
                 quiet: bool, entry: str = ''):
        self.url, self.part, self.label = url, part, label
        self.entry = entry or label
        self.state_path = part.with_name(part.name + '.json')
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.progress, self.quiet = progress, quiet
        self.server_sha: Optional[str] = None
        self.server_sha_from: Optional[str] = None
        self.total: Optional[int] = None
        self.validator: Optional[str] = None
        self.restarts = 0
        self.resumes = 0
        self._hasher = None
        self._hashed = 0

    # the part file's sidecar: which URL / version its bytes belong to
    def _load_state(self) -> Dict:
        state = _read_json(self.state_path)
        return state if state.get('url') == self.url else {}

    def _save_state(self) -> None:
        _atomic_write_text(self.state_path, json.dumps(dict(
            url=self.url, validator=self.validator, total=self.total,
            server_sha256=self.server_sha,
            server_sha256_from=self.server_sha_from)))

    def _reset(self, why: str) -> None:
        if self.part.exists() and self.part.stat().st_size:
            _log(f'{self.label}: {why}; starting over', self.quiet)
            self.restarts += 1
        with open(self.part, 'wb'):
            pass
        self._hasher, self._hashed = hashlib.sha256(), 0
        # what the old bytes' response said no longer applies
        self.total = self.validator = None
        self.server_sha = self.server_sha_from = None

    def _hash_existing(self, upto: int) -> None:
        """Bring the running hash up to ``upto`` bytes of the part file."""
        if self._hasher is None or self._hashed > upto:
            self._hasher, self._hashed = hashlib.sha256(), 0
        with open(self.part, 'rb') as f:
            f.seek(self._hashed)
            while self._hashed < upto:
                block = f.read(min(CHUNK, upto - self._hashed))
                if not block:
                    break
                self._hasher.update(block)
                self._hashed += len(block)

    def _note_headers(self, resp: _Response) -> None:
        for headers in resp.all_headers():
            sha, name = checksum_from_headers(headers)
            if sha and not self.server_sha:
                self.server_sha, self.server_sha_from = sha, name
            size = size_from_headers(headers, resp.status)
            if size is not None and self.total is None:
                self.total = size
        etag = resp.headers.get('ETag')
        modified = resp.headers.get('Last-Modified')
        if etag and not etag.strip().startswith('W/'):
            self.validator = etag.strip()
        elif modified:
            self.validator = modified.strip()

    def run(self) -> Tuple[str, int]:
        """Transfer until complete; returns ``(sha256, size)``."""
        self.part.parent.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        if not state and self.part.exists():
            self._reset('the partial file belongs to another URL')
        self.validator = state.get('validator')
        self.total = state.get('total')
        self.server_sha = state.get('server_sha256')
        self.server_sha_from = state.get('server_sha256_from')
        if not self.part.exists():
            self._reset('new download')
        attempt = 0
        while True:
            try:
                if self._attempt():
                    self._hash_existing(self.part.stat().st_size)
                    return self._hasher.hexdigest(), self._hashed
            except DownloadError:
                raise
            except urllib.error.HTTPError as e:
                if e.code not in _RETRY_STATUS:
                    raise self._http_error(e) from None
                err = f'HTTP {e.code} {e.reason}'
            except (urllib.error.URLError, http.client.HTTPException,
                    ConnectionError, socket.timeout, TimeoutError,
                    OSError) as e:
                reason = getattr(e, 'reason', None) or e
                if isinstance(reason, FileNotFoundError):  # file:// mirror
                    raise DownloadError(
                        f'zoo entry {self.entry}: {self.url} not found '
                        f'({reason}). Check --mirror / MMGLIP_MIRROR.'
                    ) from None
                err = f'{type(e).__name__}: {reason}'
            attempt += 1
            have = self.part.stat().st_size if self.part.exists() else 0
            if attempt > self.retries:
                raise DownloadError(
                    f'zoo entry {self.entry}: download of {self.url} failed '
                    f'after {attempt} attempts ({err}). {have:,} bytes are '
                    f'kept in {self.part}; run the same command again to '
                    'resume.')
            delay = min(60.0, self.backoff * 2 ** (attempt - 1))
            delay *= 0.5 + random.random()
            _log(f'{self.label}: {err} after {have:,} bytes; retry '
                 f'{attempt}/{self.retries} in {delay:.1f} s', self.quiet)
            time.sleep(delay)

    def _http_error(self, e: urllib.error.HTTPError) -> DownloadError:
        if e.code == 404:
            what = 'not found (404): the file is not at that location'
        else:
            what = f'refused with HTTP {e.code} {e.reason}'
        return DownloadError(
            f'zoo entry {self.entry}: {self.url} {what}. Check the entry '
            'in model-index.yml, or serve the file from another place with '
            '--mirror URL / MMGLIP_MIRROR (files are fetched from '
            '<mirror>/<weight file>).')

    def _attempt(self) -> bool:
        have = self.part.stat().st_size
        headers = {}
        if have:
            headers['Range'] = f'bytes={have}-'
            if self.validator:
                headers['If-Range'] = self.validator
        try:
            resp = _open(self.url, headers, self.timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:
                # nothing left to send: complete if the size agrees
                total = size_from_headers(e.headers, 416)
                if total is not None and total == have:
                    self.total = total
                    return True
                self._reset('the server refused the resume range')
                return False
            raise
        try:
            if resp.status == 206:
                crange = resp.headers.get('Content-Range', '')
                m = re.match(r'bytes\s+(\d+)-', crange)
                start = int(m.group(1)) if m else -1
                if start != have:
                    self._reset(f'the server resumed at byte {start}, not '
                                f'{have}')
                    return False
                self.resumes += 1
                _log(f'{self.label}: resuming at {have:,} bytes', self.quiet)
            elif resp.status == 200:
                if have:
                    self._reset('the server does not resume (no Range '
                                'support, or the file changed)')
                    have = 0
            else:
                raise DownloadError(f'{self.label}: {self.url} answered '
                                    f'HTTP {resp.status}.')
            self._note_headers(resp)
            self._save_state()
            self._hash_existing(have)
            length = resp.headers.get('Content-Length')
            expect = int(length) if length and length.isdigit() else None
            got = self._stream(resp, have)
            if expect is not None and got < expect:
                raise http.client.IncompleteRead(b'', expect - got)
            size = self.part.stat().st_size
            if self.total is not None and size < self.total:
                raise http.client.IncompleteRead(b'', self.total - size)
            return True
        finally:
            resp.close()

    def _stream(self, resp: _Response, have: int) -> int:
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=self.total, initial=have, unit='B',
                       unit_scale=True, unit_divisor=1024, desc=self.label,
                       file=sys.stderr, leave=False, dynamic_ncols=True)
        got = 0
        try:
            with open(self.part, 'ab') as f:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    self._hasher.update(block)
                    self._hashed += len(block)
                    got += len(block)
                    if bar is not None:
                        bar.update(len(block))
                f.flush()
                os.fsync(f.fileno())
        finally:
            if bar is not None:
                bar.close()
        return got


# ---------------------------------------------------------------------------
# conversion


def _load_checkpoint_file(path: Path):
    """Load a verified download. Memory-mapped where the file format
    allows (a 6.9 GB GLIP-L file is mostly optimizer state that conversion
    never touches); weights-only first."""
    import torch
    for kwargs in (dict(weights_only=True, mmap=True),
                   dict(weights_only=True), dict(weights_only=False,
                                                 mmap=True)):
        try:
            return torch.load(path, map_location='cpu', **kwargs)
        except Exception:  # noqa: BLE001 - next way below
            pass
    # official files may hold scheduler / optimizer objects that torch's
    # weights-only unpickler refuses; the file's SHA-256 was verified before
    return torch.load(path, map_location='cpu', weights_only=False)


def convert_official_file(src: Path, dst: Path, key: str = 'model',
                          extra_meta: Optional[Dict] = None) -> Dict:
    """Convert a downloaded file to an mmglip checkpoint at ``dst``
    (atomically). Returns the meta written; ``meta['converted']`` is False
    when the file already was in mmglip's layout (then nothing is written).
    Needs no model: a partial state dict converts as well."""
    import torch
    from .official import extract_state_dict, is_official, official_to_mmglip
    ckpt = _load_checkpoint_file(src)
    if not isinstance(ckpt, dict):
        raise ZooError(f'{src} does not hold a checkpoint dict.')
    inner = ckpt.get(key, ckpt)
    if not (isinstance(inner, dict) and is_official(inner)):
        if key != 'model' and key not in ckpt:
            raise ZooError(f'{src} has no {key!r} weights.')
        return dict(converted=False)
    sd = extract_state_dict(ckpt, key)
    converted, left = official_to_mmglip(sd)
    meta = dict(converted=True, weights_key=key, not_converted=left,
                dropped=sorted(str(k) for k in ckpt if k != key),
                **(extra_meta or {}))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f'{dst.name}.tmp{os.getpid()}')
    torch.save(dict(state_dict=converted, meta=meta), tmp)
    os.replace(tmp, dst)
    return meta


# ---------------------------------------------------------------------------
# the public API


@dataclass
class Fetched:
    """What :func:`download` provided."""
    name: str
    path: Path  # the file to load (converted, or the verified download)
    sha256: str  # of the downloaded (official) file
    size: int
    url: str
    converted: bool
    cached: bool  # True when no transfer was needed
    sha256_source: str = ''


def _resolve_entry(name: Union[str, ZooEntry]) -> ZooEntry:
    if isinstance(name, ZooEntry):
        return name
    if name.startswith(SCHEME):
        name = name[len(SCHEME):]
    return load_index().get(name)


def _paths(home: Path, entry: ZooEntry, key: str):
    official = home / 'official' / entry.weight_file
    suffix = '' if key == 'model' else f'_{key}'
    converted = home / 'checkpoints' / f'{entry.name}{suffix}.pth'
    lock = home / 'locks' / f'{entry.weight_file}.lock'
    return official, converted, lock


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + '.json')


def _cached(path: Path, expected: _Expected) -> Optional[Dict]:
    """The sidecar of a cached file that is complete and agrees with what
    is expected, else None."""
    info = _read_json(_sidecar(path))
    if not path.is_file() or not info:
        return None
    if info.get('file_size') is not None and \
            path.stat().st_size != info['file_size']:
        return None
    if expected.sha256 and info.get('source_sha256') != expected.sha256:
        return None
    return info


def sha256_file(path: Union[str, Path]) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(CHUNK), b''):
            h.update(block)
    return h.hexdigest()


def _expected(entry: ZooEntry, store: HashStore) -> _Expected:
    sources = {}
    size = entry.file_size
    if entry.sha256:
        sources['the model index (pinned)'] = entry.sha256.lower()
    recorded = store.get(entry.weight_file)
    if recorded and recorded.get('sha256'):
        sources[f'{store.path} (recorded {recorded.get("recorded", "?")} '
                f'from {recorded.get("source", "?")})'] = recorded['sha256']
        size = size or recorded.get('size')
    sha = next(iter(sources.values()), None)
    return _Expected(sha256=sha, size=size, sources=sources)


def _quarantine(part: Path, final_name: str) -> Path:
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    bad = part.with_name(f'{final_name}.corrupt-{stamp}')
    n = 1
    while bad.exists():
        bad = part.with_name(f'{final_name}.corrupt-{stamp}-{n}')
        n += 1
    os.replace(part, bad)
    _sidecar(part).unlink(missing_ok=True)
    return bad


def _install(src: Path, dest_dir: Path, force: bool, quiet: bool) -> Path:
    """Copy ``src`` into ``dest_dir`` atomically; an existing different
    file is an error unless ``force``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / src.name
    if target.exists():
        if target.resolve() == src.resolve():
            return target
        if target.stat().st_size == src.stat().st_size and \
                sha256_file(target) == sha256_file(src):
            _log(f'{target} is already there (same SHA-256)', quiet)
            return target
        if not force:
            raise DestinationExistsError(
                f'{target} exists and differs from the zoo file {src}; not '
                'overwriting it (pass --force / force=True to replace it).')
    # a copy, not a hard link: editing the copy must not touch the cache
    tmp = dest_dir / f'.{src.name}.tmp{os.getpid()}'
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def download(name: Union[str, ZooEntry], dest: Optional[Union[str,
                                                               Path]] = None,
             *, mirror: Optional[str] = None,
             home: Optional[Union[str, Path]] = None, convert: bool = True,
             weights_key: str = 'model', keep_official: bool = False,
             offline: Optional[bool] = None, force: bool = False,
             retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
             progress: Optional[bool] = None, quiet: bool = False,
             lock_timeout: Optional[float] = None) -> Path:
    """Provide zoo model ``name``'s weights; returns the path to load.

    Args:
        name: zoo name (``glip-t_c``, ``mmglip://glip-t_c``) or entry.
        dest: also place the file in this folder (never overwriting a
            different file unless ``force``).
        mirror: base URL serving ``<weight file>`` (default
            ``$MMGLIP_MIRROR``, else the index's URL).
        home: cache root (default ``$MMGLIP_HOME`` or ``~/.cache/mmglip``).
        convert: convert official files to mmglip's layout.
        weights_key: ``model`` or ``model_ema`` of an official file.
        keep_official: keep the official file in the cache after converting.
        offline: never use the network (default ``$MMGLIP_OFFLINE``).
        retries, backoff, timeout: transfer retries, first back-off delay
            (doubling, with jitter) and socket timeout in seconds.
        progress: show a progress bar (default: when stderr is a terminal).
    """
    return fetch(name, dest, mirror=mirror, home=home, convert=convert,
                 weights_key=weights_key, keep_official=keep_official,
                 offline=offline, force=force, retries=retries,
                 backoff=backoff, timeout=timeout, progress=progress,
                 quiet=quiet, lock_timeout=lock_timeout).path


def fetch(name: Union[str, ZooEntry], dest: Optional[Union[str, Path]] = None,
          *, mirror: Optional[str] = None,
          home: Optional[Union[str, Path]] = None, convert: bool = True,
          weights_key: str = 'model', keep_official: bool = False,
          offline: Optional[bool] = None, force: bool = False,
          retries: int = 5, backoff: float = 1.0, timeout: float = 60.0,
          progress: Optional[bool] = None, quiet: bool = False,
          lock_timeout: Optional[float] = None) -> Fetched:
    """:func:`download`, returning a :class:`Fetched` record."""
    entry = _resolve_entry(name)
    if weights_key not in ('model', 'model_ema'):
        raise ValueError(f'weights_key must be model or model_ema, got '
                         f'{weights_key!r}')
    home = zoo_home(home)
    store = HashStore(home)
    official, converted, lock = _paths(home, entry, weights_key)
    url = entry_url(entry, mirror)
    label = entry.name
    if progress is None:
        progress = sys.stderr.isatty() and not quiet

    def from_cache() -> Optional[Fetched]:
        expected = _expected(entry, store)
        if convert:
            info = _cached(converted, expected)
            if info:
                return Fetched(entry.name, converted, info['source_sha256'],
                               info['source_size'], info.get('url', url),
                               True, True, info.get('sha256_source', ''))
        info = _cached(official, expected)
        if info and (not convert or not info.get('convertible', True)):
            return Fetched(entry.name, official, info['source_sha256'],
                           info['source_size'], info.get('url', url), False,
                           True, info.get('sha256_source', ''))
        return None

    hit = from_cache()
    if hit is None:
        with file_lock(lock, entry.weight_file, quiet, lock_timeout):
            hit = from_cache()  # another process may have finished it
            if hit is None:
                hit = _provide(entry, url, home, store, official, converted,
                               convert=convert, key=weights_key,
                               keep_official=keep_official,
                               offline=is_offline(offline), retries=retries,
                               backoff=backoff, timeout=timeout,
                               progress=progress, quiet=quiet, label=label)
    else:
        _log(f'{label}: using cached {hit.path}', quiet)
    if dest is not None:
        hit.path = _install(hit.path, Path(dest), force, quiet)
    return hit


def _provide(entry: ZooEntry, url: str, home: Path, store: HashStore,
             official: Path, converted: Path, *, convert: bool, key: str,
             keep_official: bool, offline: bool, retries: int,
             backoff: float, timeout: float, progress: bool, quiet: bool,
             label: str) -> Fetched:
    expected = _expected(entry, store)
    info = _cached(official, expected)
    transferred = False
    if info is None:
        if offline:
            raise OfflineError(
                f'{entry.describe()}: offline (MMGLIP_OFFLINE) and not in '
                f'the cache {home}. Download it on a connected machine '
                f'(tools/download.py {entry.name}) and copy {home}, or set '
                'MMGLIP_MIRROR to a reachable mirror and unset MMGLIP_OFFLINE.'
            )
        part = official.with_name(official.name + '.part')
        _log(f'{label}: downloading {url}', quiet)
        transfer = _Transfer(url, part, label, retries=retries,
                             backoff=backoff, timeout=timeout,
                             progress=progress, quiet=quiet,
                             entry=entry.describe())
        sha, size = transfer.run()
        sources = dict(expected.sources)
        if transfer.server_sha:
            sources[f'the server ({transfer.server_sha_from} header)'] = \
                transfer.server_sha
        want_size = expected.size or transfer.total
        problems = []
        if want_size is not None and size != want_size:
            problems.append(f'size {size:,} bytes, expected {want_size:,}')
        for source, digest in sources.items():
            if digest != sha:
                problems.append(f'SHA-256 {sha}, expected {digest} from '
                                f'{source}')
        if problems:
            bad = _quarantine(part, official.name)
            raise ChecksumMismatchError(
                f'{entry.describe()}: the file downloaded from {url} is '
                f'corrupt: ' + '; '.join(problems) + f'. It was NOT used and '
                f'is kept aside as {bad}. Run the command again to download '
                'it anew; if the mismatch persists the server (or mirror) '
                'serves a different file.',
                expected=next((d for d in sources.values() if d != sha), ''),
                actual=sha, kept_at=os.fspath(bad))
        if entry.sha256:
            sha_source = 'pinned in the model index'
        elif expected.sha256:
            sha_source = 'recorded on first download'
        elif transfer.server_sha:
            sha_source = f'server header {transfer.server_sha_from}'
            store.record(entry.weight_file, sha, size, sha_source, url)
            _log(f'{label}: SHA-256 {sha} verified against the '
                 f'{transfer.server_sha_from} header; recorded in '
                 f'{store.path}', quiet)
        else:
            sha_source = 'measured on first download (no server checksum)'
            store.record(entry.weight_file, sha, size, sha_source, url)
            warnings.warn(
                f'{entry.describe()}: neither the model index nor the server '
                f'({url}) gives a SHA-256 for {entry.weight_file}; recorded '
                f'the downloaded file\'s {sha} in {store.path} (trust on '
                'first use): later downloads must match it.')
        os.replace(part, official)
        _sidecar(part).unlink(missing_ok=True)
        info = dict(zoo_name=entry.name, source_file=entry.weight_file,
                    source_sha256=sha, source_size=size, file_size=size,
                    url=url, sha256_source=sha_source, downloaded=_now(),
                    resumed=transfer.resumes, restarted=transfer.restarts)
        _atomic_write_text(_sidecar(official), json.dumps(info, indent=2))
        transferred = True
        _log(f'{label}: {size:,} bytes verified -> {official}', quiet)
    if not convert:
        return Fetched(entry.name, official, info['source_sha256'],
                       info['source_size'], info.get('url', url), False,
                       not transferred, info.get('sha256_source', ''))
    meta = convert_official_file(
        official, converted, key,
        dict(zoo_name=entry.name, source_file=entry.weight_file,
             source_url=info.get('url', url),
             source_sha256=info['source_sha256'],
             source_size=info['source_size']))
    if not meta['converted']:
        # already mmglip / mmengine layout: the download is the checkpoint
        info['convertible'] = False
        _atomic_write_text(_sidecar(official), json.dumps(info, indent=2))
        return Fetched(entry.name, official, info['source_sha256'],
                       info['source_size'], info.get('url', url), False,
                       not transferred, info.get('sha256_source', ''))
    conv_info = dict(info, file_size=converted.stat().st_size,
                     weights_key=key, converted=_now())
    _atomic_write_text(_sidecar(converted), json.dumps(conv_info, indent=2))
    _log(f'{label}: converted to mmglip layout (optimizer / scheduler state '
         f'dropped: {", ".join(meta["dropped"]) or "none"}) -> {converted}',
         quiet)
    if not keep_official:
        official.unlink(missing_ok=True)
        _sidecar(official).unlink(missing_ok=True)
    return Fetched(entry.name, converted, info['source_sha256'],
                   info['source_size'], info.get('url', url), True,
                   not transferred, info.get('sha256_source', ''))


def is_zoo_reference(value: str) -> bool:
    """Whether ``value`` names a zoo model (``glip-t_c`` or
    ``mmglip://glip-t_c``) rather than a file."""
    if not isinstance(value, str):
        return False
    if value.startswith(SCHEME):
        return True
    if osp.exists(value):
        return False
    try:
        return value in load_index()
    except FileNotFoundError:
        return False


def resolve_weights(value: str, weights_key: str = 'model', **kwargs) -> str:
    """A checkpoint path for ``value``: a file as it is, a zoo name
    (``glip-t_c``, ``mmglip://glip-t_c``) through the cache / a download."""
    if isinstance(value, str) and (value.startswith(SCHEME) or (
            not osp.exists(value) and is_zoo_reference(value))):
        return os.fspath(download(value, weights_key=weights_key, **kwargs))
    return value


def register_checkpoint_scheme() -> None:
    """Let mmengine's ``load_checkpoint`` (``load_from=`` in configs) take
    ``mmglip://NAME``."""
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_mmglip_zoo(filename, map_location=None, logger=None):
        import torch
        path = resolve_weights(filename)
        return torch.load(path, map_location=map_location,
                          weights_only=False)

    CheckpointLoader.register_scheme(
        prefixes=SCHEME, loader=load_from_mmglip_zoo, force=True)


def list_cache(home: Optional[Union[str, Path]] = None) -> List[Dict]:
    """What the cache holds: one dict per file with its sidecar."""
    home = zoo_home(home)
    out = []
    for sub in ('checkpoints', 'official'):
        for path in sorted((home / sub).glob('*.pth')):
            out.append(dict(path=os.fspath(path), **_read_json(
                _sidecar(path))))
    return out


__all__ = [
    'ChecksumMismatchError', 'DestinationExistsError', 'DownloadError',
    'Fetched', 'OfflineError', 'SCHEME', 'UnknownModelError', 'ZooError',
    'checksum_from_headers', 'convert_official_file', 'download',
    'entry_url', 'fetch', 'is_zoo_reference', 'list_cache', 'mirror_base',
    'register_checkpoint_scheme', 'resolve_weights', 'sha256_file',
    'zoo_home'
]
