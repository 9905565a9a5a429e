"""Zoo downloads against a loopback server that speaks the Hugging Face
Hub's download protocol (``hub_server.HubServer``): huggingface_hub's
``hf_hub_download`` does the transfers, mmglip verifies what arrives.

huggingface_hub reads ``HF_ENDPOINT`` / ``HF_HOME`` / ``HF_HUB_CACHE`` /
``HF_HUB_OFFLINE`` once, at import: the ``hf`` fixture sets them in the
environment (for the subprocesses, which read them as any user's process
does) and patches ``huggingface_hub.constants`` for this process.
"""
import hashlib
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mmglip.weights import fetch
from mmglip.zoo import hub
from mmglip.zoo.index import load_index

from ..tool_modules import load_tool
from .hub_server import COMMIT

REPO = Path(__file__).resolve().parents[2]
REPO_ID = 'GLIPModel/GLIP'
A = 'glip_a_tiny_o365.pth'  # glip-t_a: no fusion, 6 DyHead blocks
B = 'glip_tiny_model_o365.pth'  # glip-t_b: fusion, 6 blocks
KEY_A = f'{REPO_ID}/{A}'


def official_checkpoint(fused=False, blocks=6, seed=0) -> bytes:
    """A small checkpoint in the official layout (``module.`` keys, a
    fusion tower of ``blocks`` blocks, optimizer and scheduler state)."""
    import torch
    g = torch.Generator().manual_seed(seed)

    def t(*shape):
        return torch.randn(*shape, generator=g)

    model = {'module.backbone.body.patch_embed.proj.weight': t(8, 3, 4, 4),
             'module.rpn.head.bias0': t(1)}
    per = 3 if fused else 1
    for b in range(blocks):
        if fused:
            model[f'module.rpn.head.dyhead_tower.{per * b}.b_attn.gamma_v'] \
                = t(4)
            model[f'module.rpn.head.dyhead_tower.{per * b + 1}.attention.'
                  'self.query.weight'] = t(4, 4)
        model[f'module.rpn.head.dyhead_tower.{per * b + per - 1}.DyConv.0.'
              'conv.weight'] = t(4, 4, 3, 3)
    ckpt = {'model': model, 'iteration': 3000,
            'optimizer': {'state': {0: {'exp_avg': t(256, 256)}},
                          'param_groups': [{'lr': 1e-4}]},
            'scheduler': {'last_epoch': 3}}
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return buf.getvalue()


def cached_files(home):
    """Everything that could make a later call use the bytes: the hub's
    blobs and snapshot pointers, mirror copies, verification records."""
    found = []
    for sub in ('hub', 'mmglip/mirror', 'mmglip/verified'):
        root = home / sub
        if root.exists():
            found += [p for p in root.rglob('*')
                      if (p.is_file() or p.is_symlink()) and
                      not {'.locks', '.no_exist'} & set(p.parts) and
                      p.name not in ('CACHEDIR.TAG', 'main')]
    return found


def quarantined(home):
    return sorted((home / 'mmglip' / 'quarantine').glob('*.rejected-*'))


def resolve_url(server, name=A):
    return f'{server.endpoint}/{REPO_ID}/resolve/main/{name}'


def gets(server, name=A):
    return [(r[3], r[4]) for r in server.requests('GET', name)]


# ------------------------------------------------------------------ hub
def test_clean_download_then_cache_hit(server, hf, monkeypatch):
    data = official_checkpoint()
    sha = server.add(KEY_A, data)
    path = fetch.fetch_weights('glip-t_a', quiet=True)
    assert path == (hf / 'hub' / 'models--GLIPModel--GLIP' / 'snapshots' /
                    COMMIT / A)
    assert path.read_bytes() == data
    assert Path(os.path.realpath(path)).name == sha  # the blob: its LFS sha
    assert [r[1:] for r in server.log if A in r[2]] == [
        ('HEAD', f'/{REPO_ID}/resolve/main/{A}', None, 302),
        ('GET', f'/cdn/{KEY_A}?sig=1', None, 200)]
    # a cache hit: no transfer, no re-hash, no reload of the checkpoint

    def not_again(*args, **kwargs):
        raise AssertionError('verified again')

    monkeypatch.setattr(hub, 'sha256_file', not_again)
    monkeypatch.setattr(fetch, 'glip_checkpoint_problem', not_again)
    assert fetch.fetch_weights('mmglip://glip-t_a', quiet=True) == path
    assert len(server.requests('GET', A)) == 1
    assert hub.is_zoo_reference('glip-t_a')
    assert not hub.is_zoo_reference(str(path))


