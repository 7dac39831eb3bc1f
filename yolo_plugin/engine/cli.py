"""Command lines of ``tools/train.py`` and ``tools/test.py`` (mmdet's flags)."""
import argparse
import os
from typing import List, Optional

from mmengine.config import DictAction

from yolo_plugin.utils.config_check import ConfigError, check_config
from .config_setup import apply_test_args, apply_train_args, load_config
from .distributed import LAUNCHERS
from .hooks.nan_guard_hook import NonFiniteLossError
from .run import run_testing, run_training

CFG_OPTIONS_HELP = ('override config keys, e.g. train_cfg.max_epochs=10 '
                    'optim_wrapper.optimizer.lr=0.01 (key=value pairs; lists as '
                    'key="[a,b]")')


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='folder of logs and checkpoints '
                        '(default: the config\'s work_dir, else ./work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='pytorch: started by torchrun (gloo on CPUs, nccl on GPUs)')
    # torch.distributed.launch passes --local-rank (older: --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def make_train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision training (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint; without a value from '
                        'the latest checkpoint of the work dir')
    _add_common_arguments(parser)
    return parser


def make_test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the predictions to this .pkl file')
    parser.add_argument('--show-dir', help='draw the predictions of every test image '
                        'into work_dir/<timestamp>/SHOW_DIR')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model and tta_pipeline")
    _add_common_arguments(parser)
    return parser


def _set_local_rank(args: argparse.Namespace) -> None:
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def checked(cfg, data_splits):
    """``cfg`` after :func:`check_config`; exits with the listed problems
    (status 1) before anything is built."""
    try:
        check_config(cfg, data_splits)
    except ConfigError as error:
        raise SystemExit(str(error)) from error
    return cfg


def main_train(argv: Optional[List[str]] = None) -> None:
    """``tools/train.py``. Exits with a message (status 1) on a config error
    or when the NaN guard stops training."""
    args = make_train_parser().parse_args(argv)
    _set_local_rank(args)
    cfg = apply_train_args(load_config(args.config, args.cfg_options), args)
    checked(cfg, ('train', 'val') if cfg.get('val_dataloader') else ('train', ))
    try:
        run_training(cfg)
    except NonFiniteLossError as error:
        raise SystemExit(f'Training stopped: {error}') from error


def main_test(argv: Optional[List[str]] = None) -> dict:
    """``tools/test.py``; returns the metrics."""
    args = make_test_parser().parse_args(argv)
    _set_local_rank(args)
    cfg = apply_test_args(load_config(args.config, args.cfg_options), args)
    checked(cfg, ('test', ))
    return run_testing(cfg, out=args.out)
