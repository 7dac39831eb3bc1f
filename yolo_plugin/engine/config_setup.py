"""What the flags of ``tools/train.py`` and ``tools/test.py`` change in a
config, as mmdet's tools do."""
import argparse
import os.path as osp
from typing import List, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from .distributed import prepare_distributed
from .optim_wrappers import cpu_has_native_bfloat16


def load_config(config: str, cfg_options=None) -> Config:
    """The config file with ``--cfg-options`` merged in.

    Raises:
        FileNotFoundError: naming the config when it does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def set_work_dir(cfg: Config, work_dir=None) -> None:
    """``work_dir`` from the flag, else the config's, else
    ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename))[0]
        cfg.work_dir = osp.join('./work_dirs', name)


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


def set_resume(cfg: Config, resume) -> None:
    """``resume='auto'``: the latest checkpoint of the work dir (mmengine's
    ``last_checkpoint`` record); a path: that checkpoint; None: no resume."""
    if resume is None:
        return
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume


def apply_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the flags of ``tools/train.py`` (see :func:`.cli.make_train_parser`)."""
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    set_resume(cfg, args.resume)
    prepare_distributed(cfg)
    return cfg


def tta_pipeline_from_test(pipeline: Sequence[dict],
                           scale_ratios: Sequence[float]) -> List[dict]:
    """A multi-scale + flip test-time pipeline from a test pipeline: the
    steps before its first ``Resize``, then ``TestTimeAug`` over that resize
    at each ratio times its scale, with and without a horizontal flip,
    followed by the test pipeline's remaining steps.

    Raises:
        ValueError: when the pipeline has no ``Resize`` with a ``scale``.
    """
    resizes = [i for i, step in enumerate(pipeline)
               if step['type'].endswith('Resize') and 'scale' in step]
    if not resizes:
        raise ValueError('--tta: the test pipeline has no Resize step with a scale: '
                         f'{[step["type"] for step in pipeline]}')
    index = resizes[0]
    resize = pipeline[index]
    width, height = resize['scale']
    scales = [dict(resize, scale=(round(width * r), round(height * r))) for r in scale_ratios]
    flips = [dict(type='RandomFlip', prob=1.0), dict(type='RandomFlip', prob=0.0)]
    rest = [[dict(step)] for step in pipeline[index + 1:]]
    return [*map(dict, pipeline[:index]),
            dict(type='TestTimeAug', transforms=[scales, flips, *rest])]


def enable_tta(cfg: Config) -> None:
    """Test with the config's ``tta_model`` (mmdet ``DetTTAModel``) around
    the model, on the config's ``tta_pipeline``, or when it has none on
    :func:`tta_pipeline_from_test` of its test pipeline with its
    ``tta_scale_ratios``.

    Raises:
        KeyError: when the config defines no ``tta_model``, or neither a
            ``tta_pipeline`` nor ``tta_scale_ratios``.
    """
    if not cfg.get('tta_model'):
        raise KeyError(f'{cfg.filename}: --tta needs tta_model in the config')
    dataset_cfg = cfg.test_dataloader.dataset
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    if not cfg.get('tta_pipeline'):
        if not cfg.get('tta_scale_ratios'):
            raise KeyError(f'{cfg.filename}: --tta needs tta_pipeline or tta_scale_ratios '
                           'in the config')
        cfg.tta_pipeline = tta_pipeline_from_test(dataset_cfg.pipeline, cfg.tta_scale_ratios)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset_cfg.pipeline = cfg.tta_pipeline


def show_predictions(cfg: Config, show_dir: str) -> None:
    """Draw every test image's predictions into ``work_dir/<timestamp>/show_dir``
    (mmdet's ``DetVisualizationHook``)."""
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if 'visualization' not in hooks:
        raise KeyError(f'{cfg.filename}: --show-dir needs default_hooks.visualization '
                       "(type='DetVisualizationHook')")
    hooks.visualization.draw = True
    hooks.visualization.test_out_dir = show_dir


def draw_tests_only_when_asked(cfg: Config) -> None:
    """Our runtime config sets the visualization hook's ``draw`` for
    validation, but in a test mmdet's hook then draws every image (about
    0.2 s each); tests draw only into ``--show-dir`` (``test_out_dir``) or
    with ``show``."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is not None:
        hook.draw = bool(hook.get('test_out_dir') or hook.get('show'))


def apply_test_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the flags of ``tools/test.py`` (see :func:`.cli.make_test_parser`)."""
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        show_predictions(cfg, args.show_dir)
    if args.tta:
        enable_tta(cfg)
    prepare_distributed(cfg)
    return cfg
