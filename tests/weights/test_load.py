"""The one weights path (mmglip.weights.load): every accepted source gives
the same state dict and the same model weights, through load_weights,
mmengine's load_checkpoint (``load_from`` of a file, of ``mmglip://NAME``)
and tools/test.py; wrong files are refused with one line naming them.

On glip-lite (30 M parameters, built in about a second), with files in the
official layout made from its own weights by ``mmglip_to_official``.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint, load_state_dict

from mmglip.apis import load_weights as api_load_weights
from mmglip.utils.cli import UserError, run_tool
from mmglip.weights import load as W
from mmglip.weights.official import (CheckpointMismatchError,
                                     MissingWeightsError)
from mmglip.weights.schemes import register_checkpoint_scheme

from ..conftest import REPO
from ..tool_modules import load_tool
from .official_inverse import mmglip_to_official

LITE = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
ZOO_NAME = 'glip-lite-test'


def _tool(name):
    return load_tool(f'tools/{name}.py')


def _build(**fusion):
    from mmglip.registry import MODELS
    cfg = Config.fromfile(LITE)
    cfg.model.language_model.pretrained = False
    cfg.model.backbone.pretrained = False
    cfg.model.fusion_neck.update(fusion)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def ref():
    torch.manual_seed(0)
    return _build().state_dict()


@pytest.fixture(scope='module')
def target():
    torch.manual_seed(1)
    return _build()


def _scramble(model):
    with torch.no_grad():
        for value in model.state_dict().values():
            value.zero_()


def _same(state_dict, ref):
    assert set(state_dict) == set(ref)
    for k, v in ref.items():
        assert torch.equal(state_dict[k], v), k


def _official(ref, prefix='module.'):
    return {prefix + k: v for k, v in mmglip_to_official(ref, True).items()}


@pytest.fixture(scope='module')
def files(ref, tmp_path_factory):
    """Each kind of checkpoint file, of the same weights."""
    d = tmp_path_factory.mktemp('weights')
    official = _official(ref)
    paths = {k: d / f'{k}.pth' for k in (
        'official', 'official_flat', 'official_bare', 'mmglip',
        'mmglip_flat', 'converted')}
    torch.save({'model': official,
                'model_ema': {k: v + 1 for k, v in official.items()},
                'optimizer': {'state': {0: torch.ones(3)}},
                'iteration': 7}, paths['official'])
    torch.save(official, paths['official_flat'])
    torch.save(_official(ref, ''), paths['official_bare'])
    torch.save({'meta': {'epoch': 3}, 'state_dict': ref,
                'optimizer': {'state': {}}}, paths['mmglip'])
    torch.save({'module.' + k: v for k, v in ref.items()},
               paths['mmglip_flat'])
    _tool('convert_official').convert_file(str(paths['official']),
                                           str(paths['converted']))
    return paths


@pytest.fixture
def zoo(files, monkeypatch):
    """``ZOO_NAME`` / ``mmglip://ZOO_NAME`` served by a stub of
    mmglip.weights.fetch.fetch_weights (the official file, as the hub gives
    it)."""
    from mmglip.weights import fetch
    from mmglip.zoo import hub
    asked = []

    def fetch_weights(name, mirror=None, offline=None, quiet=False):
        asked.append(name)
        assert name in (ZOO_NAME, hub.SCHEME + ZOO_NAME)
        return files['official']

    real = hub.is_zoo_reference
    monkeypatch.setattr(fetch, 'fetch_weights', fetch_weights)
    monkeypatch.setattr(hub, 'is_zoo_reference',
                        lambda v: v == ZOO_NAME or real(v))
    register_checkpoint_scheme()
    return asked


def _sources(files):
    return [str(p) for p in files.values()]


def test_every_file_kind_gives_the_same_state_dict(files, ref):
    for kind, path in files.items():
        state_dict, meta = W.state_dict_from(path)
        _same(state_dict, ref)
        assert meta['path'] == str(path) and meta['label'] == str(path)
        assert meta['layout'] == kind.split('_')[0].replace(
            'converted', 'mmglip'), kind
    _, meta = W.state_dict_from(files['official'])
    assert meta['dropped'] == ['iteration', 'model_ema', 'optimizer']
    assert (meta['fusion'], meta['fusion_blocks']) == (True, 2)
    # the converted file records the layout it came from
    _, meta = W.state_dict_from(files['converted'])
    assert (meta['fusion'], meta['fusion_blocks']) == (True, 2)
    # a checkpoint dict already loaded
    state_dict, _ = W.state_dict_from({'model': _official(ref)})
    _same(state_dict, ref)


def test_zoo_names_give_the_same_state_dict(zoo, ref):
    for source in (ZOO_NAME, 'mmglip://' + ZOO_NAME):
        state_dict, meta = W.state_dict_from(source)
        _same(state_dict, ref)
        assert meta['label'].startswith(source)
    assert zoo == [ZOO_NAME, 'mmglip://' + ZOO_NAME]


def test_load_weights_every_source(files, ref, target):
    assert api_load_weights is W.load_weights  # mmglip.apis re-exports it
    for source in _sources(files):
        _scramble(target)
        report = W.load_weights(target, source)
        assert report.ok and source in str(report), str(report)
        _same(target.state_dict(), ref)


def test_mmengine_load_checkpoint_every_file(files, ref, target):
    """`load_from=FILE`: mmengine's file loader, with official files
    converted at the door (mmglip.weights.schemes) by the same converter."""
    for source in _sources(files):
        _scramble(target)
        load_checkpoint(target, source, strict=True)
        _same(target.state_dict(), ref)


def test_load_from_zoo_scheme_and_names(zoo, ref, target):
    """`load_from='mmglip://NAME'` goes through state_dict_from, as do zoo
    names given to load_weights."""
    _scramble(target)
    load_checkpoint(target, 'mmglip://' + ZOO_NAME, strict=True)
    _same(target.state_dict(), ref)
    _scramble(target)
    assert W.load_weights(target, ZOO_NAME).ok
    _same(target.state_dict(), ref)


def _run_test_tool(monkeypatch, argv):
    """tools/test.py up to the evaluation: the model's weights then."""
    from mmengine.runner import Runner
    got = {}
    monkeypatch.setattr(Runner, 'test', lambda self: got.update(
        state_dict={k: v.clone() for k, v in self.model.state_dict().items()}))
    status = run_tool(_tool('test').main, argv)
    return status, got.get('state_dict')


