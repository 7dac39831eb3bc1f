"""Training from a config: what the flags of ``tools/train.py`` change in
it (mmdet's flags), and the run."""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from yolo_plugin.engine import NonFiniteLossError, cpu_has_native_bfloat16, prepare_distributed
from yolo_plugin.utils.host_memory import keep_freed_memory_for_reuse
from .runner import set_work_dir


def enable_amp(cfg: Config) -> None:
    """Mixed precision: on a GPU mmengine's ``AmpOptimWrapper`` (float16,
    dynamic loss scale); on a CPU with native bfloat16 our
    :class:`BFloat16OptimWrapper`.

    Raises:
        ValueError: on a CPU without native bfloat16, where it would be
            emulated and slower than fp32.
    """
    if cfg.optim_wrapper.get('type') in ('AmpOptimWrapper', 'BFloat16OptimWrapper'):
        print_log('Mixed-precision training is already enabled in the config.',
                  logger='current')
        return
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    elif cpu_has_native_bfloat16():
        cfg.optim_wrapper.type = 'BFloat16OptimWrapper'
    else:
        raise ValueError('--amp needs a CUDA GPU, or a CPU with native bfloat16 '
                         '(avx512_bf16 or AMX); this CPU would emulate it, slower '
                         'than fp32: train without --amp')


def enable_auto_scale_lr(cfg: Config) -> None:
    """Scale the learning rate by total batch / ``auto_scale_lr.base_batch_size``.

    Raises:
        KeyError: when the config has no ``auto_scale_lr`` with
            ``base_batch_size``.
    """
    scale_cfg = cfg.get('auto_scale_lr')
    if not scale_cfg or 'base_batch_size' not in scale_cfg:
        raise KeyError(f'{cfg.filename}: --auto-scale-lr needs auto_scale_lr = dict('
                       'enable=False, base_batch_size=N) in the config')
    scale_cfg.enable = True


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``resume='auto'``: the latest checkpoint of the work dir (mmengine's
    ``last_checkpoint`` record); a path: that checkpoint; None: no resume."""
    if resume is None:
        return
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume


def setup_training(cfg: Config,
                   work_dir: Optional[str] = None,
                   amp: bool = False,
                   auto_scale_lr: bool = False,
                   resume: Optional[str] = None,
                   launcher: str = 'none') -> Config:
    """Ready ``cfg`` for training, as the flags of mmdet's ``tools/train.py``
    do: ``work_dir`` (:func:`set_work_dir`), mixed precision
    (:func:`enable_amp`), learning-rate scaling
    (:func:`enable_auto_scale_lr`), ``resume`` (:func:`set_resume`) and
    the ``launcher`` (``'none'`` or ``'pytorch'``: torchrun, see
    :func:`prepare_distributed`). Returns ``cfg``, changed in place."""
    cfg.launcher = launcher
    set_work_dir(cfg, work_dir)
    if amp:
        enable_amp(cfg)
    if auto_scale_lr:
        enable_auto_scale_lr(cfg)
    set_resume(cfg, resume)
    prepare_distributed(cfg)
    return cfg


def run_training(runner: Runner) -> Runner:
    """``runner.train()``; returns the runner. On the CPU the process keeps
    freed memory for reuse from then on
    (:func:`~yolo_plugin.utils.host_memory.keep_freed_memory_for_reuse`:
    about 10 % faster steps, the resident size staying at its peak).

    Raises:
        NonFiniteLossError: from :class:`NaNGuardHook`, after the logs are
            flushed and closed.
    """
    if not torch.cuda.is_available() and keep_freed_memory_for_reuse():
        runner.logger.info('CPU training: freed memory is kept for reuse (no page faults '
                           'on new activations; the resident size stays at its peak)')
    try:
        runner.train()
    except NonFiniteLossError:
        runner.visualizer.close()
        raise
    return runner
