"""Anchors by k-means (distance 1 - IoU) of a data set's boxes at a config's
input scale, printed (and written with --out) in config form:

    python tools/kmeans_anchors.py configs/yolov3_kitti.py --num-anchors 9 \
        --out work_dirs/kitti_anchors.py
"""
import argparse

from yolo_plugin.apis import load_config
from yolo_plugin.apis.anchors import config_anchors
from yolo_plugin.cli_args import add_split_arguments


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_split_arguments(parser, config_help='config file (its test pipeline gives the scale)')
    parser.add_argument('--num-anchors', type=int, default=9)
    parser.add_argument('--num-levels', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the config text to this file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    text, _ = config_anchors(cfg, args.split, args.num_anchors, args.num_levels, args.seed)
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
