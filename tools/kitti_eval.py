"""Evaluate KITTI result files of any detector against KITTI's label_2 with
the official 2D object protocol (the devkit's evaluate_object): AP of each
class at Easy / Moderate / Hard, R40 (default) or R11.

    python tools/kitti_eval.py data/kitti/training/label_2 RESULT_DIR \
        [--split data/kitti/ImageSets/val.txt] [--classes Car Pedestrian] \
        [--min-overlap Car=0.5] [--r11] [--out-json metrics.json]

RESULT_DIR holds one <frame>.txt a frame, KITTI's label format with the
score as a 16th field (as KittiMetric(format_only=True) writes them).
"""
import argparse
import json

from mmengine.config import DictAction

from yolo_plugin.datasets.kitti import read_frame_ids
from yolo_plugin.evaluation.functional import kitti_eval, read_kitti_folders


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('label_dir', help='folder of the label files')
    parser.add_argument('result_dir', help='folder of the result files')
    parser.add_argument(
        '--split',
        help='file of the frame ids to evaluate (default: every '
        'label file)')
    parser.add_argument(
        '--classes', nargs='+', default=['Car', 'Pedestrian', 'Cyclist'])
    parser.add_argument(
        '--min-overlap',
        nargs='+',
        action=DictAction,
        default={},
        help='minimum IoU per class, e.g. Car=0.5 (defaults: Car 0.7, '
        'Pedestrian 0.5, Cyclist 0.5, ...)')
    parser.add_argument(
        '--r11',
        action='store_true',
        help='AP over 11 recall points (before 2019) instead of 40')
    parser.add_argument(
        '--out-json', help='write the metrics (the keys KittiMetric reports)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    frames = read_frame_ids(args.split) if args.split else None
    gt_annos, det_annos, frames = read_kitti_folders(args.label_dir,
                                                     args.result_dir, frames)
    min_overlaps = {k: float(v) for k, v in args.min_overlap.items()}
    result = kitti_eval(gt_annos, det_annos, args.classes, min_overlaps)
    recall_points = 11 if args.r11 else 40
    print(f'{len(frames)} frames of {args.label_dir}')
    print(result.table(recall_points))
    if args.out_json:
        metrics = {
            f'kitti/{key}': value
            for key, value in result.to_metrics(recall_points).items()
        }
        with open(args.out_json, 'w') as f:
            json.dump(metrics, f, indent=1)


if __name__ == '__main__':
    main()