def test_cut_transfer_is_resumed(server, hf):
    data = official_checkpoint(seed=1)
    server.add(KEY_A, data)
    server.modes[KEY_A] = 'cut'
    server.cut_at = 100_000
    path = fetch.fetch_weights('glip-t_a', quiet=True)
    assert path.read_bytes() == data
    # resumed at the last whole 16 KiB chunk before the cut
    assert gets(server) == [(None, 200), ('bytes=98304-', 206)]


@pytest.mark.parametrize('mode', ['html', 'flip', 'truncate'])
def test_wrong_bytes_are_refused(server, hf, mode):
    data = official_checkpoint(seed=2)
    sha = server.add(KEY_A, data)
    server.modes[KEY_A] = mode
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', quiet=True)
    msg = str(err.value)
    assert '\n' not in msg and resolve_url(server) in msg, msg
    assert cached_files(hf) == []  # nothing cached, pointed to or recorded
    if mode == 'truncate':  # huggingface_hub's own size check
        assert 'Consistency check failed' in msg and not quarantined(hf)
    else:  # the size matched (or was not announced): the SHA-256 did not
        assert f'expected {sha} from the hub\'s LFS SHA-256' in msg
        bad, = quarantined(hf)
        assert f'kept aside as {bad}' in msg
        assert bad.read_bytes() != data
    del server.modes[KEY_A]
    assert fetch.fetch_weights('glip-t_a', quiet=True).read_bytes() == data


def test_wrong_checkpoint_is_refused(server, hf):
    """Bytes that match the hub's digest but are not a GLIP-T (A)
    checkpoint (another variant; not a checkpoint) are refused too."""
    server.add(KEY_A, official_checkpoint(fused=True))
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', quiet=True)
    msg = str(err.value)
    assert resolve_url(server) in msg and 'glip-t_a (GLIP-T (A))' in msg
    assert 'a head of 6 fusion blocks' in msg
    assert '6 DyHead (no fusion) blocks' in msg
    assert cached_files(hf) == [] and len(quarantined(hf)) == 1
    server.add(KEY_A, b'PK\x03\x04 not a checkpoint' * 100)
    with pytest.raises(hub.ZooError, match='does not load as a PyTorch'):
        fetch.fetch_weights('glip-t_a', quiet=True)
    data = official_checkpoint()
    server.add(KEY_A, data)
    assert fetch.fetch_weights('glip-t_a', quiet=True).read_bytes() == data
    assert len(quarantined(hf)) == 2


def test_pinned_digest_and_size(server, hf):
    data = b'zip bytes' * 1000
    sha = server.add(f'{REPO_ID}/odinw_35/Aquarium.zip', data)
    kwargs = dict(repo_id=REPO_ID, revision='main', quiet=True)
    with pytest.raises(hub.ZooError) as err:
        hub.fetch_file('odinw_35/Aquarium.zip', sha256='0' * 64, **kwargs)
    assert f'SHA-256 {sha}, expected {"0" * 64} from the pinned' in str(
        err.value)
    with pytest.raises(hub.ZooError, match='9,000 bytes, expected 9,001'):
        hub.fetch_file('odinw_35/Aquarium.zip', size=len(data) + 1, **kwargs)
    assert cached_files(hf) == []
    path = hub.fetch_file('odinw_35/Aquarium.zip', sha256=sha.upper(),
                          size=len(data), **kwargs)
    assert path.read_bytes() == data and path.parts[-2:] == (
        'odinw_35', 'Aquarium.zip')


