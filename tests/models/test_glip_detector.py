"""The GLIP detector end to end on glip-lite (real pretrained parts, real
images): batches, prompts, chunking, label names."""
import pytest
import torch
from mmengine.config import Config

from mmglip.apis import inference, init_model, list_images
from mmglip.text import PromptError

from ..conftest import DEMO_DATA, REPO

CONFIG = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = init_model(CONFIG)
    m.bbox_head.test_cfg['score_thr'] = 0.0
    return m


def test_batch_of_two_matches_one_by_one(model):
    # one image twice: no padding difference, so results must agree
    image = list_images(str(DEMO_DATA / 'raccoon_mini/valid'))[0]
    batched = inference(model, [image, image], 'raccoon. trash can',
                        batch_size=2)
    single = inference(model, [image], 'raccoon. trash can')[0]
    for b in batched:
        assert len(b.pred_instances) > 0
        assert torch.allclose(b.pred_instances.scores,
                              single.pred_instances.scores, atol=1e-5)
        assert torch.allclose(b.pred_instances.bboxes,
                              single.pred_instances.bboxes, atol=1e-3)
        # score_thr 0: the top 100 hold both entities of the prompt
        assert set(b.pred_instances.label_names) == {'raccoon', 'trash can'}
    # images of different sizes batch too (padded to the largest)
    images = list_images(str(DEMO_DATA / 'raccoon_mini/valid'))[:3]
    out = inference(model, images, 'raccoon', batch_size=3)
    assert [o.img_path for o in out] == images
    assert all(len(o.pred_instances) > 0 for o in out)


def test_chunked_class_list_keeps_global_labels(model):
    image = list_images(str(DEMO_DATA / 'raccoon_mini/valid'))[:1]
    names = [f'thing {i}' for i in range(100)] + ['raccoon']
    model.chunk_size = 40
    try:
        res = inference(model, image, names)[0].pred_instances
    finally:
        model.chunk_size = None
    # every chunk's detections, each chunk capped at max_per_img (100)
    assert 100 < len(res) <= 300
    assert {int(lbl) // 40 for lbl in res.labels} == {0, 1, 2}
    assert res.labels.max() <= 100
    assert all(names[int(lbl)] == n
               for lbl, n in zip(res.labels, res.label_names))
    assert res.scores.tolist() == sorted(res.scores.tolist(), reverse=True)


def test_caption_prompt_with_spans(model):
    from mmdet.structures import DetDataSample
    from mmglip.apis.inference import test_pipeline
    from mmengine.dataset import pseudo_collate
    image = list_images(str(DEMO_DATA / 'raccoon_mini/valid'))[0]
    caption = 'a raccoon sits next to a trash can'
    data = test_pipeline(model.cfg)(
        dict(img_path=image, img_id=0, text=caption,
             tokens_positive=[[[2, 9]], [[25, 34]]]))
    out = model.test_step(pseudo_collate([data]))[0]
    # score_thr 0: detections of both spans, named by their caption text
    assert len(out.pred_instances) > 0
    assert set(out.pred_instances.label_names) == {'raccoon', 'trash can'}
    assert isinstance(out, DetDataSample)


def test_widths_follow_the_language_model(model):
    assert model.language_model.language_dim == 384
    assert model.bbox_head.lang_dim == 384
    assert model.bbox_head.bias_lang.shape == (384, )
    assert model.fusion_neck.blocks[0].cross_attn.gamma_l.shape == (384, )


def test_empty_prompt_is_an_error(model):
    image = list_images(str(DEMO_DATA / 'raccoon_mini/valid'))[:1]
    with pytest.raises(PromptError, match='empty'):
        inference(model, image, ' . ')


def test_all_variant_configs_build_the_right_towers():
    import mmglip
    from mmglip.apis import MODEL_NAMES, resolve_config
    mmglip.register_all_modules()
    expect = {'glip-t_a': (False, 6, 96), 'glip-t_b': (True, 6, 96),
              'glip-t_c': (True, 6, 96), 'glip-t': (True, 6, 96),
              'glip-l': (True, 8, 192)}
    for name, (fuse, blocks, embed) in expect.items():
        for kind in ('zeroshot', 'finetune'):
            path = resolve_config(name).replace('zeroshot', kind)
            cfg = Config.fromfile(path)
            assert cfg.model.fusion_neck.early_fuse == fuse, path
            # the head reads what the neck hands on; widths are derived
            assert 'early_fuse' not in cfg.model.bbox_head, path
            assert 'lang_dim' not in cfg.model.bbox_head, path
            assert 'lang_dim' not in cfg.model.fusion_neck, path
            assert cfg.model.fusion_neck.num_blocks == blocks, path
            assert cfg.model.backbone.embed_dims == embed, path
            if kind == 'finetune':
                assert cfg.train_cfg.max_epochs == 24
                assert cfg.optim_wrapper.optimizer.lr == 1e-5
    assert set(MODEL_NAMES) == set(expect)
