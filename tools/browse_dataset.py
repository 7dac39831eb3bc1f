"""Draw the ground truth of a config's dataset after its pipeline (what
the network sees): instances in class colours, ignored instances grey and
dashed.

    python tools/browse_dataset.py configs/_base_/datasets/kitti.py \
        --out-dir work_dirs/browse [--split train] [--max-images 20]
"""
import argparse

from yolo_plugin.apis import load_config
from yolo_plugin.apis.browse import browse_dataset
from yolo_plugin.cli_args import add_split_arguments


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_split_arguments(parser)
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--max-images', type=int, help='draw only the first N samples')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    paths = browse_dataset(
        load_config(args.config, args.cfg_options), args.out_dir, args.split, args.max_images)
    print(f'{len(paths)} images written to {args.out_dir}')


if __name__ == '__main__':
    main()