def test_not_found_and_not_a_hub(server, hf):
    with pytest.raises(hub.ZooError, match='not found .404.') as err:
        fetch.fetch_weights('glip-l', quiet=True)
    assert resolve_url(server, 'glip_large_model.pth') in str(err.value)
    server.add(KEY_A, official_checkpoint())
    server.portal = True  # HF_ENDPOINT answers every request with a page
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', quiet=True)
    assert 'X-Repo-Commit' in str(err.value) and 'HF_ENDPOINT' in str(
        err.value)
    assert cached_files(hf) == []


def test_offline_cache_hit(server, hf, monkeypatch):
    from huggingface_hub import constants
    data = official_checkpoint(seed=3)
    server.add(KEY_A, data)
    path = fetch.fetch_weights('glip-t_a', quiet=True)
    server.stop()  # no network from here on
    assert fetch.fetch_weights('glip-t_a', offline=True, quiet=True) == path
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    assert fetch.fetch_weights('glip-t_a', quiet=True) == path
    with pytest.raises(hub.ZooError, match='not in the Hugging Face cache'):
        fetch.fetch_weights('glip-t_b', quiet=True)


def _run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, *args], env=env, text=True,
                          capture_output=True, timeout=120, **kwargs)


def test_offline_with_an_empty_cache(server, hf):
    """HF_HUB_OFFLINE=1 in the environment of a new process (read by
    huggingface_hub at import, as in any HF library)."""
    server.add(KEY_A, official_checkpoint())
    os.environ['HF_HUB_OFFLINE'] = '1'  # restored by the fixture
    r = _run(['tools/download.py', 'glip-t_a'], cwd=REPO)
    assert r.returncode == 1 and r.stdout == '', r.stderr
    err = r.stderr.strip()
    assert err.startswith(f'error: {A} is not in the Hugging Face cache '
                          f'({hf / "hub"}) and downloads are off '
                          '(HF_HUB_OFFLINE=1)'), err
    assert len(err.splitlines()) == 1 and resolve_url(server) in err
    assert server.log == []


@pytest.mark.parametrize('source', ['hub', 'url mirror'])
def test_two_processes_at_once(server, hf, source, monkeypatch):
    """The second waits for the first, then finds the verified file: one
    transfer, the same path, nothing left half-done."""
    data = os.urandom(300_000)
    sha = server.add(KEY_A, data)
    if source == 'url mirror':
        monkeypatch.setenv('MMGLIP_MIRROR', server.mirror)
    server.gate.clear()  # the first transfer waits until the second waits
    code = ('from mmglip.zoo.hub import fetch_file; print(fetch_file('
            f'"{A}", repo_id="{REPO_ID}", revision="main", '
            f'sha256="{sha}"))')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, '-c', code], env=env,
                              text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    errs = [[], []]
    for i, p in enumerate(procs):
        threading.Thread(target=lambda i=i, p=p: errs[i].extend(p.stderr),
                         daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not any('waiting for another download' in line
                      for e in errs for line in e):
            assert time.monotonic() < deadline, errs
            assert all(p.poll() is None for p in procs), ''.join(
                sum(errs, []))
            time.sleep(0.05)
    finally:
        server.gate.set()
    outs = [p.stdout.read().strip() for p in procs]
    for p in procs:
        p.wait(timeout=60)
    assert [p.returncode for p in procs] == [0, 0], ''.join(sum(errs, []))
    assert len(set(outs)) == 1 and Path(outs[0]).read_bytes() == data
    assert len(server.requests('GET', A)) == 1
    assert not [p for p in hf.rglob('*') if p.name.endswith(
        ('.incomplete', '.part'))]


# ---------------------------------------------------------- plain mirrors
def test_url_mirror(server, hf, monkeypatch):
    from huggingface_hub import constants
    data = official_checkpoint(seed=4)
    server.add(KEY_A, data)
    server.modes[KEY_A] = 'cut'
    server.cut_at = 100_000
    path = fetch.fetch_weights('glip-t_a', mirror=server.mirror + '/',
                               quiet=True)
    assert path == hf / 'mmglip' / 'mirror' / A
    assert path.read_bytes() == data
    assert [r[1:4] for r in server.log if A in r[2]] == [
        ('GET', f'/mirror/{A}.sha256', None), ('GET', f'/mirror/{A}', None),
        ('GET', f'/mirror/{A}', 'bytes=98304-')]
    server.log.clear()
    monkeypatch.setenv('MMGLIP_MIRROR', server.mirror)
    assert fetch.fetch_weights('glip-t_a', quiet=True) == path
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    assert fetch.fetch_weights('glip-t_a', quiet=True) == path
    assert server.log == []
    with pytest.raises(hub.ZooError, match='not in the mirror cache'):
        fetch.fetch_weights('glip-t_b', quiet=True)
    assert server.log == []


def test_url_mirror_resumes_an_earlier_run(server, hf):
    data = official_checkpoint(seed=5)
    server.add(KEY_A, data)
    part = hf / 'mmglip' / 'mirror' / f'{A}.part'
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:50_000])  # what a killed run left
    path = fetch.fetch_weights('glip-t_a', mirror=server.mirror, quiet=True)
    assert path.read_bytes() == data and not part.exists()
    assert gets(server) == [('bytes=50000-', 206)]


