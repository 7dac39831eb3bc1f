"""A training loop that resumes exactly, in the middle of an epoch too.

mmengine's ``EpochBasedTrainLoop`` restarts an epoch from its first batch
when it resumes from a checkpoint saved in mid-epoch (``CheckpointHook``
with ``by_epoch=False``), so the batches already trained on are seen twice;
and the random draws of the data augmentation come from global random
states (of the main process or of each worker) that a restart resets, so
they differ from those of the run that was interrupted.
:class:`ResumableEpochBasedTrainLoop` fixes both:

- it skips the batches of the current epoch that the checkpoint has
  already trained on, by index, without loading them;
- every sample is loaded with Python's ``random``, numpy and torch seeded
  from (the run's seed, the epoch, the sample's index), in whichever
  process loads it, so its augmentation is a function of where training
  stands, independent of the number of workers, of what ran before
  (validation, a restart) and of which worker loads it;
- before each iteration the main process is seeded likewise from (the
  run's seed, the iteration, the rank), for any random draw in the model.

Together with what mmengine already restores (model, optimizer, parameter
schedulers, EMA, message hub, epoch and iteration), a run killed at any
point and resumed with ``--resume`` computes the same losses as one that was
never interrupted.
"""
import random
from typing import Iterator, List

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import Dataset

from ..registry import LOOPS


def seed_everything_from(*entropy: int) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) from the integers
    ``entropy``, mixed by numpy's ``SeedSequence`` so that neighbouring
    tuples get unrelated streams."""
    state = np.random.SeedSequence(list(entropy)).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed((int(state[0]) << 32) | int(state[1]))


class SeededSamples(Dataset):
    """``dataset`` whose samples are asked for as ``epoch * len(dataset) +
    index``: each is loaded after seeding from ``(seed, epoch, index)``.
    Other attributes (``metainfo``, ``pipeline``, ...) are read from and
    written to the wrapped dataset."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int):
        epoch, index = divmod(key, len(self.dataset))
        seed_everything_from(self.seed, epoch, index)
        return self.dataset[index]

    def __getattr__(self, name: str):
        if name == 'dataset':  # not set yet (unpickling in a worker)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __setattr__(self, name: str, value) -> None:
        # Hooks that switch e.g. the pipeline mean the wrapped dataset's.
        if name in ('dataset', 'seed'):
            object.__setattr__(self, name, value)
        else:
            setattr(self.dataset, name, value)


class EpochBatches:
    """The batches of ``batch_sampler`` as keys of :class:`SeededSamples`
    for epoch ``epoch``, after dropping the first ``num_skipped`` (only
    indices are drawn; no sample is loaded). The loop sets both before each
    epoch's ``iter(dataloader)``: a persistent-workers iterator keeps this
    object and iterates it anew every epoch. Its length stays the full
    epoch's, as progress logs count it; other attributes (``sampler``, which
    ``DistSamplerSeedHook`` sets the epoch of) are ``batch_sampler``'s."""

    def __init__(self, batch_sampler, dataset_len: int) -> None:
        self.batch_sampler = batch_sampler
        self.dataset_len = dataset_len
        self.epoch = 0
        self.num_skipped = 0

    def __iter__(self) -> Iterator[List[int]]:
        offset = self.epoch * self.dataset_len
        for position, batch in enumerate(self.batch_sampler):
            if position >= self.num_skipped:
                yield [offset + index for index in batch]

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __getattr__(self, name: str):
        if name == 'batch_sampler':  # not set yet (unpickling in a worker)
            raise AttributeError(name)
        return getattr(self.batch_sampler, name)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` whose random draws depend only on the seed
    and where training stands, and which continues a mid-epoch checkpoint
    at the next batch.

    It takes the arguments of ``EpochBasedTrainLoop``; ``train_cfg =
    dict(type='ResumableEpochBasedTrainLoop', ...)`` selects it. The train
    dataloader needs a batch sampler (any ``batch_size``).
    """

    def __init__(self, runner, dataloader, *args, **kwargs) -> None:
        super().__init__(runner, dataloader, *args, **kwargs)
        if self.dataloader.batch_sampler is None:
            raise ValueError('ResumableEpochBasedTrainLoop needs batches: give the '
                             'train_dataloader a batch_size or a batch_sampler')
        self.seed = runner.seed if runner.seed is not None else 0
        # Before any iterator exists, so that worker processes get them.
        # (DataLoader forbids setting these attributes after construction.)
        dataset = self.dataloader.dataset
        self.batches = EpochBatches(self.dataloader.batch_sampler, len(dataset))
        object.__setattr__(self.dataloader, 'batch_sampler', self.batches)
        object.__setattr__(self.dataloader, 'dataset', SeededSamples(dataset, self.seed))

    def run_epoch(self) -> None:
        """Iterate the rest of the current epoch: all of it, or after a
        mid-epoch resume, the batches the checkpoint has not trained on."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        num_batches = len(self.dataloader)
        first_batch = self._iter - self._epoch * num_batches
        # == num_batches: saved after the epoch's last batch, before the
        # epoch's end hooks (validation, epoch checkpoint) ran.
        if not 0 <= first_batch <= num_batches:
            raise RuntimeError(
                f'iteration {self._iter} is not inside epoch {self._epoch} of '
                f'{num_batches} batches: was the checkpoint saved with a different '
                'batch size or data set?')
        self.batches.epoch, self.batches.num_skipped = self._epoch, first_batch
        data_batches = iter(self.dataloader)
        rank = get_rank()
        for batch_idx in range(first_batch, num_batches):
            seed_everything_from(self.seed, self._iter, rank)
            self.run_iter(batch_idx, next(data_batches))
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