@pytest.mark.parametrize('kind', ['official', 'converted', 'zoo'])
def test_tools_test_loads_the_same_weights(files, ref, tmp_path, monkeypatch,
                                           kind, request):
    source = str(files.get(kind, ''))
    if kind == 'zoo':
        request.getfixturevalue('zoo')
        source = 'mmglip://' + ZOO_NAME
    status, state_dict = _run_test_tool(
        monkeypatch, [LITE, source, '--work-dir', str(tmp_path)])
    assert status == 0
    _same(state_dict, ref)


def test_ema_weights_only_where_the_file_has_them(files, ref, target):
    state_dict, meta = W.state_dict_from(files['official'], 'model_ema')
    assert meta['weights_key'] == 'model_ema'
    assert 'model' in meta['dropped']
    assert torch.equal(state_dict['bbox_head.bias0'],
                       ref['bbox_head.bias0'] + 1)
    for kind in ('official_flat', 'official_bare', 'mmglip', 'mmglip_flat',
                 'converted'):
        path = str(files[kind])
        with pytest.raises(MissingWeightsError,
                           match='has no EMA weights') as err:
            W.state_dict_from(path, 'model_ema')
        assert path in str(err.value) and '\n' not in str(err.value)
        with pytest.raises(MissingWeightsError):
            W.load_weights(target, path, key='model_ema')
        with pytest.raises(UserError, match='has no EMA weights'):
            W.check_source(path, 'model_ema', '--weights')
    # tools/infer.py checks it before the model is built
    with pytest.raises(UserError, match='has no EMA weights'):
        _tool('infer').check_weights_arg(str(files['official_flat']),
                                         'model_ema')
    nested_no_ema = {'model': _official(ref), 'optimizer': {}}
    with pytest.raises(MissingWeightsError,
                       match='entries are model, optimizer'):
        W.state_dict_from(nested_no_ema, 'model_ema')


@pytest.fixture(scope='module')
def one_block():
    torch.manual_seed(2)
    return _build(num_blocks=1)


def test_another_variant_is_refused_naming_both_layouts(files, one_block,
                                                        tmp_path, capsys,
                                                        monkeypatch):
    msg = (r'2 fusion blocks \(X-MHA \+ BERT layer \+ DyHead\) but the model '
           r'has 1 fusion blocks')
    for kind in ('official', 'official_flat', 'converted'):
        with pytest.raises(CheckpointMismatchError, match=msg):
            W.load_weights(one_block, str(files[kind]), strict=False)
        with pytest.raises(CheckpointMismatchError, match=msg):
            load_checkpoint(one_block, str(files[kind]))  # load_from
    cfg_opts = ['--cfg-options', 'model.fusion_neck.num_blocks=1']
    capsys.readouterr()
    status, _ = _run_test_tool(monkeypatch, [
        LITE, str(files['official']), '--work-dir', str(tmp_path),
        *cfg_opts])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert str(files['official']) in err[0] and '1 fusion blocks' in err[0]


def test_another_variant_is_refused_through_the_zoo_scheme(zoo, one_block):
    with pytest.raises(CheckpointMismatchError, match='1 fusion blocks'):
        load_checkpoint(one_block, 'mmglip://' + ZOO_NAME)


