"""Throughput, compute time and peak memory on the log lines."""
import resource
import sys
import time
from collections import deque
from typing import Optional, Sequence

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from yolo_plugin.registry import HOOKS

MIB = float(1 << 20)


def peak_memory_mib(device: torch.device) -> float:
    """Peak memory in MiB: on a GPU ``torch.cuda.max_memory_allocated``
    (since mmengine's last log line, which resets it); on the CPU the
    process's peak resident set size since it started."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / MIB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / MIB if sys.platform == 'darwin' else peak / 1024


def batch_size_of(data_batch) -> int:
    """Images in a dataloader batch (``inputs``: a list or a stacked tensor)."""
    if isinstance(data_batch, dict) and 'inputs' in data_batch:
        return len(data_batch['inputs'])
    if isinstance(data_batch, Sequence):
        return len(data_batch)
    raise TypeError(f'cannot count the images of a {type(data_batch).__name__} batch')


@HOOKS.register_module()
class ThroughputHook(Hook):
    """Adds to every log line of training:

    - ``imgs_per_sec``: images of all processes a second, over the last
      ``window_size`` iterations (default: the log processor's window);
    - ``compute_time``: seconds an iteration spends outside data loading
      (``time - data_time``, both from ``IterTimerHook``), averaged like them;
    - ``data_share``: the share of the iteration spent waiting for data
      (``data_time / time``), averaged like them;
    - ``peak_mem_mb``: see :func:`peak_memory_mib`.

    A logger warning, at most once an epoch, when data loading takes more
    than ``data_share_warn`` of the step time over ``window_size``
    iterations (the first iteration of each epoch, which starts the
    dataloader's workers, left out): the model waits for data.

    Validation and test add ``imgs_per_sec`` and ``peak_mem_mb`` of the whole
    pass to their summary line.

    Runs after ``IterTimerHook`` (same priority, registered later) and
    before ``LoggerHook``.

    Args:
        window_size: iterations of ``imgs_per_sec`` and of the data wait
            check; default the log processor's window.
        data_share_warn: share of the step time (0 to 1) spent waiting
            for data above which it warns.
    """

    priority = 'NORMAL'

    def __init__(self, window_size: Optional[int] = None,
                 data_share_warn: float = 0.1) -> None:
        if window_size is not None and window_size < 1:
            raise ValueError(f'ThroughputHook: window_size must be >= 1, got {window_size}')
        if not 0 <= data_share_warn <= 1:
            raise ValueError('ThroughputHook: data_share_warn must be in [0, 1], '
                             f'got {data_share_warn}')
        self.window_size = window_size
        self.data_share_warn = data_share_warn
        self._window: deque = deque()
        self._wait_window: deque = deque()
        self._warned = False
        self._eval_images = 0
        self._eval_start = 0.0

    def before_train(self, runner) -> None:
        window = self.window_size
        if window is None:
            window = getattr(runner.log_processor, 'window_size', 10)
            window = window if isinstance(window, int) else 10
        self._window = deque(maxlen=window)
        self._wait_window = deque(maxlen=window)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        hub = runner.message_hub
        iter_time = hub.get_scalar('train/time').current()
        data_time = hub.get_scalar('train/data_time').current()
        self._window.append((batch_size_of(data_batch) * get_world_size(), iter_time))
        images = sum(n for n, _ in self._window)
        seconds = sum(t for _, t in self._window)
        hub.update_scalar('train/imgs_per_sec', images / max(seconds, 1e-9))
        hub.update_scalar('train/compute_time', iter_time - data_time)
        hub.update_scalar('train/data_share', data_time / max(iter_time, 1e-9))
        hub.update_scalar('train/peak_mem_mb', peak_memory_mib(self._device(runner)))
        if batch_idx > 0:
            self._wait_window.append((data_time, iter_time))
            self._check_data_wait(runner)

    def _check_data_wait(self, runner) -> None:
        """Warn, once an epoch, when the data wait over a full window
        exceeds ``data_share_warn`` of the step time."""
        window = self._wait_window
        if self._warned or len(window) < window.maxlen:
            return
        waited = sum(d for d, _ in window)
        seconds = sum(t for _, t in window)
        share = waited / max(seconds, 1e-9)
        if share <= self.data_share_warn:
            return
        self._warned = True
        runner.logger.warning(
            f'ThroughputHook: waiting for data took {share:.0%} of the step time over '
            f'the last {len(window)} iterations ({waited / len(window):.3f} s of '
            f'{seconds / len(window):.3f} s an iteration; warns above '
            f'{self.data_share_warn:.0%}): the model waits for the dataloader. More '
            'train_dataloader.num_workers, a packed cache (tools/pack_dataset.py) or '
            'the fast training pipeline help (docs/training.md, "The training data '
            'pipeline").')

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        if mode == 'train':
            self._wait_window.clear()
            self._warned = False
        else:
            self._eval_images = 0
            self._eval_start = time.perf_counter()

    def _after_iter(self, runner, batch_idx: int, data_batch=None, outputs=None,
                    mode: str = 'train') -> None:
        if mode != 'train':
            self._eval_images += batch_size_of(data_batch) * get_world_size()

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        if mode == 'train':
            return
        seconds = max(time.perf_counter() - self._eval_start, 1e-9)
        hub = runner.message_hub
        hub.update_scalar(f'{mode}/imgs_per_sec', self._eval_images / seconds)
        hub.update_scalar(f'{mode}/peak_mem_mb', peak_memory_mib(self._device(runner)))

    @staticmethod
    def _device(runner) -> torch.device:
        param = next(runner.model.parameters(), None)
        return param.device if param is not None else torch.device('cpu')
