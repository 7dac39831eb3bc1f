"""Plot curves of mmengine json logs:

    python tools/analyze_logs.py plot_curve LOG [LOG ...] \
        --keys loss_cls loss_obj kitti/mAP_moderate --out curve.png

LOG: ``work_dir/<timestamp>/vis_data/scalars.json`` (or a work dir: the log
its latest training wrote). Training keys are plotted by iteration, validation keys by epoch.
"""
import argparse
import os.path as osp

from yolo_plugin.apis.log_analysis import load_json_log, load_work_dir_log, plot_curves


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    plot = commands.add_parser('plot_curve', help='curves of log keys')
    plot.add_argument('json_logs', nargs='+', help='json logs, or work dirs (all their runs joined: a '
                      'resumed training included)')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='keys to plot')
    plot.add_argument('--out', required=True, help='image file to write')
    plot.add_argument('--title', default='', help='figure title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logs = [load_work_dir_log(p) if osp.isdir(p) else load_json_log(p) for p in args.json_logs]
    out = plot_curves(logs, args.keys, args.out, args.title)
    print(f'curves written to {out}')


if __name__ == '__main__':
    main()
