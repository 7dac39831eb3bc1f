"""RandomExpandCropResizeFlip draws what mmdet's four transforms draw:
the distributions of the outputs over many independent draws (different
seeds on each side) agree, and a small change of a setting is detected.

Design: one KITTI-like frame (621 x 188, five boxes, one ignored, one
nearly as large as the image) through kitti.py's recipe at the demo's
scale, N = 600 draws a side. Per draw: output width and height, the share
of output pixels showing the image (not Expand's fill) and their centroid
(x / w, y / h: where the image landed), the mean centre (x / w, y / h) and
mean relative size (sqrt(box area / image area)) of the kept boxes, the
crop IoU (the largest IoU of a kept box, clipped to the crop, with the
crop: its area over the output's), the number of kept boxes, which boxes
are kept, the flip. Continuous statistics: two-sample Kolmogorov-Smirnov;
counts: chi-square on the contingency table. Each test must give
p > 0.001; with the fixed seeds the outcome is deterministic. Negative
controls: Expand's ratio_range (1, 2) -> (1, 2.5) (moves half of the
draws) and MinIoURandomCrop's min_crop_size 0.3 -> 0.45 must each give
p < 0.001 in at least one test. (Smaller changes can pass here, e.g.
Expand's offset halved; the same-seed tests of test_geometric.py catch
those.)
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
CONTINUOUS = ('width', 'height', 'image_share', 'image_x', 'image_y',
              'centre_x', 'centre_y', 'size', 'crop_iou')
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
        shown = (out['img'] != 0).any(-1)
        columns['image_share'].append(shown.mean())
        if shown.any():
            rows, cols = np.nonzero(shown)
            columns['image_x'].append(cols.mean() / width)
            columns['image_y'].append(rows.mean() / height)
        columns['kept'].append(len(boxes))
        columns['flip'].append(int(out['flip']))
        columns['kept_labels'].extend(out['gt_bboxes_labels'])
        if len(boxes):
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2 / [width, height]
            areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
            sizes = np.sqrt(areas / (width * height))
            columns['centre_x'].append(centres[:, 0].mean())
            columns['centre_y'].append(centres[:, 1].mean())
            columns['size'].append(sizes.mean())
            columns['crop_iou'].append(areas.max() / (width * height))
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


@pytest.mark.parametrize('step, key, value', [
    (0, 'ratio_range', (1, 2.5)), (1, 'min_crop_size', 0.45)
], ids=['expand_ratio', 'min_crop_size'])
def test_a_changed_setting_is_detected(results, mmdet_statistics, step, key,
                                       value):
    changed = copy.deepcopy(STEPS)
    changed[step][key] = value
    ours = draw_statistics(fused_transform(changed), results, seed=2)
    p = p_values(mmdet_statistics, ours)
    assert min(p.values()) < ALPHA, p
