"""GLIP models from the shipped configs, shrunk to test size: the model
tests (fast paths, mixed precision) build them the same way."""
import math
from typing import Callable, Optional

import torch
from mmengine.config import Config

from mmglip.registry import MODELS
from ..conftest import REPO

#: the shipped configs the tests shrink, by model name
VARIANTS = {
    'glip-t_a': 'configs/glip/glip_swin-t_a_zeroshot_coco.py',
    'glip-t_c': 'configs/glip/glip_swin-t_c_zeroshot_coco.py',
    'glip-lite': 'configs/glip_lite/glip-lite_raccoon-mini.py',
}
#: a prompt of 9 names (3 chunks of 3 with chunk_size=3)
NAMES = ('raccoon', 'person', 'dog', 'trash can', 'traffic light', 'cat',
         'fire hydrant', 'car', 'bicycle')


def build_tiny_glip(config: str, tiny_bert: str, seed: int = 0,
                    max_tokens: int = 48,
                    edit: Optional[Callable] = None):
    """The model of ``config`` (relative to the repository) in eval mode:
    Swin-based variants shrunk (the ``tiny_bert`` language model, 16-wide
    Swin, 32 channels), glip-lite as it ships; every score kept
    (``score_thr`` 0); ``edit(model_cfg)`` before it is built; seeded
    weights with head terms spread so that random heads do not tie."""
    from mmglip.apis.inference import _quiet_init_weights
    m = Config.fromfile(str(REPO / config)).model
    if m.backbone.type.endswith('SwinTransformer'):
        m.language_model.update(name=tiny_bert, pretrained=False,
                                max_tokens=max_tokens)
        m.backbone.update(embed_dims=16, depths=[1, 1, 2, 1],
                          num_heads=[1, 2, 2, 4])
        m.neck.update(in_channels=[32, 64, 128], out_channels=32)
        # lang_dim (64) follows the language model
        m.fusion_neck.update(
            channels=32, attn_cfg=dict(embed_dim=64, num_heads=4),
            text_layer_cfg=dict(num_heads=4, intermediate=128))
        m.bbox_head.update(in_channels=32, feat_channels=32)
    m.test_cfg.score_thr = 0.0
    if edit is not None:
        edit(m)
    torch.manual_seed(seed)
    model = MODELS.build(m)
    _quiet_init_weights(model)
    head = model.bbox_head
    with torch.no_grad():  # a spread of scores and boxes (random heads tie)
        head.log_scale.fill_(-math.log(20.0))
        head.bias0.fill_(-2.0)
        torch.nn.init.normal_(head.centerness.weight, 0, 0.3)
        torch.nn.init.normal_(head.bbox_pred.weight, 0, 0.1)
    return model.eval()
