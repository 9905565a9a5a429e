"""MixtureSampler: the parts of a ConcatDataset seen by their weights, the
same epoch list on any number of processes, bad weights one-line errors.
The mixture is made of real datasets (the embedded Raccoon task's splits)."""
from collections import Counter

import pytest
from mmengine.dataset import ConcatDataset

from mmglip.datasets import MixtureConfigError, MixtureSampler
from mmglip.datasets import samplers as samplers_module
from mmglip.datasets.odinw import ODinWDataset
from tests.conftest import DEMO_DATA

TASK = dict(name='raccoon_mini', root='raccoon_mini/', classes=('raccoon', ))


def _part(split):
    return ODinWDataset(task=TASK, split=split, data_root=str(DEMO_DATA) + '/',
                        pipeline=[], test_mode=split != 'train')


@pytest.fixture(scope='module')
def mixture():
    return ConcatDataset([_part('train'), _part('val')],
                         ignore_keys=['ann_file'])


def _parts(mixture, indices):
    """(part, local index) of each index."""
    first = len(mixture.datasets[0])
    return [(0, i) if i < first else (1, i - first) for i in indices]


def test_each_part_is_seen_by_its_weight(mixture):
    n0, n1 = (len(d) for d in mixture.datasets)
    sampler = MixtureSampler(mixture, weights=[2, 0.5], seed=3)
    assert len(sampler) == 2 * n0 + round(0.5 * n1)
    parts = _parts(mixture, list(sampler))
    per_part = Counter(p for p, _ in parts)
    assert per_part == {0: 2 * n0, 1: round(0.5 * n1)}
    # weight 2: every sample exactly twice; 0.5: a half without repeats
    assert set(Counter(i for p, i in parts if p == 0).values()) == {2}
    half = [i for p, i in parts if p == 1]
    assert len(set(half)) == len(half)
    # shuffled across parts, not one part after the other
    assert [p for p, _ in parts] != sorted(p for p, _ in parts)


def test_seeded_epochs_repeat_and_differ(mixture):
    a = MixtureSampler(mixture, weights=[1, 0.5], seed=7)
    b = MixtureSampler(mixture, weights=[1, 0.5], seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert sorted(a.epoch_indices(1)) != sorted(a.epoch_indices(0))


def test_processes_share_out_one_epoch_list(mixture, monkeypatch):
    """Two processes take alternate indices of the one-process list, so a
    step of batch 1 on each sees what one process sees at batch 2."""
    whole = MixtureSampler(mixture, weights=[1, 0.5], seed=11)
    single = list(whole)
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr(samplers_module, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        per_rank.append(list(MixtureSampler(mixture, weights=[1, 0.5],
                                            seed=11)))
    assert len(per_rank[0]) == len(per_rank[1]) == (len(single) + 1) // 2
    interleaved = [i for pair in zip(*per_rank) for i in pair]
    assert interleaved[:len(single)] == single


@pytest.mark.parametrize('weights, match', [
    ([1, 0], r'weights\[1\]=0 \(dataset ODinWDataset\(.*valid.*\)\).*> 0'),
    ([1, -2], r'weights\[1\]=-2'),
    ([1, float('nan')], r'weights\[1\]=nan'),
    ([1, '2'], r"weights\[1\]='2'"),
    ([1], r'one weight per dataset of the mixture \(2 datasets'),
    (None, r'weights=None: give one weight per dataset'),
])
def test_bad_weights_are_one_line_errors(mixture, weights, match):
    with pytest.raises(MixtureConfigError, match=match) as err:
        MixtureSampler(mixture, weights=weights, seed=0)
    assert '\n' not in str(err.value)


def test_a_single_dataset_is_refused_with_the_fix(mixture):
    with pytest.raises(MixtureConfigError, match='ConcatDataset'):
        MixtureSampler(mixture.datasets[0], weights=[1], seed=0)
