"""Precision-recall curve of each class of saved predictions, as PNGs.

    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    python tools/analysis/pr_curves.py CONFIG results.pkl \
        --out-dir work_dirs/analysis [--iou-thr 0.5]

Writes pr_<class>.png for every class and pr_curves.png with all of them.
"""
from yolo_plugin.apis.analysis import load_detection_set
from yolo_plugin.cli_args import analysis_argument_parser
from yolo_plugin.evaluation.analysis import precision_recall_curves
from yolo_plugin.evaluation.plotting import plot_precision_recall_curves


def main() -> None:
    args = analysis_argument_parser(__doc__.splitlines()[0]).parse_args()
    data = load_detection_set(args.config, args.results, args.cfg_options)
    curves = precision_recall_curves(data, args.iou_thr)
    paths = plot_precision_recall_curves(curves, args.out_dir, args.iou_thr)
    for curve in curves:
        print(f'{curve.name}: AP {curve.average_precision:.4f} '
              f'({curve.num_ground_truths} objects)')
    print(f'{len(paths)} figures written to {args.out_dir}')


if __name__ == '__main__':
    main()
