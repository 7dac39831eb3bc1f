"""A training loop that resumes exactly in the middle of an epoch.

mmengine's ``EpochBasedTrainLoop`` restarts an epoch from its first batch
when it resumes from a checkpoint saved in mid-epoch (``CheckpointHook``
with ``by_epoch=False``), so the batches already trained on are seen twice,
and the random draws of the data augmentation differ from those of the run
that was interrupted. :class:`ResumableEpochBasedTrainLoop` fixes both:

- it skips the batches of the current epoch that the checkpoint has
  already trained on, by index, without loading them;
- before each batch is fetched it seeds Python's ``random``, numpy and
  torch from (the run's seed, the global iteration, the rank), so the random
  state of every iteration is a function of where training stands and not
  of what ran before (validation, a restart).

Together with what mmengine already restores (model, optimizer, parameter
schedulers, EMA, message hub, epoch and iteration), a run killed at any
point and resumed with ``--resume`` computes the same losses as one that was
never interrupted. Exact with ``num_workers=0``; with worker processes the
data order is exact but the workers' augmentation draws restart from their
initial seeds, as in mmengine.
"""
import contextlib
import random
from typing import Iterator, List

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from ..registry import LOOPS


class _BatchesAfter:
    """A batch sampler that drops the first ``num_skipped`` batches of
    ``batch_sampler``. Only indices are drawn; no sample is loaded."""

    def __init__(self, batch_sampler, num_skipped: int) -> None:
        self.batch_sampler = batch_sampler
        self.num_skipped = num_skipped

    def __iter__(self) -> Iterator[List[int]]:
        for position, batch in enumerate(self.batch_sampler):
            if position >= self.num_skipped:
                yield batch

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.num_skipped, 0)


@contextlib.contextmanager
def _skipping_batches(dataloader: DataLoader, num_skipped: int):
    """Within the block, ``iter(dataloader)`` starts after ``num_skipped``
    batches. The iterator keeps its batch sampler after the block; the
    loader itself gets its own back."""
    if num_skipped == 0:
        yield
        return
    original = dataloader.batch_sampler
    # DataLoader forbids setting batch_sampler after construction.
    object.__setattr__(dataloader, 'batch_sampler', _BatchesAfter(original, num_skipped))
    try:
        yield
    finally:
        object.__setattr__(dataloader, 'batch_sampler', original)


def seed_everything_for(seed: int, iteration: int, rank: int) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) from the triple
    ``(seed, iteration, rank)``, mixed by numpy's ``SeedSequence`` so that
    neighbouring iterations get unrelated streams."""
    state = np.random.SeedSequence([seed, iteration, rank]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed((int(state[0]) << 32) | int(state[1]))


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that continues a mid-epoch checkpoint at the
    next batch, with the random state the uninterrupted run had there.

    It takes the arguments of ``EpochBasedTrainLoop``; ``train_cfg =
    dict(type='ResumableEpochBasedTrainLoop', ...)`` selects it.
    """

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
        with _skipping_batches(self.dataloader, first_batch):
            batches = iter(self.dataloader)
        seed = self.runner.seed if self.runner.seed is not None else 0
        rank = get_rank()
        for batch_idx in range(first_batch, num_batches):
            seed_everything_for(seed, self._iter, rank)
            self.run_iter(batch_idx, next(batches))
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
