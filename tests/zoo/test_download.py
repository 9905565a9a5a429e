"""The zoo downloader against a real HTTP server on 127.0.0.1.

The server (``http.server.ThreadingHTTPServer`` in a thread) serves generated
files under the zoo's weight file names; ``MMGLIP_MIRROR`` points the zoo at
it. It can cut a transfer midway, refuse Range requests, flip a byte, answer
404, redirect like Hugging Face (``X-Linked-Etag`` on the 302) and throttle.
"""
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import mmglip.zoo.download as dl
from mmglip.zoo.index import load_index

REPO = Path(__file__).resolve().parents[2]
A_FILE = 'glip_a_tiny_o365.pth'  # glip-t_a
B_FILE = 'glip_tiny_model_o365.pth'  # glip-t_b


class ZooServer:
    """A loopback file server with switchable misbehaviour."""

    def __init__(self):
        self.files = {}  # name -> bytes
        self.extra_headers = {}  # name -> {header: value}
        self.cut_after = {}  # name -> [bytes, times left]
        self.flip = {}  # name -> offset of a byte served flipped
        self.no_range = False
        self.redirect = False  # /resolve/<f> -> 302 -> /cdn/<f>
        self.chunk_delay = 0.0
        self.gate = threading.Event()  # cleared: bodies wait until set
        self.gate.set()
        self.log = []  # (path, Range header, status)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._get(self)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs=dict(poll_interval=0.05),
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, name, data, checksum_header=None):
        self.files[name] = data
        sha = hashlib.sha256(data).hexdigest()
        if checksum_header == 'x-checksum':
            self.extra_headers[name] = {'X-Checksum-Sha256': sha}
        elif checksum_header == 'digest':
            import base64
            b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
            self.extra_headers[name] = {'Digest': f'sha-256={b64}'}
        return sha

    def gets(self, name):
        return [r for r in self.log if r[0].endswith('/' + name)]

    def _get(self, h):
        path = h.path.split('?')[0]
        rng = h.headers.get('Range')
        name = path.rsplit('/', 1)[-1]
        if self.redirect and path.startswith('/resolve/') and \
                name in self.files:
            data = self.files[name]
            with self._lock:
                self.log.append((path, rng, 302))
            h.send_response(302)
            h.send_header('Location', f'/cdn/{name}')
            h.send_header('X-Linked-Etag',
                          f'"{hashlib.sha256(data).hexdigest()}"')
            h.send_header('X-Linked-Size', str(len(data)))
            h.send_header('Content-Length', '0')
            h.end_headers()
            return
        if name not in self.files:
            with self._lock:
                self.log.append((path, rng, 404))
            h.send_error(404, 'Not Found')
            return
        data = bytearray(self.files[name])
        if name in self.flip:
            data[self.flip[name]] ^= 0xFF
        data = bytes(data)
        etag = f'"v1-{len(data)}"'
        start, status = 0, 200
        if rng and not self.no_range:
            if_range = h.headers.get('If-Range')
            if if_range is None or if_range == etag:
                start = int(rng.split('=')[1].split('-')[0])
                status = 206
        with self._lock:
            self.log.append((path, rng, status))
            cut = self.cut_after.get(name)
            cut_now = None
            if cut and cut[1] > 0:
                cut[1] -= 1
                cut_now = cut[0]
        body = data[start:]
        h.send_response(status)
        h.send_header('Content-Length', str(len(body)))
        h.send_header('ETag', etag)
        if not self.no_range:
            h.send_header('Accept-Ranges', 'bytes')
        if status == 206:
            h.send_header('Content-Range',
                          f'bytes {start}-{len(data) - 1}/{len(data)}')
        for k, v in self.extra_headers.get(name, {}).items():
            h.send_header(k, v)
        h.end_headers()
        self.gate.wait(60)
        if cut_now is not None:
            h.wfile.write(body[:cut_now])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        step = 32 * 1024
        for i in range(0, len(body), step):
            h.wfile.write(body[i:i + step])
            if self.chunk_delay:
                time.sleep(self.chunk_delay)


@pytest.fixture
def server():
    srv = ZooServer()
    yield srv
    srv.stop()


@pytest.fixture
def zoo_env(tmp_path, monkeypatch, server):
    """MMGLIP_HOME in tmp, MMGLIP_MIRROR at the loopback server."""
    home = tmp_path / 'home'
    monkeypatch.setenv('MMGLIP_HOME', str(home))
    monkeypatch.setenv('MMGLIP_MIRROR', server.base)
    monkeypatch.delenv('MMGLIP_OFFLINE', raising=False)
    monkeypatch.delenv('MMGLIP_MODEL_INDEX', raising=False)
    return home


