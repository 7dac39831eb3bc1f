"""Stops training at the first non-finite loss, before anything saves the
broken weights."""
import math
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint

from yolo_plugin.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """Training met a NaN or Inf loss (or weights); raised by
    :class:`NaNGuardHook` after logging the reason."""


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Checks every loss component after each training iteration; at the
    first NaN or Inf it logs which iteration and which components, names the
    last good checkpoint and raises :class:`NonFiniteLossError`.

    It runs before the hooks that would keep the step's weights (EMA,
    checkpoints; give it a higher priority than theirs), so no checkpoint of
    the broken model is ever written: the last one saved stays the latest.
    As a second line, :meth:`before_save_checkpoint` refuses to save weights
    holding NaN or Inf (weights can break in a step whose loss was still
    finite).

    In distributed training every process learns of a non-finite loss on any
    of them (one small all-reduce an iteration), so all stop together.

    The values checked are the ``loss*`` entries of the iteration's outputs,
    which mmengine's RuntimeInfoHook has already read to the host for
    logging, so the check waits for nothing new on a GPU.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        if not outputs:
            return
        names = [name for name in outputs if 'loss' in name]
        values = {name: float(torch.as_tensor(outputs[name]).detach()) for name in names}
        bad = torch.tensor([not math.isfinite(v) for v in values.values()],
                           dtype=torch.float32)
        if is_distributed():
            all_reduce(bad, op='max')  # a component bad on any process
        if not bad.any():
            return
        bad_names = [name for name, flag in zip(names, bad.tolist()) if flag]
        # The total only repeats its components; name it alone if it is all.
        components = [name for name in bad_names if name != 'loss'] or bad_names
        shown = ', '.join(f'{name}={values[name]:.4g}' for name in components)
        dataloader_len = len(runner.train_dataloader)
        where = ' (values of this process)' if is_distributed() else ''
        message = (f'Non-finite loss at iteration {runner.iter + 1} (epoch '
                   f'{runner.epoch + 1}, batch {batch_idx + 1}/{dataloader_len}): '
                   f'{shown}{where}. ')
        self._stop(runner, message)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        broken = self._non_finite_tensors(checkpoint.get('state_dict', {}))
        if not broken:
            return
        listed = ', '.join(broken[:5]) + (f' and {len(broken) - 5} more' if len(broken) > 5 else '')
        meta = checkpoint.get('meta', {})
        message = (f'Weights hold NaN or Inf at iteration {meta.get("iter")} (epoch '
                   f'{meta.get("epoch")}): {listed}. This checkpoint is not written. ')
        self._stop(runner, message)

    @staticmethod
    def _non_finite_tensors(state_dict: dict) -> List[str]:
        return [name for name, value in state_dict.items()
                if torch.is_tensor(value) and value.is_floating_point()
                and not torch.isfinite(value).all()]

    @staticmethod
    def _stop(runner, message: str) -> None:
        good = find_latest_checkpoint(runner.work_dir)
        if good:
            message += (f'Training stopped; the last good checkpoint is {good} '
                        '(resume from it with --resume, e.g. with a lower learning rate).')
        else:
            message += 'Training stopped; no checkpoint had been saved yet.'
        runner.logger.error(message)
        raise NonFiniteLossError(message)
