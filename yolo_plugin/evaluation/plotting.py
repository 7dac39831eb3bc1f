"""PNG figures of the analysis (matplotlib's Agg renderer, no display)."""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np
from matplotlib.figure import Figure

from .analysis import PrecisionRecallCurve


def plot_confusion_matrix(matrix: np.ndarray,
                          classes: Sequence[str],
                          path: str,
                          title: str = 'Confusion matrix') -> None:
    """Draw a :func:`~.analysis.confusion_matrix` as a PNG: each cell's
    count and its share (%) of the row, colour by the share."""
    names = [*classes, 'background']
    totals = matrix.sum(1, keepdims=True)
    share = np.divide(
        matrix * 100., totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = 1.2 + 0.7 * len(names)
    figure = Figure(figsize=(size + 1.5, size), dpi=120)
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap='Blues', vmin=0, vmax=100)
    figure.colorbar(image, ax=axes, label='% of the ground-truth row')
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(
            column,
            row,
            f'{count}\n{share[row, column]:.0f}%',
            ha='center',
            va='center',
            fontsize=7,
            color='white' if share[row, column] > 60 else 'black')
    axes.set_xticks(range(len(names)), names, rotation=45, ha='right')
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel('detected class (background: missed)')
    axes.set_ylabel('ground truth (background: false positive)')
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)


def plot_precision_recall_curves(curves: Sequence[PrecisionRecallCurve],
                                 out_dir: str, iou_thr: float) -> List[str]:
    """One PNG a class (``pr_<class>.png``) and all classes together
    (``pr_curves.png``); returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for curve in curves:
        figure = Figure(figsize=(5, 4.5), dpi=120)
        _draw_curves(figure.add_subplot(), [curve], iou_thr)
        paths.append(osp.join(out_dir, f'pr_{curve.name}.png'))
        figure.savefig(paths[-1])
    figure = Figure(figsize=(6, 5), dpi=120)
    _draw_curves(figure.add_subplot(), curves, iou_thr)
    paths.append(osp.join(out_dir, 'pr_curves.png'))
    figure.savefig(paths[-1])
    return paths


def _draw_curves(axes, curves: Sequence[PrecisionRecallCurve],
                 iou_thr: float) -> None:
    for curve in curves:
        axes.plot(
            curve.recall,
            curve.precision,
            label=f'{curve.name}: AP {curve.average_precision:.3f} '
            f'({curve.num_ground_truths} objects)')
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel('recall')
    axes.set_ylabel('precision')
    axes.set_title(f'Precision-recall, IoU >= {iou_thr:.2f}')
    axes.grid(alpha=.3)
    axes.legend(loc='lower left', fontsize=8)
