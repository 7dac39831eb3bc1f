"""Detect objects in an image or a folder of images with a trained
checkpoint; write annotated images and detections.json to --out-dir:

    python tools/infer.py CONFIG CHECKPOINT IMAGE_OR_DIR --out-dir DIR
"""
import argparse

from yolo_plugin.apis import infer, list_images, load_detector
from yolo_plugin.cli_args import add_cfg_options


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', help='an image file or a folder of images')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw and list detections scoring at least this')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda:0'")
    add_cfg_options(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = load_detector(args.config, args.checkpoint, args.device, args.cfg_options)
    out_file = infer(model, list_images(args.images), args.out_dir,
                     score_thr=args.score_thr, batch_size=args.batch_size)
    print(f'annotated images and {out_file} written')


if __name__ == '__main__':
    main()
