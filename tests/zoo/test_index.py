"""The model index is the one source of truth: model_zoo.md, the configs,
the API's model names, the packaged copy and mim's view must agree with it."""
import re
import shutil
from pathlib import Path

import pytest
import yaml

from mmglip.zoo import index as zi

from ..tool_modules import load_tool

#: .dev_scripts/model_index.py (the maintainers' tool) as a module
mi = load_tool('.dev_scripts/model_index.py')

REPO = Path(__file__).resolve().parents[2]
NAMES = ['glip-t_a', 'glip-t_b', 'glip-t_c', 'glip-t', 'glip-l']
HF = 'https://huggingface.co/GLIPModel/GLIP/resolve/main/'
FILES = {
    'glip-t_a': 'glip_a_tiny_o365.pth',
    'glip-t_b': 'glip_tiny_model_o365.pth',
    'glip-t_c': 'glip_tiny_model_o365_goldg.pth',
    'glip-t': 'glip_tiny_model_o365_goldg_cc_sbu.pth',
    'glip-l': 'glip_large_model.pth',
}
CONFIGS = {
    'glip-t_a': 'configs/glip/glip_swin-t_a_zeroshot_coco.py',
    'glip-t_b': 'configs/glip/glip_swin-t_b_zeroshot_coco.py',
    'glip-t_c': 'configs/glip/glip_swin-t_c_zeroshot_coco.py',
    'glip-t': 'configs/glip/glip_swin-t_zeroshot_coco.py',
    'glip-l': 'configs/glip/glip_swin-l_zeroshot_coco.py',
}


def test_zoo_entries():
    index = zi.load_index()
    assert index.path == REPO / 'model-index.yml'
    assert index.names == NAMES
    assert index.validate() == []
    # where mmglip.zoo.hub downloads from (the revision is a branch until a
    # commit hash is read off the hub: nothing here was measured)
    assert (index.hub_repo, index.hub_revision) == ('GLIPModel/GLIP', 'main')
    for entry in index:
        assert entry.weight_file == FILES[entry.name]
        assert entry.weights == HF + FILES[entry.name] == entry.hub_url
        assert (entry.hub_repo, entry.hub_revision) == ('GLIPModel/GLIP',
                                                        'main')
        assert entry.config == CONFIGS[entry.name]
        # never a size / digest nobody measured: null, or well-formed
        assert entry.file_size is None or entry.file_size > 10**8
        assert entry.sha256 is None or re.fullmatch('[0-9a-f]{64}',
                                                    entry.sha256)
    assert index.get('glip-l').metric('COCO', 'box AP') == 51.4
    assert index.get('glip-t_a').metric('ODinW-13', '1-shot AP') == 43.5


def test_openmmlab_format():
    """Collections / Models with Name, In Collection, Config, Metadata
    (Training Data), Results (Task, Dataset, Metrics), Weights."""
    root = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert root == {'Import': ['configs/glip/metafile.yml']}
    meta = yaml.safe_load((REPO / 'configs/glip/metafile.yml').read_text())
    collections = {c['Name'] for c in meta['Collections']}
    assert collections == {'GLIP'}
    hub = meta['Collections'][0]['Metadata']
    assert (hub['Hub Repo'], hub['Hub Revision']) == ('GLIPModel/GLIP', 'main')
    for model in meta['Models']:
        assert {'Name', 'In Collection', 'Config', 'Metadata', 'Results',
                'Weights'} <= set(model)
        assert model['In Collection'] in collections
        assert model['Metadata']['Training Data']
        for key in ('Weight File', 'File Size', 'SHA256'):
            assert key in model['Metadata']
        for res in model['Results']:
            assert {'Task', 'Dataset', 'Metrics'} <= set(res)
            assert all(isinstance(v, float) for v in res['Metrics'].values())
        # mim keys results by dataset/metric: names must not collide
        keys = [(r['Dataset'], m) for r in model['Results']
                for m in r['Metrics']]
        assert len(keys) == len(set(keys)), model['Name']


def test_index_model_zoo_md_and_configs_agree():
    """THE check: fails when model_zoo.md, the index or a config disagree
    (fix: edit the metafile, then python .dev_scripts/model_index.py
    --update model_zoo.md)."""
    problems = mi.consistency_problems()
    assert problems == [], '\n'.join(problems)
    md = (REPO / 'model_zoo.md').read_text()
    assert '## Measured by mmglip' in md
    for entry in zi.load_index():
        assert f'`{entry.name}`' in md and entry.weights in md


@pytest.fixture
def repo_copy(tmp_path):
    for name in ('model-index.yml', 'model_zoo.md'):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / 'configs', tmp_path / 'configs',
                    ignore=shutil.ignore_patterns('__pycache__'))
    return tmp_path


def _problems(root):
    index = zi.load_index(root / 'model-index.yml', cached=False)
    return index, mi.consistency_problems(index, root / 'model_zoo.md')


