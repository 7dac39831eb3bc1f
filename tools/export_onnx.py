"""Export a trained detector to one ONNX graph with NMS inside (and an int8
copy), for ONNX Runtime and yolo_plugin/deploy/onnx_runner.py:

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--img-size H W]
        [--dynamic-batch] [--opset N] [--quantize int8 --calib-images N]

See docs/deployment.md for the graph's inputs and outputs.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from yolo_plugin.cli_args import add_cfg_options
from yolo_plugin.deploy.export import DEFAULT_OPSET, export_onnx
from yolo_plugin.deploy.postprocess import ExportError
from yolo_plugin.deploy.quantize import quantize_int8, training_images


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='input height and width, multiples of 32 (default: the test '
                        "pipeline's Resize scale padded to one)")
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='a symbolic batch size (default: batch 1)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument('--quantize', choices=['int8'],
                        help='also write a statically quantised copy, OUT with .int8.onnx')
    parser.add_argument('--calib-images', type=int, default=100,
                        help='training images that calibrate the int8 ranges')
    add_cfg_options(parser, example='model.test_cfg.score_thr=0.3')
    return parser.parse_args(argv)


def int8_path(out_file: str) -> str:
    """``model.onnx`` -> ``model.int8.onnx``."""
    return f'{osp.splitext(out_file)[0]}.int8.onnx'


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        out_file = export_onnx(args.config, args.checkpoint, args.out,
                               img_size=tuple(args.img_size) if args.img_size else None,
                               dynamic_batch=args.dynamic_batch, opset=args.opset,
                               cfg_options=args.cfg_options)
    except ExportError as error:
        raise SystemExit(f'export refused: {error}')
    print(f'{out_file} written')
    if args.quantize == 'int8':
        images = training_images(args.config, args.calib_images, args.cfg_options)
        int8_file = quantize_int8(out_file, int8_path(out_file), images)
        print(f'{int8_file} written (calibrated on {len(images)} training images)')


if __name__ == '__main__':
    main()
