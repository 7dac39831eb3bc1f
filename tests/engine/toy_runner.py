"""A tiny mmengine Runner (a linear regression model, random data) for
testing hooks without building a detector."""
import uuid
from typing import List, Optional

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

NUM_SAMPLES = 16


class ToyData(Dataset):
    """``NUM_SAMPLES`` fixed (input, target) pairs of a linear map."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(NUM_SAMPLES, 4, generator=generator)
        self.targets = self.inputs @ torch.tensor([1., -2., 0.5, 3.])

    def __len__(self) -> int:
        return NUM_SAMPLES

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=self.inputs[index], data_samples=self.targets[index])


class ToyModel(BaseModel):
    """Two loss components; ``loss_b`` becomes NaN from training step
    ``nan_from_step`` (1-based) on, when given."""

    def __init__(self, nan_from_step: Optional[int] = None) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
        self.nan_from_step = nan_from_step
        self.steps = 0

    def forward(self, inputs: List[torch.Tensor], data_samples=None, mode: str = 'tensor'):
        pred = self.linear(torch.stack(inputs)).squeeze(1)
        if mode != 'loss':
            return pred
        self.steps += 1
        target = torch.stack(data_samples)
        loss_b = (pred - target).abs().mean()
        if self.nan_from_step is not None and self.steps >= self.nan_from_step:
            loss_b = loss_b * float('nan')
        return dict(loss_a=(pred - target).square().mean(), loss_b=loss_b)


class ToyMetric(BaseMetric):
    """Mean absolute error of the validation predictions."""
    default_prefix = 'toy'

    def process(self, data_batch, data_samples) -> None:
        targets = torch.stack(data_batch['data_samples'])
        self.results += (torch.stack(list(data_samples)) - targets).abs().tolist()

    def compute_metrics(self, results: list) -> dict:
        return dict(mae=sum(results) / len(results))


def toy_runner(work_dir: str, custom_hooks: list, max_iters: int = 8, lr: float = 0.01,
               nan_from_step: Optional[int] = None, checkpoint_interval: int = 2,
               batch_size: int = 4, with_val: bool = False) -> Runner:
    """An iteration-based Runner on the CPU saving a checkpoint every
    ``checkpoint_interval`` iterations."""
    loader = dict(dataset=ToyData(), batch_size=batch_size, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    val = dict(val_dataloader=loader, val_cfg=dict(),
               val_evaluator=[ToyMetric()]) if with_val else {}
    return Runner(
        model=ToyModel(nan_from_step),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=max_iters if with_val else 10**9),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=checkpoint_interval)),
        custom_hooks=custom_hooks,
        log_processor=dict(window_size=2, by_epoch=False),
        default_scope='yolo_plugin',
        # Unique: runners of one name (by default the second they start) share
        # one MessageHub.
        experiment_name=f'toy-{uuid.uuid4().hex}',
        **val)
