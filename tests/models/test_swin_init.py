"""The pretraining configs start Swin from ImageNet weights in the official
Swin-Transformer layout (a local file, or a hub file named hf://...): every
Swin weight arrives, through mmdet's converter, in the backbone the config
builds."""
import pytest
import torch
from mmengine.config import Config

from mmglip.registry import MODELS
from ..weights.official_inverse import mmdet_swin_to_official
from ..conftest import REPO

CONFIGS = ['glip_swin-t_c_pretrain_o365-goldg.py',
           'glip_swin-t_a_pretrain_o365.py']


@pytest.mark.parametrize('name', CONFIGS)
def test_swin_starts_from_an_official_imagenet_file(name, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs/glip/pretrain' / name))
    backbone_cfg = cfg.model.backbone
    torch.manual_seed(0)
    source = MODELS.build(dict(backbone_cfg, init_cfg=None))
    for p in source.parameters():
        torch.nn.init.normal_(p, std=0.02)
    expected = source.state_dict()
    # an ImageNet classification file: the official keys, its final norm
    # and classifier head, none of the detection-only norm1..3
    official = {k: v for k, v in mmdet_swin_to_official(expected).items()
                if not k.startswith(('norm1.', 'norm2.', 'norm3.'))}
    official.update({'norm.weight': torch.ones(768),
                     'norm.bias': torch.zeros(768),
                     'head.weight': torch.zeros(1000, 768),
                     'head.bias': torch.zeros(1000)})
    path = tmp_path / 'swin_tiny_patch4_window7_224.pth'
    torch.save({'model': official}, path)

    backbone_cfg.init_cfg.checkpoint = str(path)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    got = backbone.state_dict()
    loaded = [k for k in expected if not k.startswith(('norm1', 'norm2',
                                                       'norm3'))]
    assert len(loaded) > 100
    for key in loaded:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=0,
                                   msg=key)


def test_swin_starts_from_a_hub_file(hf, server):  # noqa: F811
    """init_cfg.checkpoint='hf://OWNER/REPO/FILE': the file comes through
    huggingface_hub (here a loopback hub) into the backbone."""
    import io
    cfg = Config.fromfile(str(REPO / 'configs/glip/pretrain' / CONFIGS[0]))
    backbone_cfg = cfg.model.backbone
    torch.manual_seed(1)
    source = MODELS.build(dict(backbone_cfg, init_cfg=None))
    expected = source.state_dict()
    buf = io.BytesIO()
    torch.save({'model': mmdet_swin_to_official(expected)}, buf)
    server.add('microsoft/swin/swin_tiny_patch4_window7_224.pth',
               buf.getvalue())
    backbone_cfg.init_cfg.checkpoint = \
        'hf://microsoft/swin/swin_tiny_patch4_window7_224.pth'
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    got = backbone.state_dict()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=0,
                                   msg=key)


@pytest.mark.parametrize('name, match', [
    ('hf://microsoft/swin', r'hf://OWNER/REPO\[@REVISION\]/PATH'),
    ('hf://microsoft/swin/missing.pth', r'missing.pth: not found \(404\)'),
])
def test_bad_hub_names_are_one_line_errors(hf, server, name,  # noqa: F811
                                           match):
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmglip.zoo.sources import ZooError
    with pytest.raises(ZooError, match=match) as err:
        CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert '\n' not in str(err.value)
