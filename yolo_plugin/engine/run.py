"""Training and testing with mmengine's Runner, as mmdet's tools do."""
import os.path as osp
from typing import Optional

import torch
from mmdet.evaluation import DumpDetResults
from mmengine.config import Config
from mmengine.runner import Runner

from yolo_plugin.registry import RUNNERS
from yolo_plugin.utils.host_memory import keep_freed_memory_for_reuse
from .config_setup import draw_tests_only_when_asked
from .hooks.nan_guard_hook import NonFiniteLossError

RESULT_SUFFIXES = ('.pkl', '.pickle')


def build_runner(cfg: Config) -> Runner:
    """mmengine's Runner, or the config's ``runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_training(cfg: Config) -> Runner:
    """Train as the config says; returns the runner. On the CPU the
    process keeps freed memory for reuse
    (:func:`~yolo_plugin.utils.host_memory.keep_freed_memory_for_reuse`:
    about 10 % faster steps, the resident size staying at its peak).

    Raises:
        NonFiniteLossError: from :class:`NaNGuardHook`, after the logs are
            flushed and closed.
    """
    runner = build_runner(cfg)
    if not torch.cuda.is_available() and keep_freed_memory_for_reuse():
        runner.logger.info('CPU training: freed memory is kept for reuse (no page faults '
                           'on new activations; the resident size stays at its peak)')
    try:
        runner.train()
    except NonFiniteLossError:
        runner.visualizer.close()
        raise
    return runner


def run_testing(cfg: Config, out: Optional[str] = None) -> dict:
    """Test ``cfg.load_from`` on the test split; returns the metrics.
    Predictions are drawn only where asked (:func:`draw_tests_only_when_asked`).

    Args:
        out: also write the predictions to this pickle file (mmdet's
            ``DumpDetResults``: one dict an image).

    Raises:
        ValueError: when ``out`` is not a ``.pkl`` / ``.pickle`` file.
    """
    if out is not None and not out.endswith(RESULT_SUFFIXES):
        raise ValueError(f'--out must name a {" or ".join(RESULT_SUFFIXES)} file, got {out}')
    draw_tests_only_when_asked(cfg)
    runner = build_runner(cfg)
    if out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=osp.abspath(out)))
    return runner.test()
