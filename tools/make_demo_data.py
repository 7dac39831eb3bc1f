"""Write the synthetic demo data set in the raw KITTI or Cityscapes layout.

    python tools/make_demo_data.py --out data/demo --format kitti \
        --num-train 300 --num-val 100 --seed 0
writes data/demo/kitti (see docs/datasets.md).
"""
import argparse

from yolo_plugin.datasets.synthetic import DEMO_FORMATS, make_demo_data


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out', default='data/demo', help='parent folder (default: '
        'data/demo); the data goes to OUT/FORMAT')
    parser.add_argument('--format', choices=DEMO_FORMATS, default='kitti')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument(
        '--num-test', type=int, default=0, help='unlabelled test images')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing demo data in OUT/FORMAT')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    root = make_demo_data(
        args.out,
        args.format,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        seed=args.seed,
        overwrite=args.overwrite)
    print(f'demo data written to {root}')


if __name__ == '__main__':
    main()
