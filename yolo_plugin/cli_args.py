"""Command-line arguments that several tools share. Only ``tools/`` parses
arguments; the functions they call take plain keyword arguments."""
import argparse
from typing import Optional

from mmengine.config import DictAction

from yolo_plugin.apis import SPLITS
from yolo_plugin.engine import LAUNCHERS


def add_cfg_options(parser: argparse.ArgumentParser, example: Optional[str] = None) -> None:
    """``--cfg-options key=value ...``: config keys to override, merged into
    the config by :func:`yolo_plugin.apis.load_config`."""
    example = example or 'train_cfg.max_epochs=10 optim_wrapper.optimizer.lr=0.01'
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config keys, e.g. {example} (key=value pairs; lists '
                        'as key="[a,b]")')


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """What ``tools/train.py`` and ``tools/test.py`` share with mmdet's:
    ``--work-dir``, ``--cfg-options``, ``--launcher`` and the
    ``--local-rank`` of ``torch.distributed.launch``."""
    parser.add_argument('--work-dir', help='folder of logs and checkpoints '
                        "(default: the config's work_dir, else ./work_dirs/<config name>)")
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='pytorch: started by torchrun (gloo on CPUs, nccl on GPUs)')
    # torch.distributed.launch passes --local-rank (older: --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--onnx`` of ``tools/test.py`` and ``tools/infer.py``;
    check them with :func:`check_backend_arguments`."""
    parser.add_argument('--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
                        help='onnxruntime: run the --onnx model of tools/export_onnx.py '
                        'instead of CHECKPOINT (the deploy extra)')
    parser.add_argument('--onnx', metavar='FILE', help='.onnx file, with --backend onnxruntime')


def check_backend_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A ``checkpoint`` for the PyTorch backend, an ``--onnx`` file and no
    checkpoint for ONNX Runtime; else exit with a usage error."""
    if args.backend == 'onnxruntime':
        if not args.onnx:
            parser.error('--backend onnxruntime needs --onnx FILE')
        if args.checkpoint is not None:
            parser.error('CHECKPOINT is not used with --backend onnxruntime: the weights '
                         'are in the --onnx file')
    elif args.onnx:
        parser.error('--onnx needs --backend onnxruntime')
    elif args.checkpoint is None:
        parser.error('the CHECKPOINT argument is required')


def add_split_arguments(parser: argparse.ArgumentParser, config_help: str = 'config file') -> None:
    """The arguments of a tool that reads one split of a config: ``config``,
    ``--split`` and ``--cfg-options``."""
    parser.add_argument('config', help=config_help)
    parser.add_argument('--split', choices=SPLITS, default='train')
    add_cfg_options(parser, 'train_dataloader.dataset.data_root=data/demo/kitti/')


def analysis_argument_parser(description: str) -> argparse.ArgumentParser:
    """Arguments of the analysis tools: config, results pickle, output
    folder, IoU threshold, config overrides."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config the results were made with')
    parser.add_argument('results', help='predictions of tools/test.py --out (.pkl)')
    parser.add_argument('--out-dir', required=True, help='folder of the PNGs')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='IoU for a detection to match a ground truth')
    add_cfg_options(parser, 'test_dataloader.dataset.data_root=data/demo/kitti/')
    return parser