def test_disagreement_is_caught(repo_copy):
    assert _problems(repo_copy)[1] == []
    # a number edited by hand in model_zoo.md
    md = repo_copy / 'model_zoo.md'
    md.write_text(md.read_text().replace('| 46.7 / 55.1 |', '| 47.7 / 55.1 |'))
    index, problems = _problems(repo_copy)
    assert len(problems) == 1 and 'model_zoo.md disagrees' in problems[0]
    assert '47.7' in problems[0]
    assert mi.update_markdown(md, index) is True
    assert _problems(repo_copy)[1] == []
    # the index says GLIP-T (A) fuses, its config does not
    metafile = repo_copy / 'configs/glip/metafile.yml'
    text = metafile.read_text()
    metafile.write_text(text.replace('Deep Fusion: false', 'Deep Fusion: true',
                                     1))
    problems = _problems(repo_copy)[1]
    assert any('glip-t_a' in p and 'early_fuse=False' in p for p in problems)
    metafile.write_text(text)
    # a config naming another weight file / a different backbone
    cfg = repo_copy / 'configs/glip/glip_swin-t_b_zeroshot_coco.py'
    cfg.write_text(cfg.read_text().replace('glip_tiny_model_o365.pth',
                                           'glip_tiny_model_other.pth'))
    large = repo_copy / 'configs/_base_/models/glip_swin-l.py'
    large.write_text(large.read_text().replace('embed_dims=192',
                                               'embed_dims=96'))
    problems = _problems(repo_copy)[1]
    assert any('glip_tiny_model_other.pth' in p for p in problems)
    assert any('glip-l' in p and 'Swin-L' in p for p in problems)
    # a missing config
    (repo_copy / 'configs/glip/glip_swin-t_finetune_coco.py').unlink()
    assert any('glip_swin-t_finetune_coco.py' in p
               for p in _problems(repo_copy)[1])


def test_bad_index_is_refused(tmp_path):
    meta = yaml.safe_load((REPO / 'configs/glip/metafile.yml').read_text())
    meta['Models'][1]['Name'] = meta['Models'][0]['Name']
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump(meta))
    (tmp_path / 'model-index.yml').write_text('Import:\n  - metafile.yml\n')
    with pytest.raises(zi.ModelIndexError, match='defined twice'):
        zi.load_index(tmp_path / 'model-index.yml', cached=False)
    meta['Models'][1]['Name'] = 'glip-t_b'
    meta['Models'][1]['Metadata']['SHA256'] = 'abc'
    meta['Models'][1]['Metadata']['Weight File'] = 'other.pth'
    # mim would download another file than mmglip
    meta['Models'][2]['Weights'] = meta['Models'][2]['Weights'].replace(
        '/main/', '/v1/')
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump(meta))
    index = zi.load_index(tmp_path / 'model-index.yml', cached=False)
    problems = index.validate(check_files=False)
    assert any('SHA256' in p for p in problems)
    assert any('other.pth' in p for p in problems)
    assert any('glip-t_c' in p and '/v1/' in p and
               'Hub Revision' in p for p in problems)
    # a model's own Hub Revision wins over its collection's
    meta['Models'][2]['Metadata']['Hub Revision'] = 'v1'
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump(meta))
    entry = zi.load_index(tmp_path / 'model-index.yml',
                          cached=False).get('glip-t_c')
    assert (entry.hub_repo, entry.hub_revision) == ('GLIPModel/GLIP', 'v1')
    del meta['Collections'][0]['Metadata']['Hub Repo']
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump(meta))
    problems = zi.load_index(tmp_path / 'model-index.yml',
                             cached=False).validate(check_files=False)
    assert any('needs Hub Repo' in p for p in problems)


def test_api_and_tools_read_the_index():
    from mmglip.apis import MODEL_NAMES, resolve_config
    index = zi.load_index()
    assert list(MODEL_NAMES) == index.names
    for name in index.names:
        assert resolve_config(name) == str(index.config_path(name))
    with pytest.raises(zi.UnknownModelError, match='Did you mean glip-l'):
        index.get('glip_l')
    # the names the tools' and README's help texts mention are zoo names
    infer_doc = (REPO / 'tools/infer.py').read_text()
    listed = re.search(r'\((glip-[^)]*)\)', infer_doc).group(1)
    from mmglip.apis.inference import LOCAL_MODELS
    assert [n.strip() for n in listed.split(',')] == index.names + list(
        LOCAL_MODELS)
    readme = (REPO / 'README.md').read_text()
    for name in index.names:
        assert f'`{name}`' in readme


def test_packaged_copy(tmp_path):
    """setup.py's build step puts the same index and configs into
    mmglip/.mim (what mim and a regular install read)."""
    setup_py = load_tool('setup.py')  # not __main__: setup() not run
    mim = Path(setup_py.copy_mim_files(str(tmp_path / 'mmglip')))
    assert mim == tmp_path / 'mmglip' / '.mim'
    packaged = zi.load_index(mim / 'model-index.yml', cached=False)
    source = zi.load_index()
    assert packaged.names == source.names
    for a, b in zip(packaged, source):
        assert (a.weights, a.config, a.sha256, a.file_size) == (
            b.weights, b.config, b.sha256, b.file_size)
    assert mi.consistency_problems(packaged) == []
    assert (mim / 'tools' / 'download.py').is_file()
    # the maintainers' tooling (.dev_scripts/) is not shipped
    assert not (mim / '.dev_scripts').exists()
    assert not (mim / 'tools' / 'model_index.py').exists()
    assert not (mim / 'tools' / 'parity').exists()
    assert not list(mim.rglob('__pycache__'))


def test_mim_overlay(tmp_path):
    out = mi.write_mim_overlay(tmp_path / 'ov', 'http://127.0.0.1:1/glip/')
    index = zi.load_index(out / 'mmglip/.mim/model-index.yml', cached=False)
    assert index.names == NAMES
    for entry in index:
        assert entry.weights == f'http://127.0.0.1:1/glip/{FILES[entry.name]}'
        assert (index.root / entry.config).is_file()
    meta = next(out.glob('mmglip-*.dist-info')) / 'METADATA'
    assert 'Name: mmglip' in meta.read_text()
    assert not (out / 'mmglip' / '__init__.py').exists()  # no code


def test_cli(capsys, tmp_path):
    assert mi.main([]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in NAMES)
    assert mi.main(['--markdown']) == 0
    assert capsys.readouterr().out == mi.zoo_markdown()
    assert mi.main(['--check']) == 0
    assert 'agree' in capsys.readouterr().out
