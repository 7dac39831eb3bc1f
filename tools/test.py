"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out results.pkl]
[--show-dir DIR] [--tta] [--work-dir DIR] [--cfg-options k=v ...]
[--launcher pytorch]`` (see docs/training.md); an exported model:
``python tools/test.py CONFIG --backend onnxruntime --onnx FILE [...]``
(see docs/deployment.md)."""
import argparse
import os

from yolo_plugin.apis import (ConfigError, build_runner, check_config, load_config,
                              setup_testing)
from yolo_plugin.cli_args import (add_backend_arguments, add_runner_arguments,
                                  check_backend_arguments)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (none with --backend onnxruntime)')
    parser.add_argument('--out', help='write the predictions to this .pkl file')
    parser.add_argument('--show-dir', help='draw the predictions of every test image '
                        'into work_dir/<timestamp>/SHOW_DIR')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model and tta_pipeline")
    add_backend_arguments(parser)
    add_runner_arguments(parser)
    args = parser.parse_args(argv)
    check_backend_arguments(parser, args)
    if args.tta and args.backend == 'onnxruntime':
        parser.error('--tta is not available with --backend onnxruntime')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> dict:
    """Returns the metrics; exits with a message (status 1) on a config
    error."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    setup_testing(cfg, args.checkpoint, work_dir=args.work_dir, out=args.out,
                  show_dir=args.show_dir, tta=args.tta, launcher=args.launcher)
    if args.backend == 'onnxruntime':
        from yolo_plugin.deploy.backend import use_onnx_model  # the deploy extra
        use_onnx_model(cfg, args.onnx)
    try:
        check_config(cfg, ('test', ))
    except ConfigError as error:
        raise SystemExit(str(error)) from error
    runner = build_runner(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
