"""The closed-set DyHead baselines (configs/dyhead/): GLIP-T (A)'s visual
weights load exactly, other GLIP variants and tuning modes are refused in
one line, dyhead-lite trains on the shipped Aquarium data."""
import copy

import pytest
import torch
from mmengine.config import Config

from mmglip.apis.inference import _quiet_init_weights
from mmglip.errors import UserError
from mmglip.models.detectors import load_glip_weights
from mmglip.registry import MODELS
from ..weights.official_inverse import mmglip_to_official
from ..conftest import REPO
from ..datasets.conftest import aquarium_odinw  # noqa: F401 (fixture)
from .tiny_glip import build_tiny_glip

GLIP_T_A = 'configs/glip/glip_swin-t_a_zeroshot_coco.py'
GLIP_T_C = 'configs/glip/glip_swin-t_c_zeroshot_coco.py'


def _tiny_dyhead_t(seed=1, edit=None):
    """dyhead-t shrunk as tiny_glip shrinks GLIP-T (16-wide Swin, 32
    channels), seeded."""
    m = Config.fromfile(str(REPO / 'configs/_base_/models/dyhead_swin-t.py'))
    m = m.model
    m.backbone.update(embed_dims=16, depths=[1, 1, 2, 1],
                      num_heads=[1, 2, 2, 4])
    m.neck.update(in_channels=[32, 64, 128], out_channels=32)
    m.dyhead.update(channels=32)
    m.bbox_head.update(in_channels=32, feat_channels=32, num_classes=3)
    if edit:
        edit(m)
    torch.manual_seed(seed)
    model = MODELS.build(m)
    _quiet_init_weights(model)
    return model.eval()


@pytest.fixture(scope='module')
def glip_a(tiny_bert):
    return build_tiny_glip(GLIP_T_A, tiny_bert, seed=0)


@pytest.fixture(scope='module')
def official_a(glip_a, tmp_path_factory):
    """A GLIP-T (A)-layout file (official keys, full-file form)."""
    path = tmp_path_factory.mktemp('a') / 'glip_a_tiny.pth'
    torch.save(dict(model=mmglip_to_official(glip_a.state_dict(), False),
                    iteration=7), path)
    return path


def _same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _check_visual_weights(model, glip, cls_before):
    _same(model.backbone.state_dict(), glip.backbone.state_dict())
    _same(model.neck.state_dict(), glip.neck.state_dict())
    for mine, theirs in zip(model.dyhead.blocks, glip.fusion_neck.blocks):
        _same(mine.state_dict(), theirs.dyhead.state_dict())
    head, vl = model.bbox_head, glip.bbox_head
    _same(head.atss_reg.state_dict(), vl.bbox_pred.state_dict())
    _same(head.atss_centerness.state_dict(), vl.centerness.state_dict())
    _same(head.scales.state_dict(), vl.scales.state_dict())
    # the classifier keeps its initialisation
    _same(head.atss_cls.state_dict(), cls_before)
    # the same visual tower: GLIP-T (A)'s text-free levels, exactly
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        ours = model.extract_feat(x)
        theirs = glip.fusion_neck.forward_visual(glip.extract_feat(x))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_dyhead_t_loads_glip_t_a_visual_weights_exactly(glip_a, official_a):
    model = _tiny_dyhead_t()
    cls_before = copy.deepcopy(model.bbox_head.atss_cls.state_dict())
    report = load_glip_weights(model, str(official_a))
    _check_visual_weights(model, glip_a, cls_before)
    # every key accounted for: each model weight loaded or fresh with a
    # reason, each GLIP weight loaded or unused with a reason
    assert set(report.loaded) | set(report.fresh) == set(model.state_dict())
    assert set(report.fresh) == {'bbox_head.atss_cls.weight',
                                 'bbox_head.atss_cls.bias'}
    assert all('classifier' in r for r in report.fresh.values())
    assert set(report.loaded.values()) | set(report.unused) == set(
        glip_a.state_dict())
    assert {k.split('.')[0] for k in report.unused} == {
        'language_model', 'bbox_head'}
    assert all(report.unused.values())
    text = str(report)
    assert f'{len(report.loaded)} visual weights loaded' in text
    assert 'fresh (2): bbox_head.atss_cls.weight' in text