@pytest.mark.parametrize('mode', ['html', 'flip', 'truncate'])
def test_url_mirror_wrong_bytes_are_refused(server, hf, mode, monkeypatch):
    data = official_checkpoint(seed=6)
    sha = server.add(KEY_A, data)
    server.modes[KEY_A] = mode
    monkeypatch.setenv('MMGLIP_MIRROR', server.mirror)
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', quiet=True)
    msg = str(err.value)
    assert msg.startswith(f'{server.mirror}/{A}: the downloaded file was '
                          'refused') and '\n' not in msg
    assert f'expected {sha} from {server.mirror}/{A}.sha256' in msg
    bad, = quarantined(hf)
    assert f'kept aside as {bad}' in msg and bad.read_bytes() != data
    assert cached_files(hf) == []
    del server.modes[KEY_A]
    assert fetch.fetch_weights('glip-t_a', quiet=True).read_bytes() == data


@pytest.mark.parametrize('how', ['no .sha256', 'a page'])
def test_mirror_without_digest_is_refused(server, hf, how):
    """No trust on first use: nothing to compare the bytes with (a flipped
    byte inside a tensor still loads), so nothing is downloaded."""
    server.add(KEY_A, official_checkpoint())
    server.no_sidecar = how == 'no .sha256'
    server.portal = how == 'a page'
    with pytest.raises(hub.ZooError, match='no SHA-256 to verify it'):
        fetch.fetch_weights('glip-t_a', mirror=server.mirror, quiet=True)
    assert [r[2] for r in server.log] == [f'/mirror/{A}.sha256']
    assert cached_files(hf) == [] and not quarantined(hf)


@pytest.mark.parametrize('mode', ['html', 'flip', 'truncate'])
def test_mirror_folder(hf, tmp_path, mode, monkeypatch):
    """An air-gapped site's folder: its files are verified in place and
    never moved (they are the user's); HF_HUB_OFFLINE does not matter."""
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    data = official_checkpoint(seed=7)
    folder = tmp_path / 'usb'
    folder.mkdir()
    (folder / A).write_bytes(data)
    (folder / f'{A}.sha256').write_text(
        f'{hashlib.sha256(data).hexdigest()}  {A}\n')
    assert fetch.fetch_weights('glip-t_a', mirror=folder.as_uri(),
                               quiet=True) == folder / A
    bad = {'html': b'<html>Not found</html>', 'truncate': data[:-100],
           'flip': data[:500] + bytes([data[500] ^ 1]) + data[501:]}[mode]
    (folder / A).write_bytes(bad)
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', mirror=str(folder), quiet=True)
    assert str(err.value).startswith(f'{folder / A} was refused: SHA-256 ')
    assert (folder / A).read_bytes() == bad and not quarantined(hf)
    (folder / A).write_bytes(data)
    assert fetch.fetch_weights('glip-t_a', mirror=str(folder),
                               quiet=True) == folder / A
    (folder / f'{A}.sha256').unlink()
    with pytest.raises(hub.ZooError, match='no SHA-256 to verify it'):
        fetch.fetch_weights('glip-t_a', mirror=str(folder), quiet=True)
    with pytest.raises(hub.ZooError, match='no such file in the mirror'):
        fetch.fetch_weights('glip-t_b', mirror=str(folder), quiet=True)


