"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] [--amp]
[--auto-scale-lr] [--resume [CKPT]] [--cfg-options k=v ...] [--launcher pytorch]``
(see docs/training.md)."""
import argparse
import os

from yolo_plugin.apis import (ConfigError, build_runner, check_config, load_config, run_training,
                              setup_training)
from yolo_plugin.cli_args import add_runner_arguments
from yolo_plugin.engine import NonFiniteLossError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision training (a GPU, or a CPU with native bfloat16)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint; without a value from '
                        'the latest checkpoint of the work dir')
    add_runner_arguments(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> None:
    """Exits with a message (status 1) on a config error or when the NaN
    guard stops training."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    setup_training(cfg, work_dir=args.work_dir, amp=args.amp, auto_scale_lr=args.auto_scale_lr,
                   resume=args.resume, launcher=args.launcher)
    try:
        check_config(cfg, ('train', 'val') if cfg.get('val_dataloader') else ('train', ))
    except ConfigError as error:
        raise SystemExit(str(error)) from error
    runner = build_runner(cfg)
    try:
        run_training(runner)
    except NonFiniteLossError as error:
        raise SystemExit(f'Training stopped: {error}') from error


if __name__ == '__main__':
    main()