def test_load_from_takes_the_glip_file_as_it_is(glip_a, official_a):
    """mmengine's loader (``load_from=``, the benchmark's --weights) hands
    the official file (converted at the door, mmglip.weights.schemes) to
    load_state_dict: the pre-hook maps its visual weights."""
    from mmengine.runner.checkpoint import load_checkpoint
    model = _tiny_dyhead_t(seed=2)
    cls_before = copy.deepcopy(model.bbox_head.atss_cls.state_dict())
    load_checkpoint(model, str(official_a), map_location='cpu',
                    logger='silent')
    _check_visual_weights(model, glip_a, cls_before)
    assert model.visual_weights_report.fresh
    # the detector's own checkpoint loads as it is
    again = _tiny_dyhead_t(seed=3)
    again.load_state_dict(model.state_dict())
    _same(again.state_dict(), model.state_dict())


def test_another_glip_variant_is_one_line_naming_both(tiny_bert, tmp_path):
    glip_c = build_tiny_glip(GLIP_T_C, tiny_bert, seed=0)
    path = tmp_path / 'glip_c_tiny.pth'
    torch.save(dict(model=mmglip_to_official(glip_c.state_dict(), True)),
               path)
    model = _tiny_dyhead_t()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(UserError) as err:
        load_glip_weights(model, str(path))
    msg = str(err.value)
    assert '\n' not in msg
    assert '6 fusion blocks' in msg and 'GLIP-T (A)' in msg
    assert 'dyhead-t' in msg and '6 DyHead blocks, no fusion' in msg
    _same(model.state_dict(), before)  # nothing loaded


def test_shape_of_another_variant_is_named(glip_a, tmp_path):
    """GLIP-T (A) layout but a wider backbone than the model's."""
    model = _tiny_dyhead_t(edit=lambda m: m.backbone.update(embed_dims=32))
    with pytest.raises(UserError, match=r'backbone\..* is \(16, .*is '
                       r'\(32, .*another GLIP variant than GLIP-T \(A\)'):
        load_glip_weights(model, glip_a.state_dict())


@pytest.mark.parametrize('mode', ['prompt', 'linear'])
def test_closed_set_tuning_modes_are_refused(mode):
    with pytest.raises(UserError, match=rf"tuning_mode='{mode}': dyhead-t "
                       r'is a closed-set .* supports full tuning only'):
        _tiny_dyhead_t(edit=lambda m: m.update(tuning_mode=mode))


def _truncated(src, dst, num):
    """A copy of an ODinW-layout task with the first ``num`` images of
    each split (and their boxes), the images linked."""
    import json
    name = 'annotations_without_background.json'
    for split in ('train', 'valid', 'test'):
        coco = json.loads((src / split / name).read_text())
        coco['images'] = coco['images'][:num]
        ids = {i['id'] for i in coco['images']}
        coco['annotations'] = [a for a in coco['annotations']
                               if a['image_id'] in ids]
        (dst / split).mkdir(parents=True)
        (dst / split / name).write_text(json.dumps(coco))
        for image in coco['images']:
            (dst / split / image['file_name']).symlink_to(
                (src / split / image['file_name']).resolve())
    return dst


def test_dyhead_lite_trains_on_aquarium_and_is_scored_by_the_metric(
        aquarium_odinw, tmp_path):  # noqa: F811
    """Two iterations on the shipped Aquarium data (converted to the ODinW
    layout; 12 images of each split), then COCO AP on its val images by the
    task's metric, the one GLIP's runs use."""
    from mmengine.runner import Runner
    dst = _truncated(aquarium_odinw[0], tmp_path / 'data' / 'Aquarium', 12)
    cfg = Config.fromfile(
        str(REPO / 'configs/dyhead/dyhead-lite_raccoon-mini.py'))
    task_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/odinw/aquarium.py'))
    classes = task_cfg.task['classes']
    task = dict(name='Aquarium', root=dst.name + '/', classes=classes)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(task=task, data_root=str(dst.parent) + '/')
    cfg.train_dataloader.batch_size = 2
    cfg.model.bbox_head.num_classes = len(classes)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=100)
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    head = runner.model.bbox_head
    assert head.cls_out_channels == len(classes)
    cls_before = head.atss_cls.weight.detach().clone()
    runner.train()
    assert not torch.equal(cls_before, head.atss_cls.weight.detach())
    metrics = runner.val_loop.run()
    assert runner.val_evaluator.metrics[0].__class__.__name__ == \
        task_cfg.val_evaluator.type.split('.')[-1]
    ap = [v for k, v in metrics.items() if k.endswith('bbox_mAP')]
    assert len(ap) == 1 and 0.0 <= ap[0] <= 1.0
