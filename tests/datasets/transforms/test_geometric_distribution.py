"""RandomExpandCropResizeFlip draws what mmdet's four transforms draw:
the distributions of the outputs over many independent draws (different
seeds on each side) agree, and a small change of a setting is detected.

Design: one KITTI-like frame (621 x 188, five boxes, one ignored, one
nearly as large as the image) through kitti.py's recipe at the demo's
scale, N = 600 draws a side. Per draw: output width and height, the
share of output pixels showing the image (not Expand's fill), the mean
centre (x / w, y / h) and mean relative size (sqrt(box area / image
area)) of the kept boxes, the number of kept boxes, which boxes are kept,
the flip. Continuous statistics: two-sample Kolmogorov-Smirnov; counts:
chi-square on the contingency table. Each test must give p > 0.001; with
the fixed seeds the outcome is deterministic. The negative control
(Expand's ratio_range (1, 2) -> (1, 2.5), which moves half of the draws)
must give p < 0.001 in at least one test.
"""
import copy

import numpy as np
import pytest
from scipy import stats

from .mmdet_reference import (box, frame, fused_transform, mmdet_chain,
                              run_chain)

DRAWS = 600
ALPHA = 1e-3
STEPS = [
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
    dict(type='MinIoURandomCrop',
         min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
         min_crop_size=0.3),
    dict(type='RandomResize', scale=[(260, 80), (416, 128)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
CONTINUOUS = ('width', 'height', 'image_share', 'centre_x', 'centre_y',
              'size')
COUNTS = ('kept', 'flip')


@pytest.fixture(scope='module')
def results():
    return frame(621, 188, [
        box(10, 50, 60, 120, label=0),
        box(300, 80, 380, 150, label=1, ignored=True),
        box(500, 20, 600, 180, label=2),
        box(100, 30, 500, 180, label=3),
        box(0, 100, 40, 188, label=4),
    ])


def draw_statistics(transform, results: dict, seed: int) -> dict:
    """Per-draw statistics (names as the module says) of ``DRAWS`` draws;
    ``transform``: results -> results."""
    np.random.seed(seed)
    columns = {name: [] for name in CONTINUOUS + COUNTS + ('kept_labels', )}
    for _ in range(DRAWS):
        out = transform(copy.deepcopy(results))
        height, width = out['img'].shape[:2]
        boxes = out['gt_bboxes'].numpy()
        columns['width'].append(width)
        columns['height'].append(height)
        columns['image_share'].append((out['img'] != 0).any(-1).mean())
        columns['kept'].append(len(boxes))
        columns['flip'].append(int(out['flip']))
        columns['kept_labels'].extend(out['gt_bboxes_labels'])
        if len(boxes):
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2 / [width, height]
            sizes = np.sqrt(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) /
                            (width * height))
            columns['centre_x'].append(centres[:, 0].mean())
            columns['centre_y'].append(centres[:, 1].mean())
            columns['size'].append(sizes.mean())
    return columns


def p_values(reference: dict, candidate: dict) -> dict:
    """Statistic name -> p-value of 'same distribution'."""
    values = {
        name: stats.ks_2samp(reference[name], candidate[name]).pvalue
        for name in CONTINUOUS
    }
    for name in COUNTS + ('kept_labels', ):
        categories = sorted(set(reference[name]) | set(candidate[name]))
        table = [[list(column).count(c) for c in categories]
                 for column in (reference[name], candidate[name])]
        values[name] = stats.chi2_contingency(table).pvalue
    return values


@pytest.fixture(scope='module')
def mmdet_statistics(results):
    chain = mmdet_chain(STEPS)
    return draw_statistics(lambda r: run_chain(chain, r), results, seed=1)


def test_same_distributions_as_mmdet(results, mmdet_statistics):
    ours = draw_statistics(fused_transform(STEPS), results, seed=2)
    p = p_values(mmdet_statistics, ours)
    assert min(p.values()) > ALPHA, p


def test_a_changed_ratio_range_is_detected(results, mmdet_statistics):
    changed = copy.deepcopy(STEPS)
    changed[0]['ratio_range'] = (1, 2.5)
    ours = draw_statistics(fused_transform(changed), results, seed=2)
    p = p_values(mmdet_statistics, ours)
    assert min(p.values()) < ALPHA, p
