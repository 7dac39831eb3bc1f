"""``make demo``: make the synthetic KITTI demo data (if absent), train
configs/yolov3_s_kitti_demo.py on the CPU, evaluate it with the KITTI and
COCO metrics, and leave the checkpoint, logs, a loss / mAP curve and
annotated predictions in work_dirs/demo/. Exits with status 2 when the
KITTI Moderate mAP stays below the target."""
import argparse
import sys

from yolo_plugin.apis.demo import DemoSettings, run_demo
from yolo_plugin.cli_args import add_cfg_options


def parse_args() -> argparse.Namespace:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=defaults.config)
    parser.add_argument('--data-root', default=defaults.data_root)
    parser.add_argument('--work-dir', default=defaults.work_dir)
    parser.add_argument('--num-train', type=int, default=defaults.num_train)
    parser.add_argument('--num-val', type=int, default=defaults.num_val)
    parser.add_argument('--seed', type=int, default=defaults.seed, help='of the demo data')
    parser.add_argument('--threads', type=int, default=defaults.threads,
                        help='torch threads (default: one a core)')
    add_cfg_options(parser, 'train_cfg.max_epochs=5')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    result = run_demo(DemoSettings(
        config=args.config, data_root=args.data_root, work_dir=args.work_dir,
        num_train=args.num_train, num_val=args.num_val, seed=args.seed,
        threads=args.threads, cfg_options=args.cfg_options))
    print(result.summary())
    if not result.target_met:
        sys.exit(2)


if __name__ == '__main__':
    main()
