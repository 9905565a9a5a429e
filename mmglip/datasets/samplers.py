"""The mixture sampler of GLIP pretraining: several datasets, each seen a
chosen number of times per epoch.

GLIP pretrains on a concatenation of detection and grounding sets whose
sizes differ by orders of magnitude, so each set is repeated by its own
factor (the official GLIP-L config: Flickr30k x8, GoldG mixed x4,
Objects365 x2, ...). mmengine's ``RepeatDataset`` repeats by whole numbers
only and ``DefaultSampler`` cannot weight parts of a ``ConcatDataset``, so
this sampler does it: per epoch, dataset ``i`` contributes
``round(weights[i] * len(dataset_i))`` indices - every sample ``floor(w)``
times plus a random ``w - floor(w)`` share of them - and the whole list is
shuffled. The list depends only on the seed and the epoch, and every
process takes its own stride of it as mmengine's ``DefaultSampler`` does,
so a run on N processes sees the same samples per step as a run on one
process with N times the batch.
"""
import math
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmglip.registry import DATA_SAMPLERS
from mmglip.errors import UserError


class MixtureConfigError(UserError, ValueError):
    """A mixture sampler whose weights do not fit its datasets."""


@DATA_SAMPLERS.register_module()
class MixtureSampler(Sampler):
    """Weighted sampling across the datasets of a ``ConcatDataset``.

    Args:
        dataset (ConcatDataset): the mixture (``type='ConcatDataset'``,
            ``datasets=[...]``).
        weights (Sequence[float]): per dataset, in ``datasets`` order, how
            many times it is seen per epoch (1 = once, 8 = eight times,
            0.5 = a random half, drawn anew each epoch). Must be > 0: leave a
            dataset out of the mixture instead of giving it weight 0.
        shuffle (bool): shuffle the epoch's list. Defaults to True.
        seed (int, optional): the same on every process; default: a seed
            shared by all processes (mmengine's ``sync_random_seed``).
        round_up (bool): pad the list so that every process gets as many
            indices (as ``DefaultSampler``). Defaults to True.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 weights: Sequence[float],
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        parts = getattr(dataset, 'datasets', None)
        if parts is None or not hasattr(dataset, 'cumulative_sizes'):
            raise MixtureConfigError(
                'train_dataloader.sampler: MixtureSampler weights the parts '
                f'of a ConcatDataset, but the dataset is a '
                f'{type(dataset).__name__}: use dataset=dict(type='
                '\'ConcatDataset\', datasets=[...]) or the mmdet.'
                'DefaultSampler.')
        weights = list(weights) if isinstance(weights, (list, tuple)) \
            else weights
        if not isinstance(weights, list) or len(weights) != len(parts):
            raise MixtureConfigError(
                f'train_dataloader.sampler.weights={weights!r}: give one '
                f'weight per dataset of the mixture ({len(parts)} datasets: '
                f'{_names(parts)}).')
        for i, w in enumerate(weights):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or \
                    not math.isfinite(w) or w <= 0:
                raise MixtureConfigError(
                    f'train_dataloader.sampler.weights[{i}]={w!r} (dataset '
                    f'{_names(parts)[i]}): a weight must be a number > 0 '
                    '(times the dataset is seen per epoch); to leave a '
                    'dataset out, remove it from the mixture.')
            if len(parts[i]) == 0:
                raise MixtureConfigError(
                    f'train_dataloader.dataset.datasets[{i}] '
                    f'({_names(parts)[i]}) is empty: check its annotation '
                    'file and filter_cfg, or remove it from the mixture.')
        self.dataset = dataset
        self.weights = [float(w) for w in weights]
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        self.epoch_size = sum(
            int(round(w * len(d))) for w, d in zip(self.weights, parts))
        if self.epoch_size == 0:
            raise MixtureConfigError(
                f'train_dataloader.sampler.weights={weights!r} give no '
                'sample per epoch: raise the weights.')
        if round_up:
            self.num_samples = math.ceil(self.epoch_size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil(
                (self.epoch_size - self.rank) / self.world_size)
            self.total_size = self.epoch_size

    def epoch_indices(self, epoch: int) -> List[int]:
        """The whole epoch's indices into the ConcatDataset, before they
        are shared out among processes."""
        g = torch.Generator()
        g.manual_seed(self.seed + epoch)
        out = []
        starts = [0] + list(self.dataset.cumulative_sizes[:-1])
        for w, start, part in zip(self.weights, starts,
                                  self.dataset.datasets):
            n = len(part)
            count = int(round(w * n))
            whole, rest = divmod(count, n)
            local = list(range(n)) * whole
            if rest:
                local += torch.randperm(n, generator=g)[:rest].tolist()
            out.extend(start + i for i in local)
        if self.shuffle:
            order = torch.randperm(len(out), generator=g).tolist()
            out = [out[i] for i in order]
        return out

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices(self.epoch)
        if self.round_up:
            indices = (indices * (self.total_size // len(indices) + 1)
                       )[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Called by ``DistSamplerSeedHook``: a new draw each epoch."""
        self.epoch = epoch


def _names(parts) -> List[str]:
    return [f'{type(d).__name__}({getattr(d, "ann_file", "")})'
            for d in parts]


__all__ = ['MixtureSampler', 'MixtureConfigError']
