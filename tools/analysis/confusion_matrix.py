"""Confusion matrix of saved predictions, as a PNG.

    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    python tools/analysis/confusion_matrix.py CONFIG results.pkl \
        --out-dir work_dirs/analysis [--score-thr 0.3] [--iou-thr 0.5]

Rows: ground-truth class, then background (false positives); columns:
detected class, then background (missed objects).
"""
import os
import os.path as osp

from yolo_plugin.apis.analysis import load_detection_set
from yolo_plugin.cli_args import analysis_argument_parser
from yolo_plugin.evaluation.analysis import confusion_matrix
from yolo_plugin.evaluation.plotting import plot_confusion_matrix


def main() -> None:
    parser = analysis_argument_parser(__doc__.splitlines()[0])
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections scoring below are left out')
    args = parser.parse_args()
    data = load_detection_set(args.config, args.results, args.cfg_options)
    matrix = confusion_matrix(data, args.score_thr, args.iou_thr)
    os.makedirs(args.out_dir, exist_ok=True)
    path = osp.join(args.out_dir, 'confusion_matrix.png')
    plot_confusion_matrix(
        matrix, data.classes, path,
        f'Confusion matrix (score >= {args.score_thr}, IoU >= {args.iou_thr})')
    print(f'{path} written')


if __name__ == '__main__':
    main()
