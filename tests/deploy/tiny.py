"""The deploy tests' models, prompt and images: glip-lite as configured, and
GLIP-T (A) / (C) shrunk as the fast-path tests build them
(tests/models/tiny_glip.py) with 2 fusion blocks and DyHead offsets away
from zero (so that ``DeformConv`` samples between pixels); test images
resized to at most 160 x 128."""
import torch
from mmengine.config import Config

from mmglip.models.layers.dyhead_block import GLIPDyHeadBlock

from ..conftest import DEMO_DATA, REPO
from ..models.tiny_glip import build_tiny_glip

VARIANTS = {
    'glip-lite': 'configs/glip_lite/glip-lite_raccoon-mini.py',
    'glip-t_a': 'configs/glip/glip_swin-t_a_zeroshot_coco.py',
    'glip-t_c': 'configs/glip/glip_swin-t_c_zeroshot_coco.py',
}
# 3 chunks of 3 names (chunk_size=3)
NAMES = ('raccoon', 'person', 'dog', 'trash can', 'traffic light', 'cat',
         'fire hydrant', 'car', 'bicycle')
TEST_IMAGES = [str(DEMO_DATA / 'raccoon_mini/test/raccoon-134.jpg'),
               str(DEMO_DATA / 'raccoon_mini/test/raccoon-5.jpg')]


def build(variant, tiny_bert, seed=0):
    """The seeded test model of ``variant`` with its ``cfg``."""
    captured = {}

    def edit(m):
        m.chunk_size = 3
        if variant != 'glip-lite':
            m.fusion_neck.num_blocks = 2
        captured['model'] = m

    model = build_tiny_glip(VARIANTS[variant], tiny_bert, seed,
                            max_tokens=48, edit=edit)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, GLIPDyHeadBlock) and \
                    module.offset is not None:
                torch.nn.init.normal_(module.offset.weight, 0, 0.1)
    cfg = Config.fromfile(str(REPO / VARIANTS[variant]))
    cfg.model = captured['model']
    for step in cfg.test_dataloader.dataset.pipeline:
        if 'Resize' in step['type']:
            step['scale'] = (160, 128)
    model.cfg = cfg
    return model


def save_weights(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta={}), str(path))
    return str(path)
