"""Pack the images and annotations of one split of a config into a
memory-mappable file, so that training decodes no PNG.

    python tools/pack_dataset.py configs/_base_/datasets/kitti.py \
        --split train [--out FILE] [--resize W H]
then use it with ``dataset=dict(packed_file='packed/train.pack')`` (relative
to data_root). Interrupted runs resume when rerun (see docs/datasets.md).
"""
import argparse

from yolo_plugin.apis import load_config
from yolo_plugin.apis.packing import pack_split
from yolo_plugin.cli_args import add_split_arguments


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_split_arguments(parser)
    parser.add_argument(
        '--out', help='pack file (default: DATA_ROOT/packed/SPLIT[_WxH].pack)')
    parser.add_argument(
        '--resize',
        type=int,
        nargs=2,
        metavar=('W', 'H'),
        help='store images rescaled to fit W x H, keeping the aspect ratio '
        '(training splits only)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    out = pack_split(cfg, args.split, args.out, args.resize)
    print(f'packed {args.split} into {out}')


if __name__ == '__main__':
    main()
