"""YOLOAnchorAssigner at its edges, against the loop reference of
tests/models/yolo_reference.py: boxes thinner than a pixel, a ground truth
on prior 0, a centre exactly one cell from the far edge, one ground truth
or region an image, ignoring switched off, and the argument errors."""
import re

import pytest
import torch
from mmengine.structures import InstanceData

from tests.models.task_modules.test_yolo_anchor_assigner import (MODES, reference_assign,
                                                                 reference_ignored,
                                                                 run_assigner)
from tests.models.yolo_reference import ANCHORS, STRIDES, level_sizes, prior_index
from yolo_plugin.models.task_modules import YOLOAnchorAssigner, YOLOPriorGenerator
from yolo_plugin.models.utils import pad_instances

EDGE_CASES = {
    # 0.2 x 400 px: at 0.2 px wide the (10, 13) anchor has the best IoU, at
    # 1 px (16, 30) would; zero width counts as 0.01 px.
    'sub_pixel_width': [[[50.0, 10.0, 50.2, 410.0], [80.0, 20.0, 80.0, 60.0]]],
    # Centred at (16, 16), the size of anchor (116, 90): prior 0 of the
    # batch; the second box, nearly as close to that anchor, loses it.
    'first_prior': [[[-42.0, -29.0, 74.0, 61.0], [-40.0, -30.0, 72.0, 62.0]], []],
    # Centre (152, 88): exactly one stride-8 cell from the right and bottom
    # edges (20 x 12 cells), where YOLOv5 adds no neighbour.
    'one_cell_from_far_edge': [[[148.0, 83.0, 156.0, 93.0]]],
}


@pytest.mark.parametrize('case', sorted(EDGE_CASES))
@pytest.mark.parametrize('mode', MODES)
def test_edge_cases_equal_reference(case, mode):
    boxes = EDGE_CASES[case]
    assert run_assigner(boxes, **mode) == reference_assign(boxes, **mode)


def test_first_prior_is_a_match_like_any_other():
    first = prior_index(0, 0, 0, 0, level_sizes())
    assert first == 0
    matches, unmatched = run_assigner(EDGE_CASES['first_prior'], match='max_iou')
    assert matches == [(0, first, 0)] and unmatched == 1


def test_unmatched_count_is_an_integer_in_both_modes():
    gt_boxes = torch.tensor([[[10.0, 10.0, 40.0, 50.0]]])
    priors = YOLOPriorGenerator(ANCHORS, STRIDES).grid_priors(level_sizes(), torch.device('cpu'))
    for match in ('max_iou', 'ratio'):
        result = YOLOAnchorAssigner(match=match).assign(gt_boxes, torch.ones(1, 1, dtype=bool),
                                                        priors)
        assert result.num_unmatched.dtype == torch.long and result.num_unmatched == 0


def ignored(preds, gts, ignores, iou_thr, iof_thr):
    """The assigner's ``ignored_negatives`` of per-image box lists."""
    padded = [pad_instances([InstanceData(bboxes=torch.tensor(b).reshape(-1, 4)) for b in group],
                            len(group), torch.device('cpu')) for group in (gts, ignores)]
    (gt_boxes, _, gt_valid), (ign_boxes, _, ign_valid) = padded
    assigner = YOLOAnchorAssigner(ignore_iou_thr=iou_thr, ignore_iof_thr=iof_thr)
    return assigner.ignored_negatives(torch.tensor(preds), gt_boxes, gt_valid, ign_boxes,
                                      ign_valid).tolist()


# Per image: predictions, ground truths, ignored regions. One ground truth
# and one region an image; a prediction and a ground truth 0.5 px wide
# (image 0) or high (image 1), whose IoU is 1; predictions 0.5 px wide or
# high inside the region.
PREDS = [[[10.0, 10.0, 10.5, 30.0], [60.0, 10.0, 60.5, 30.0], [100.0, 5.0, 140.0, 40.0],
          [61.0, 50.0, 61.5, 58.0]],
         [[10.0, 70.0, 30.0, 70.5], [60.0, 10.0, 80.0, 10.5], [100.0, 5.0, 140.0, 40.0],
          [60.0, 50.0, 68.0, 50.5]]]
GTS = [[[10.0, 10.0, 10.5, 30.0]], [[10.0, 70.0, 30.0, 70.5]]]
IGNORES = [[[55.0, 0.0, 90.0, 60.0]], [[55.0, 0.0, 90.0, 60.0]]]


@pytest.mark.parametrize('iou_thr, iof_thr', [(0.5, 0.5), (0.9, 0.9)])
def test_single_thin_boxes_ignored_as_reference(iou_thr, iof_thr):
    expected = reference_ignored(PREDS, GTS, IGNORES, iou_thr, iof_thr)
    assert ignored(PREDS, GTS, IGNORES, iou_thr, iof_thr) == expected
    assert expected == [[True, True, False, True]] * 2


def test_ignoring_switched_off():
    """``None`` turns a test off: then ground truths (or regions) ignore
    nothing, as if there were none."""
    no_gts, no_regions = [[], []], [[], []]
    assert ignored(PREDS, GTS, IGNORES, None, 0.5) == reference_ignored(
        PREDS, no_gts, IGNORES, 0.5, 0.5)
    assert ignored(PREDS, GTS, IGNORES, 0.5, None) == reference_ignored(
        PREDS, GTS, no_regions, 0.5, 0.5)


@pytest.mark.parametrize('kwargs, message', [
    (dict(match='max_iou', neighbor_cells=True), "neighbor_cells needs match='ratio'"),
    (dict(ignore_iou_thr=1.5), 'ignore_iou_thr must be in [0, 1] or None, got 1.5'),
    (dict(ignore_iof_thr=-0.1), 'ignore_iof_thr must be in [0, 1] or None, got -0.1'),
])
def test_argument_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=f'^{re.escape("YOLOAnchorAssigner: " + message)}$'):
        YOLOAnchorAssigner(**kwargs)