def random_bytes(n, seed=0):
    import random
    return random.Random(seed).randbytes(n)


def official_checkpoint(seed=0):
    """A tiny checkpoint in the official layout (``module.`` keys, optimizer
    and scheduler state), a few hundred KB."""
    import torch
    g = torch.Generator().manual_seed(seed)
    model = {
        'module.rpn.head.bias0': torch.randn(1, generator=g),
        'module.rpn.head.log_scale': torch.randn(1, generator=g),
        'module.rpn.head.scales.0.scale': torch.randn(1, generator=g),
        'module.backbone.fpn.fpn_inner2.weight':
        torch.randn(256, 192, 1, 1, generator=g),
        'module.backbone.body.patch_embed.proj.weight':
        torch.randn(96, 3, 4, 4, generator=g),
        'module.rpn.anchor_generator.cell_anchors.0': torch.zeros(1, 4),
    }
    ckpt = {
        'model': model,
        'optimizer': {'state': {0: {'exp_avg': torch.randn(64, 64,
                                                           generator=g)}},
                      'param_groups': [{'lr': 1e-4}]},
        'scheduler': {'last_epoch': 3},
        'iteration': 3000,
    }
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return buf.getvalue(), model


def tiny_model():
    """A module with exactly the converted keys of official_checkpoint."""
    import torch
    from torch import nn
    m = nn.Module()
    m.bbox_head = nn.Module()
    m.bbox_head.bias0 = nn.Parameter(torch.zeros(1))
    m.bbox_head.log_scale = nn.Parameter(torch.zeros(1))
    m.bbox_head.scales = nn.ModuleList([nn.Module()])
    m.bbox_head.scales[0].scale = nn.Parameter(torch.zeros(()))
    m.neck = nn.Module()
    m.neck.lateral_convs = nn.ModuleList([nn.Module()])
    m.neck.lateral_convs[0].conv = nn.Conv2d(192, 256, 1, bias=False)
    m.backbone = nn.Module()
    m.backbone.patch_embed = nn.Module()
    m.backbone.patch_embed.projection = nn.Conv2d(3, 96, 4, bias=False)
    return m


# ---------------------------------------------------------------------------


def test_checksum_headers():
    import base64
    data = b'glip'
    sha = hashlib.sha256(data).hexdigest()
    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert dl.checksum_from_headers({'X-Linked-Etag': f'"{sha}"'}) == (
        sha, 'X-Linked-Etag')
    assert dl.checksum_from_headers({'ETag': f'"{sha.upper()}"'})[0] == sha
    assert dl.checksum_from_headers({'ETag': f'W/"{sha}"'}) == (None, None)
    md5 = '"d41d8cd98f00b204e9800998ecf8427e"'
    assert dl.checksum_from_headers({'ETag': md5}) == (None, None)
    assert dl.checksum_from_headers({'X-Checksum-Sha256': sha})[0] == sha
    assert dl.checksum_from_headers(
        {'Digest': f'md5=abc, SHA-256={b64}'}) == (sha, 'Digest')
    assert dl.checksum_from_headers(
        {'Repr-Digest': f'sha-256=:{b64}:'}) == (sha, 'Repr-Digest')
    assert dl.checksum_from_headers({'x-amz-checksum-sha256': b64})[0] == sha
    assert dl.checksum_from_headers(
        {'x-amz-checksum-sha256': b64 + '-3'}) == (None, None)
    assert dl.size_from_headers({'Content-Range': 'bytes 10-99/100'},
                                206) == 100
    assert dl.size_from_headers({'X-Linked-Size': '7'}, 302) == 7