# ------------------------------------------------------------------ CLI
@pytest.fixture
def cli():
    return load_tool('tools/download.py')


def test_cli(server, hf, tmp_path, capsys, cli):
    import torch
    from mmglip.utils.cli import run_tool
    assert cli.main(['--list']) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in load_index().names)
    assert 'nothing yet' in out
    data = official_checkpoint(seed=8)
    sha = server.add(KEY_A, data)
    dest = tmp_path / 'weights'
    assert cli.main(['glip-t_a', '--dest', str(dest), '--quiet']) == 0
    assert capsys.readouterr().out.strip() == str(dest / A)
    assert (dest / A).read_bytes() == data
    assert (dest / f'{A}.sha256').read_text() == f'{sha}  {A}\n'
    cli.main(['--list'])
    assert f'glip-t_a: {hf / "hub"}' in capsys.readouterr().out
    # --dest is a mirror folder, usable offline
    assert cli.main(['glip-t_a', '--mirror', str(dest), '--offline',
                     '--quiet']) == 0
    assert capsys.readouterr().out.strip() == str(dest / A)
    # converted: model weights in mmglip's layout, optimizer dropped
    assert cli.main(['glip-t_a', '--dest', str(dest), '--convert',
                     '--quiet']) == 0
    ckpt = torch.load(dest / 'glip-t_a.pth', weights_only=False)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert 'bbox_head.bias0' in ckpt['state_dict']
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    assert cli.main(['glip-t_a', '--dest', str(dest), '--convert']) == 1
    assert 'exists' in capsys.readouterr().err  # --force replaces it
    # a different file in --dest is kept unless --force
    (dest / A).write_bytes(b'mine')
    assert cli.main(['glip-t_a', '--dest', str(dest), '--quiet']) == 1
    assert '--force' in capsys.readouterr().err
    assert (dest / A).read_bytes() == b'mine'
    assert cli.main(['glip-t_a', '--dest', str(dest), '--force']) == 0
    assert (dest / A).read_bytes() == data
    # argument errors: one line, before any transfer
    server.log.clear()
    assert run_tool(cli.main, ['glip-t_x']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 'glip-t_x' is not a model of the zoo")
    assert 'did you mean' in err and len(err.splitlines()) == 1
    assert run_tool(cli.main, ['glip-t_a', '--mirror',
                               str(tmp_path / 'none')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args(['glip-t_a', '--convert'])
    assert server.log == []


# ---------------------------------------------------------------------------
# OpenMMLab's mim (openmim 0.3.9), in its own venv:
# bash .dev_scripts/setup_mim_env.sh

MIM_PYTHON = os.environ.get('MMGLIP_MIM_PYTHON')
if MIM_PYTHON:  # relative to the repository (not resolved: a venv's python
    # is a symlink that must stay one)
    MIM_PYTHON = os.path.join(REPO, os.path.expanduser(MIM_PYTHON))
needs_mim = pytest.mark.skipif(
    not MIM_PYTHON, reason='set MMGLIP_MIM_PYTHON=.venv-mim/bin/python '
    '(created by bash .dev_scripts/setup_mim_env.sh)')


@needs_mim
def test_mim_resolves_installed_index():
    """mim reads the installed mmglip's .mim/model-index.yml: the same zoo
    as the source index (a stale .venv-mim fails here)."""
    import json
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
        assert got['weight'] == entry.weights == entry.hub_url
        assert got['config'] == entry.config
        assert os.path.isfile(os.path.join(out['root'], entry.config))
    for rel in ('model-index.yml', 'configs/glip/metafile.yml'):
        installed = Path(out['root'], rel).read_text()
        assert installed == (REPO / rel).read_text(), (
            f'{rel} in {out["root"]} is stale: run bash '
            '.dev_scripts/setup_mim_env.sh')


@needs_mim
def test_mim_download_from_mirror(server, tmp_path):
    """`mim download mmglip --config glip-t_a --dest D` fetches the entry's
    file (from the loopback server through a mirror overlay) and dumps its
    config."""
    write_mim_overlay = load_tool(
        '.dev_scripts/model_index.py').write_mim_overlay
    data = official_checkpoint(seed=9)
    server.add(KEY_A, data)
    overlay = write_mim_overlay(tmp_path / 'overlay', server.mirror)
    dest = tmp_path / 'mim'
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MMGLIP_', 'PYTHON'))}
    env['PYTHONPATH'] = str(overlay)
    r = subprocess.run([MIM_PYTHON, '-m', 'mim', 'download', 'mmglip',
                        '--config', 'glip-t_a', '--dest', str(dest)],
                       env=env, capture_output=True, text=True, timeout=180,
                       cwd='/')
    assert r.returncode == 0, r.stdout + r.stderr
    assert (dest / A).read_bytes() == data
    config = (dest / 'glip-t_a.py').read_text()
    assert 'early_fuse=False' in config and 'SwinTransformer' in config
    assert gets(server) == [(None, 200)]


# ------------------------------------------- mirrors that fail (issue 19)
def test_url_mirror_answering_404(server, hf):
    """Not found on the mirror: said so, no 0-byte .part, no "resume"; a
    part an earlier run left stays, and is said to."""
    server.add(f'{REPO_ID}/{A}.sha256', b'0' * 64 + f'  {A}\n'.encode())
    url = f'{server.mirror}/{A}'
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', mirror=server.mirror, quiet=True)
    msg = str(err.value)
    assert msg.startswith(f'{url}: not found on the mirror (404 Not Found), '
                          'nothing was downloaded.'), msg
    assert 'resume' not in msg and '\n' not in msg
    assert cached_files(hf) == []  # neither a .part nor the .sha256
    part = hf / 'mmglip' / 'mirror' / f'{A}.part'
    part.write_bytes(b'x' * 1000)
    with pytest.raises(hub.ZooError) as err:
        fetch.fetch_weights('glip-t_a', mirror=server.mirror, quiet=True)
    assert f'the 1,000 bytes of an earlier transfer stay in {part}' in str(
        err.value)
    assert part.read_bytes() == b'x' * 1000
    assert gets(server) == [(None, 404), ('bytes=1000-', 404)]


def test_url_mirror_unreachable_keeps_nothing(server, hf):
    sha = server.add(KEY_A, official_checkpoint())
    server.stop()
    with pytest.raises(hub.ZooError) as err:
        hub.fetch_file(A, repo_id=REPO_ID, revision='main', sha256=sha,
                       mirror=server.mirror, quiet=True)
    msg = str(err.value)
    assert msg.startswith(f'could not download {server.mirror}/{A} (')
    assert msg.endswith('nothing was kept. Check the network and --mirror / '
                        'MMGLIP_MIRROR, then run again.')
    assert 'resume' not in msg and cached_files(hf) == []


@pytest.mark.parametrize('mirror', ['ftp://example.org/glip',
                                    's3://bucket/glip'])
def test_unsupported_mirror_url(hf, tmp_path, capsys, monkeypatch, cli,
                                mirror):
    """Not taken for a folder: one line, before any transfer."""
    from mmglip.utils.cli import run_tool
    with pytest.raises(hub.ZooError, match='URLs are not supported'):
        fetch.fetch_weights('glip-t_a', mirror=mirror, quiet=True)
    scheme = mirror.split('/')[0]
    for args in (['glip-t_a', '--mirror', mirror],
                 ['--dataset', 'dice', '--data-root', str(tmp_path / 'o'),
                  '--mirror', mirror]):
        assert run_tool(cli.main, args) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f'error: mirror {mirror} (--mirror / MMGLIP_MIRROR): '
                       f'{scheme}// URLs are not supported; give a folder, a '
                       'file:// URL or an http(s):// URL.')
    monkeypatch.setenv('MMGLIP_MIRROR', mirror)
    assert run_tool(cli.main, ['glip-t_a']) == 2
    assert 'URLs are not supported' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('source', ['hub', 'url mirror'])
def test_quarantine_keeps_one_copy_per_content(server, hf, source):
    data = official_checkpoint(seed=10)
    server.add(KEY_A, data)
    mirror = server.mirror if source == 'url mirror' else None
    server.modes[KEY_A] = 'flip'
    for _ in range(3):  # the same wrong bytes, refused three times
        with pytest.raises(hub.ZooError, match='refused'):
            fetch.fetch_weights('glip-t_a', mirror=mirror, quiet=True)
    flipped, = quarantined(hf)
    server.modes[KEY_A] = 'html'  # other wrong bytes: a second copy
    with pytest.raises(hub.ZooError, match='refused'):
        fetch.fetch_weights('glip-t_a', mirror=mirror, quiet=True)
    assert len(quarantined(hf)) == 2 and flipped in quarantined(hf)
    assert sorted(p.read_bytes() for p in quarantined(hf)) == sorted(
        [bytes(data[:len(data) // 2]) + bytes([data[len(data) // 2] ^ 1]) +
         data[len(data) // 2 + 1:], hub_server_html()])
    assert len(gets(server)) == 4  # each refused file was fetched anew


def hub_server_html():
    from .hub_server import HTML
    return HTML


# ------------------------------- a verified file is found by its name
def test_url_mirror_download_is_found_by_name_offline(server, hf, cli,
                                                      capsys, monkeypatch):
    """tools/download.py NAME --mirror URL once; then the zoo name alone,
    offline, finds it (the route of tools/infer.py --weights NAME), and a
    new process with HF_HUB_OFFLINE=1 too; changed bytes are not used."""
    from huggingface_hub import constants

    from mmglip.weights.load import resolve_source
    data = official_checkpoint(seed=11)
    server.add(KEY_A, data)
    assert cli.main(['glip-t_a', '--mirror', server.mirror, '--quiet']) == 0
    copy = hf / 'mmglip' / 'mirror' / A
    assert capsys.readouterr().out.strip() == str(copy)
    server.stop()  # no network from here on
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    assert fetch.fetch_weights('glip-t_a', quiet=True) == copy
    assert resolve_source('glip-t_a')[0] == str(copy)
    os.environ['HF_HUB_OFFLINE'] = '1'  # restored by the fixture
    r = _run(['tools/download.py', 'glip-t_a', '--quiet'], cwd=REPO)
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, str(copy), '')
    # as strict as from the mirror: one byte changed (same size, the record
    # no longer matches) is refused, set aside and never used
    changed = bytearray(data)
    changed[len(data) // 3] ^= 1
    copy.write_bytes(bytes(changed))
    with pytest.raises(hub.ZooError, match='not in the Hugging Face cache'):
        fetch.fetch_weights('glip-t_a', quiet=True)
    bad, = quarantined(hf)
    assert bad.read_bytes() == bytes(changed) and not copy.exists()


def test_url_mirror_finds_what_the_hub_brought(server, hf, monkeypatch):
    from huggingface_hub import constants
    data = official_checkpoint(seed=12)
    server.add(KEY_A, data)
    path = fetch.fetch_weights('glip-t_a', quiet=True)
    server.log.clear()
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    assert fetch.fetch_weights('glip-t_a', mirror=server.mirror,
                               quiet=True) == path
    assert server.log == []


def test_a_copy_with_no_digest_is_not_found_by_name(server, hf, monkeypatch):
    """A file in the mirror cache without the .sha256 its download came
    with has nothing to be verified against: not used."""
    from huggingface_hub import constants
    server.add(KEY_A, official_checkpoint(seed=13))
    copy = fetch.fetch_weights('glip-t_a', mirror=server.mirror, quiet=True)
    copy.with_name(f'{A}.sha256').unlink()
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    with pytest.raises(hub.ZooError, match='not in the Hugging Face cache'):
        fetch.fetch_weights('glip-t_a', quiet=True)
    assert copy.is_file()