def test_unreadable_files_are_one_line_errors(files, tmp_path, target,
                                              monkeypatch, capsys):
    json_file = tmp_path / 'weights.pth'
    json_file.write_text('{"not": "weights"}')
    truncated = tmp_path / 'cut.pth'
    data = files['official_bare'].read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    empty = tmp_path / 'no_weights.pth'
    torch.save({'meta': {}, 'epoch': 3}, empty)
    for path in (json_file, truncated, empty):
        with pytest.raises(UserError) as err:
            W.state_dict_from(path)
        assert str(path) in str(err.value) and '\n' not in str(err.value)
        with pytest.raises(UserError):
            W.load_weights(target, str(path))
    assert 'JSON' in str(pytest.raises(UserError, W.state_dict_from,
                                       json_file).value)
    with pytest.raises(FileNotFoundError, match='nope.pth: no such file'):
        W.state_dict_from(tmp_path / 'nope.pth')
    # tools/test.py names them before building the model
    from mmengine.runner import Runner

    def no_build(*args, **kwargs):
        raise AssertionError('the model was built')
    monkeypatch.setattr(Runner, 'from_cfg', no_build)
    for path in (json_file, truncated, tmp_path / 'nope.pth'):
        capsys.readouterr()
        assert run_tool(_tool('test').main, [
            LITE, str(path), '--work-dir', str(tmp_path / 'w')]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith('error: ') and len(err.splitlines()) == 1
        assert str(path) in err


def test_unknown_and_mis_shaped_keys_are_named(ref, target, tmp_path):
    official = _official(ref, '')
    official['rpn.head.something_new'] = torch.zeros(1)
    official['rpn.head.bias0'] = torch.zeros(2)
    del official['rpn.head.log_scale']
    with pytest.raises(CheckpointMismatchError) as err:
        W.load_weights(target, {'model': official})
    msg = str(err.value)
    assert 'unexpected in checkpoint (1):\n    rpn.head.something_new' in msg
    assert 'bbox_head.bias0: (2,) vs (1,)' in msg
    assert 'missing in checkpoint (1):\n    bbox_head.log_scale' in msg
    report = W.load_weights(target, {'model': official}, strict=False)
    assert not report.ok and report.unexpected == ['rpn.head.something_new']
    # mmengine's loader (load_from: the door converts the file) names the
    # unknown official key too
    del official['rpn.head.bias0']
    path = tmp_path / 'official_new_key.pth'
    torch.save({'model': official, 'iteration': 1}, path)
    with pytest.raises(RuntimeError, match='rpn.head.something_new'):
        load_checkpoint(target, str(path), strict=True)
    # the model itself takes mmglip-layout weights only: no conversion
    with pytest.raises(RuntimeError, match='unexpected key .*: rpn.head.'):
        load_state_dict(target, official, strict=True)


def test_convert_tool(files, ref, tmp_path, capsys):
    tool = _tool('convert_official')
    dst = tmp_path / 'converted.pth'
    assert run_tool(tool.main, [str(files['official']), str(dst)]) == 0
    out = capsys.readouterr().out
    assert '2 fusion blocks' in out and 'optimizer' in out
    ckpt = torch.load(dst, weights_only=False)
    assert set(ckpt) == {'state_dict', 'meta'}
    _same(ckpt['state_dict'], ref)
    assert ckpt['meta']['fusion_blocks'] == 2
    assert run_tool(tool.main, [str(files['official']), str(dst)]) == 2
    assert 'exists' in capsys.readouterr().err
    assert run_tool(tool.main, [str(files['official_flat']), str(dst),
                                '--key', 'model_ema', '--force']) == 2
    assert 'has no EMA weights' in capsys.readouterr().err
    assert run_tool(tool.main, [str(files['mmglip']), str(dst),
                                '--force']) == 2
    assert 'not an official GLIP checkpoint' in capsys.readouterr().err


def test_official_file_from_the_hub_is_converted_at_the_door(files, ref,
                                                             target, server,
                                                             hf):
    """`load_from='hf://OWNER/REPO/FILE'` of an official file: read by the
    hub scheme, converted by the same door as a local file."""
    server.add('GLIPModel/GLIP/lite_official.pth',
               files['official'].read_bytes())
    _scramble(target)
    load_checkpoint(target, 'hf://GLIPModel/GLIP/lite_official.pth',
                    strict=True)
    _same(target.state_dict(), ref)


def test_the_door_is_installed_once_and_passes_other_files(files):
    """register_all_modules may run many times: mmengine's loaders are
    wrapped once; a file that is not official comes out as it was read."""
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
    register_checkpoint_scheme()
    local = CheckpointLoader._schemes['']
    register_checkpoint_scheme()
    assert CheckpointLoader._schemes[''] is local
    assert local.__wrapped__.__name__ == 'load_from_local'
    plain = torch.load(files['mmglip'], weights_only=False)
    read = _load_checkpoint(str(files['mmglip']))
    assert read.keys() == plain.keys()
    converted = _load_checkpoint(str(files['official']))
    assert set(converted) == {'state_dict', 'meta'}
    assert converted['meta']['layout'] == 'official'