def test_clean_download_hf_redirect_converts(server, zoo_env, capsys):
    """A Hugging-Face-like 302 with X-Linked-Etag; the official file is
    converted (module. stripped, optimizer dropped), the digest recorded,
    and the second call is a cache hit without any request."""
    import torch
    data, model = official_checkpoint()
    sha = server.add(A_FILE, data)
    server.redirect = True
    os.environ['MMGLIP_MIRROR'] = server.base + '/resolve'
    got = dl.fetch('glip-t_a', backoff=0.01)
    assert got.converted and not got.cached
    assert got.path == zoo_env / 'checkpoints' / 'glip-t_a.pth'
    assert got.sha256 == sha and got.size == len(data)
    assert got.sha256_source == 'server header X-Linked-Etag'
    ckpt = torch.load(got.path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    sd = ckpt['state_dict']
    assert not any(k.startswith('module.') for k in sd)
    assert torch.equal(sd['bbox_head.bias0'], model['module.rpn.head.bias0'])
    assert torch.equal(sd['neck.lateral_convs.0.conv.weight'],
                       model['module.backbone.fpn.fpn_inner2.weight'])
    assert 'backbone.patch_embed.projection.weight' in sd
    assert sd['bbox_head.scales.0.scale'].shape == ()
    meta = ckpt['meta']
    assert meta['dropped'] == ['iteration', 'optimizer', 'scheduler']
    assert meta['source_sha256'] == sha and meta['zoo_name'] == 'glip-t_a'
    # the official file is not kept by default; its digest is recorded
    assert not (zoo_env / 'official' / A_FILE).exists()
    recorded = json.loads((zoo_env / 'hashes.json').read_text())[A_FILE]
    assert recorded['sha256'] == sha and recorded['size'] == len(data)
    assert recorded['source'] == 'server header X-Linked-Etag'
    assert [s for _, _, s in server.log] == [302, 200]
    again = dl.fetch('glip-t_a')
    assert again.cached and again.path == got.path
    assert len(server.log) == 2  # no request at all


def test_cut_midway_then_resumed(server, zoo_env):
    data = random_bytes(300_000, seed=1)
    sha = server.add(B_FILE, data, checksum_header='x-checksum')
    server.cut_after[B_FILE] = [120_000, 1]
    got = dl.fetch('glip-t_b', convert=False, backoff=0.01)
    assert got.path.read_bytes() == data and got.sha256 == sha
    ranges = [r for _, r, _ in server.gets(B_FILE)]
    assert ranges == [None, 'bytes=120000-']
    assert [s for _, _, s in server.gets(B_FILE)] == [200, 206]
    side = json.loads(got.path.with_name(B_FILE + '.json').read_text())
    assert side['resumed'] == 1 and side['restarted'] == 0
    assert not got.path.with_name(B_FILE + '.part').exists()


def test_interrupted_run_resumes_next_run(server, zoo_env):
    """A failed run leaves the part file; the next run resumes it."""
    data = random_bytes(250_000, seed=2)
    server.add(B_FILE, data, checksum_header='digest')
    server.cut_after[B_FILE] = [100_000, 1]
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch('glip-t_b', convert=False, retries=0)
    part = zoo_env / 'official' / (B_FILE + '.part')
    assert part.stat().st_size == 100_000
    assert str(part) in str(err.value) and 'resume' in str(err.value)
    assert not (zoo_env / 'official' / B_FILE).exists()  # no half file
    got = dl.fetch('glip-t_b', convert=False, retries=0)
    assert got.path.read_bytes() == data
    assert [r for _, r, _ in server.gets(B_FILE)] == [None, 'bytes=100000-']


def test_server_without_range_support(server, zoo_env):
    data = random_bytes(200_000, seed=3)
    server.add(B_FILE, data, checksum_header='x-checksum')
    server.no_range = True
    server.cut_after[B_FILE] = [50_000, 1]
    got = dl.fetch('glip-t_b', convert=False, backoff=0.01)
    assert got.path.read_bytes() == data
    # the resume was asked for, the server sent the whole file again
    assert [(r, s) for _, r, s in server.gets(B_FILE)] == [
        (None, 200), ('bytes=50000-', 200)]
    side = json.loads(got.path.with_name(B_FILE + '.json').read_text())
    assert side['restarted'] == 1


def test_corrupted_byte_is_kept_aside(server, zoo_env):
    data = random_bytes(150_000, seed=4)
    sha = server.add(B_FILE, data, checksum_header='x-checksum')
    server.flip[B_FILE] = 77_777
    bad_sha = hashlib.sha256(bytes(
        b ^ 0xFF if i == 77_777 else b
        for i, b in enumerate(data))).hexdigest()
    with pytest.raises(dl.ChecksumMismatchError) as err:
        dl.fetch('glip-t_b', convert=False)
    msg = str(err.value)
    for part in (sha, bad_sha, f'{server.base}/{B_FILE}', 'glip-t_b',
                 'GLIP-T (B)', 'corrupt-', 'NOT used'):
        assert part in msg, part
    assert err.value.expected == sha and err.value.actual == bad_sha
    kept = list((zoo_env / 'official').glob(B_FILE + '.corrupt-*'))
    assert len(kept) == 1 and kept[0] == Path(err.value.kept_at)
    assert hashlib.sha256(kept[0].read_bytes()).hexdigest() == bad_sha
    assert not (zoo_env / 'official' / B_FILE).exists()
    assert not (zoo_env / 'hashes.json').exists()  # nothing recorded
    # fixed server: the next run downloads anew, the bad file stays aside
    del server.flip[B_FILE]
    got = dl.fetch('glip-t_b', convert=False)
    assert got.sha256 == sha and kept[0].exists()


def test_recorded_digest_guards_later_downloads(server, zoo_env):
    """No server checksum: the first download's digest is recorded (with a
    warning) and a later download of a different file is refused."""
    data = random_bytes(100_000, seed=5)
    sha = server.add(B_FILE, data)  # no checksum header
    with pytest.warns(UserWarning, match='trust on first use'):
        got = dl.fetch('glip-t_b', convert=False)
    recorded = json.loads((zoo_env / 'hashes.json').read_text())[B_FILE]
    assert recorded['sha256'] == sha
    assert 'no server checksum' in recorded['source']
    got.path.unlink()  # cache lost; the server now serves something else
    server.files[B_FILE] = random_bytes(100_000, seed=6)
    with pytest.raises(dl.ChecksumMismatchError, match='recorded'):
        dl.fetch('glip-t_b', convert=False)


def test_pinned_digest_and_size(server, zoo_env, tmp_path, monkeypatch):
    """A SHA-256 / File Size pinned in the index wins over the server."""
    import yaml
    data = random_bytes(64_000, seed=7)
    sha = server.add(B_FILE, data)
    meta = yaml.safe_load((REPO / 'configs/glip/metafile.yml').read_text())
    for model in meta['Models']:
        if model['Name'] == 'glip-t_b':
            model['Metadata']['SHA256'] = sha
            model['Metadata']['File Size'] = len(data)
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump(meta))
    (tmp_path / 'model-index.yml').write_text(
        'Import:\n  - metafile.yml\n')
    monkeypatch.setenv('MMGLIP_MODEL_INDEX', str(tmp_path / 'model-index.yml'))
    got = dl.fetch('glip-t_b', convert=False)
    assert got.sha256_source == 'pinned in the model index'
    assert not (zoo_env / 'hashes.json').exists()
    got.path.unlink()
    server.add(B_FILE, data + b'x', checksum_header='x-checksum')
    with pytest.raises(dl.ChecksumMismatchError) as err:
        dl.fetch('glip-t_b', convert=False)
    assert 'pinned' in str(err.value) and 'size 64,001 bytes' in str(
        err.value)


def test_404_names_url_and_entry(server, zoo_env):
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch('glip-l', backoff=0.01)
    msg = str(err.value)
    assert f'{server.base}/glip_large_model.pth' in msg
    assert 'glip-l (GLIP-L)' in msg and '404' in msg and 'mirror' in msg
    assert len(server.log) == 1  # a 404 is not retried
    assert not any((zoo_env / 'official').glob('glip_large_model.pth'))


def test_retries_exhausted_on_server_errors(zoo_env, monkeypatch):
    """A closed port: retried with back-off, then a clear error."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv('MMGLIP_MIRROR', f'http://127.0.0.1:{port}')
    start = time.monotonic()
    with pytest.raises(dl.DownloadError, match='after 3 attempts'):
        dl.fetch('glip-t_b', convert=False, retries=2, backoff=0.01,
                 quiet=True)
    assert time.monotonic() - start < 5


def test_offline_cache_hit(server, zoo_env, monkeypatch):
    data, _ = official_checkpoint(seed=1)
    server.add(A_FILE, data, checksum_header='x-checksum')
    first = dl.fetch('glip-t_a')
    server.stop()
    monkeypatch.setenv('MMGLIP_OFFLINE', '1')
    hit = dl.fetch('glip-t_a')
    assert hit.cached and hit.path == first.path
    with pytest.raises(dl.OfflineError, match='glip-t_b'):
        dl.fetch('glip-t_b')
    # offline, and the raw file is not needed for the converted one
    assert not (zoo_env / 'official' / A_FILE).exists()


def test_two_downloads_at_once(server, zoo_env):
    """Two processes fetch the same name at once: the second waits on the
    lock while the first transfers, then finds the verified file. One
    transfer, no corruption, no part file left."""
    data = random_bytes(400_000, seed=8)
    sha = server.add(B_FILE, data, checksum_header='x-checksum')
    server.gate.clear()  # hold the first transfer until B is waiting
    code = ('from mmglip.zoo.download import fetch; '
            'f = fetch("glip-t_b", convert=False, progress=False); '
            'print(f.path, f.sha256, f.cached)')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs, errs = [], [[], []]

    def read(i, stream):
        for line in stream:
            errs[i].append(line)

    for i in range(2):
        p = subprocess.Popen([sys.executable, '-c', code], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        threading.Thread(target=read, args=(i, p.stderr), daemon=True).start()
        procs.append(p)
    try:
        deadline = time.monotonic() + 90
        while not any('waiting for another download' in line
                      for e in errs for line in e):
            assert time.monotonic() < deadline, errs
            assert all(p.poll() is None for p in procs), errs
            time.sleep(0.05)
    finally:
        server.gate.set()
    outs = []
    for p in procs:
        outs.append(p.stdout.read())
        p.wait(timeout=120)
    assert [p.returncode for p in procs] == [0, 0], errs
    results = [out.split() for out in outs]
    assert {r[0] for r in results} == {str(zoo_env / 'official' / B_FILE)}
    assert {r[1] for r in results} == {sha}
    assert sorted(r[2] for r in results) == ['False', 'True']
    assert (zoo_env / 'official' / B_FILE).read_bytes() == data
    assert len(server.gets(B_FILE)) == 1
    assert not list((zoo_env / 'official').glob('*.part'))


def test_dest_never_overwrites(server, zoo_env, tmp_path):
    data = random_bytes(50_000, seed=9)
    server.add(B_FILE, data, checksum_header='x-checksum')
    dest = tmp_path / 'weights'
    dest.mkdir()
    (dest / B_FILE).write_bytes(b'my own file')
    with pytest.raises(dl.DestinationExistsError, match='--force'):
        dl.fetch('glip-t_b', dest, convert=False)
    assert (dest / B_FILE).read_bytes() == b'my own file'
    got = dl.fetch('glip-t_b', dest, convert=False, force=True)
    assert got.path == dest / B_FILE and got.path.read_bytes() == data
    # the same file again is fine; the copy is independent of the cache
    assert dl.fetch('glip-t_b', dest, convert=False).path == dest / B_FILE
    assert os.stat(dest / B_FILE).st_ino != os.stat(
        zoo_env / 'official' / B_FILE).st_ino


def test_cli(server, zoo_env, tmp_path, capsys):
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import importlib
        cli = importlib.import_module('download')
    finally:
        sys.path.pop(0)
    assert cli.main(['--list']) == 0
    out = capsys.readouterr().out
    for name in load_index().names:
        assert name in out
    data, _ = official_checkpoint(seed=2)
    server.add(A_FILE, data, checksum_header='x-checksum')
    dest = tmp_path / 'd'
    assert cli.main(['glip-t_a', '--dest', str(dest), '--quiet']) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(dest / 'glip-t_a.pth')
    # an unknown name: one line with the closest name, before any transfer
    from mmglip.utils.cli import run_tool
    assert run_tool(cli.main, ['glip-t_x', '--quiet']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 'glip-t_x' is not a model of the zoo")
    assert 'did you mean' in err and len(err.splitlines()) == 1
    # an unwritable cache is named before any transfer
    blocker = tmp_path / 'blocker'
    blocker.write_text('x')
    assert run_tool(cli.main, ['glip-t_a', '--home',
                               str(blocker / 'cache')]) == 2
    assert f'{blocker} is a file' in capsys.readouterr().err
    assert cli.main(['glip-l', '--mirror', server.base + '/none',
                     '--quiet', '--retries', '0']) == 1
    assert '/none/glip_large_model.pth' in capsys.readouterr().err


def test_load_weights_by_zoo_name(server, zoo_env):
    """`--weights NAME` / load_weights / load_from='mmglip://NAME'."""
    import torch
    from mmengine.runner.checkpoint import load_checkpoint

    from mmglip.apis import load_weights
    data, model = official_checkpoint(seed=3)
    server.add(A_FILE, data, checksum_header='x-checksum')
    m = tiny_model()
    report = load_weights(m, 'glip-t_a')
    assert report.ok
    assert torch.equal(m.bbox_head.bias0.data, model['module.rpn.head.bias0'])
    m2 = tiny_model()
    load_weights(m2, 'mmglip://glip-t_a')
    assert torch.equal(m2.neck.lateral_convs[0].conv.weight.data,
                       model['module.backbone.fpn.fpn_inner2.weight'])
    dl.register_checkpoint_scheme()
    m3 = tiny_model()
    load_checkpoint(m3, 'mmglip://glip-t_a', strict=True)
    assert torch.equal(m3.bbox_head.log_scale.data,
                       model['module.rpn.head.log_scale'])
    assert len(server.gets(A_FILE)) == 1  # then from the cache
    with pytest.raises(FileNotFoundError, match='glip-t_a'):
        load_weights(m, 'no_such_file.pth')


def test_unknown_name_lists_zoo(zoo_env):
    from mmglip.zoo.index import UnknownModelError
    with pytest.raises(UnknownModelError, match='Did you mean glip-t_c'):
        dl.fetch('glip-t-c')


# ---------------------------------------------------------------------------
# OpenMMLab's mim (openmim 0.3.9), in its own venv: bash tools/setup_mim_env.sh

MIM_PYTHON = os.environ.get('MMGLIP_MIM_PYTHON')
if MIM_PYTHON:  # relative to the repository (not resolved: a venv's python
    # is a symlink that must stay one)
    MIM_PYTHON = os.path.join(REPO, os.path.expanduser(MIM_PYTHON))
needs_mim = pytest.mark.skipif(
    not MIM_PYTHON, reason='set MMGLIP_MIM_PYTHON=.venv-mim/bin/python '
    '(created by bash tools/setup_mim_env.sh)')


@needs_mim
def test_mim_resolves_installed_index():
    """mim reads the installed mmglip's .mim/model-index.yml: the same zoo
    as the source index (a stale .venv-mim fails here)."""
    script = (
        'import json, os, pkg_resources\n'
        'from mim.commands.search import get_model_info\n'
        'from mim.utils import get_installed_path\n'
        'info = get_model_info("mmglip", shown_fields=["weight", "config"],'
        ' to_dict=True)\n'
        'root = os.path.join(get_installed_path("mmglip"), ".mim")\n'
        'print(json.dumps(dict(info=info, root=root)))\n')
    r = subprocess.run([MIM_PYTHON, '-c', script], capture_output=True,
                       text=True, timeout=120, cwd='/')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    index = load_index()
    assert list(out['info']) == index.names
    for entry in index:
        got = out['info'][entry.name]
        assert got['weight'] == entry.weights
        assert got['config'] == entry.config
        assert os.path.isfile(os.path.join(out['root'], entry.config))
    for rel in ('model-index.yml', 'configs/glip/metafile.yml'):
        installed = Path(out['root'], rel).read_text()
        assert installed == (REPO / rel).read_text(), (
            f'{rel} in {out["root"]} is stale: run bash '
            'tools/setup_mim_env.sh')


@needs_mim
def test_mim_download_from_mirror(server, tmp_path):
    """`mim download mmglip --config glip-t_a --dest D` fetches the entry's
    file (from the loopback server through a mirror overlay) and dumps its
    config."""
    from mmglip.zoo.index import write_mim_overlay
    data, _ = official_checkpoint(seed=4)
    server.add(A_FILE, data)
    overlay = write_mim_overlay(tmp_path / 'overlay', server.base)
    dest = tmp_path / 'mim'
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MMGLIP_', 'PYTHON'))}
    env['PYTHONPATH'] = str(overlay)
    r = subprocess.run([MIM_PYTHON, '-m', 'mim', 'download', 'mmglip',
                        '--config', 'glip-t_a', '--dest', str(dest)],
                       env=env, capture_output=True, text=True, timeout=180,
                       cwd='/')
    assert r.returncode == 0, r.stdout + r.stderr
    assert (dest / A_FILE).read_bytes() == data
    config = (dest / 'glip-t_a.py').read_text()
    assert 'early_fuse=False' in config and 'SwinTransformer' in config
    assert [s for _, _, s in server.gets(A_FILE)] == [200]


def test_file_mirror(zoo_env, tmp_path, monkeypatch):
    """An air-gapped site: the mirror is a folder (file:// URL)."""
    data = random_bytes(80_000, seed=10)
    folder = tmp_path / 'usb'
    folder.mkdir()
    (folder / B_FILE).write_bytes(data)
    monkeypatch.setenv('MMGLIP_MIRROR', folder.as_uri())
    with pytest.warns(UserWarning, match='trust on first use'):
        got = dl.fetch('glip-t_b', convert=False)
    assert got.path.read_bytes() == data
    with pytest.raises(dl.DownloadError, match='not found'):
        dl.fetch('glip-l', retries=3, backoff=5)  # not retried
