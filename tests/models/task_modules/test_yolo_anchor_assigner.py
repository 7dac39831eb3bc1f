"""The vectorised YOLO assignment against a plain loop-based reference."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from tests.models.yolo_reference import (ANCHORS, IMG_H, IMG_W, STRIDES, area, assign,
                                         intersection, iou, level_sizes, prior_index)
from yolo_plugin.models.task_modules import (YOLOAnchorAssigner,
                                             YOLOPriorGenerator)
from yolo_plugin.models.task_modules.assigners.yolo_anchor_assigner import wh_iou
from yolo_plugin.models.utils import pad_instances



def reference_assign(boxes_per_img, match, anchor_t=4.0, neighbor_cells=False,
                     collisions='drop'):
    """Sorted (image, prior, ground truth) triples of the loop reference and
    the count of ground truths without a prior."""
    sizes = level_sizes()
    matches, unmatched = assign(boxes_per_img, match, anchor_t, neighbor_cells,
                                collisions=collisions)
    return sorted((b, prior_index(level, x, y, a, sizes), g)
                  for b, level, x, y, a, g in matches), unmatched


def run_assigner(boxes_per_img, **kwargs):
    instances = [InstanceData(bboxes=torch.tensor(b, dtype=torch.float32).reshape(-1, 4))
                 for b in boxes_per_img]
    gt_boxes, _, gt_valid = pad_instances(instances, len(instances), torch.device('cpu'))
    priors = YOLOPriorGenerator(ANCHORS, STRIDES).grid_priors(level_sizes(), torch.device('cpu'))
    result = YOLOAnchorAssigner(**kwargs).assign(gt_boxes, gt_valid, priors)
    return sorted(zip(result.batch_idx.tolist(), result.prior_idx.tolist(),
                      result.gt_idx.tolist())), int(result.num_unmatched)


def random_boxes(generator, count):
    """Boxes of many sizes and shapes, some crossing the image border."""
    centre = torch.rand(count, 2, generator=generator) * torch.tensor([IMG_W, IMG_H])
    size = torch.exp(torch.rand(count, 2, generator=generator) * 5.5) + 1  # 2 .. 250 px
    boxes = torch.cat((centre - size / 2, centre + size / 2), 1)
    return boxes.tolist()


EDGE_CASES = {
    'border': [[[0, 0, 20, 30], [140, 70, 160, 96], [150, 0, 160, 8]]],
    'two_in_one_cell': [[[40, 40, 60, 60], [41, 42, 59, 58], [35, 30, 70, 70]]],
    'tie_in_one_cell': [[[40, 40, 60, 60], [42, 41, 62, 61]]],  # same size, same anchor
    'cell_boundary_centre': [[[16, 16, 48, 48], [60, 20, 68, 44]]],
    'no_box': [[], []],
    'mixed_empty': [[], [[10, 10, 50, 40]], []],
    'two_scales': [[[20, 20, 76, 66]]],  # fits anchors of two levels by ratio
    'degenerate': [[[30, 30, 30, 60], [50, 50, 50.5, 50.5]]],
}


MODES = [
    dict(match='max_iou'),
    dict(match='max_iou', collisions='next_anchor'),
    dict(match='ratio', neighbor_cells=True),
    dict(match='ratio', neighbor_cells=False, anchor_t=2.0),
]


@pytest.mark.parametrize('case', sorted(EDGE_CASES))
@pytest.mark.parametrize('mode', MODES)
def test_edge_cases_equal_reference(case, mode):
    boxes = EDGE_CASES[case]
    assert run_assigner(boxes, **mode) == reference_assign(boxes, **mode)


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('mode', MODES[:3])
def test_random_sets_equal_reference(seed, mode):
    generator = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, 12, (4, ), generator=generator).tolist()
    boxes = [random_boxes(generator, n) for n in counts]
    expected, unmatched = reference_assign(boxes, **mode)
    assert run_assigner(boxes, **mode) == (expected, unmatched)
    matched = {(b, g) for b, _, g in expected}
    assert len(matched) + unmatched == sum(counts)


def test_collisions_drop_or_move_to_the_next_anchor():
    # Three same-size boxes centred in one cell all want the same anchor.
    crowd = [[[40, 40, 60, 60], [41, 41, 61, 61], [39, 40, 59, 60]]]
    dropped, unmatched = run_assigner(crowd, match='max_iou')
    assert len(dropped) == 1 and unmatched == 2
    moved, unmatched = run_assigner(crowd, match='max_iou', collisions='next_anchor')
    assert len(moved) == 3 and unmatched == 0
    assert len({prior for _, prior, _ in moved}) == 3


def test_a_tie_goes_to_the_later_ground_truth():
    """Two 20 x 20 boxes centred in cell (6, 6) of stride 8 have the same
    best anchor, (16, 30): the later box keeps that prior; with
    ``next_anchor`` the earlier one moves to its next-best anchor, (33, 23),
    in the same cell; in ratio mode both share it."""
    tie = EDGE_CASES['tie_in_one_cell']
    best, next_best = (prior_index(2, 6, 6, anchor, level_sizes()) for anchor in (1, 2))
    assert run_assigner(tie, match='max_iou') == ([(0, best, 1)], 1)
    assert run_assigner(tie, match='max_iou', collisions='next_anchor') == (
        [(0, best, 1), (0, next_best, 0)], 0)
    shared, unmatched = run_assigner(tie, match='ratio')
    assert {(0, best, 0), (0, best, 1)} <= set(shared) and unmatched == 0


def test_one_box_two_scales_in_ratio_mode():
    matches, _ = run_assigner(EDGE_CASES['two_scales'], match='ratio')
    sizes = level_sizes()
    level_starts = [0]
    for h, w in sizes:
        level_starts.append(level_starts[-1] + h * w * 3)
    levels = {next(i for i in range(3) if level_starts[i] <= p < level_starts[i + 1])
              for _, p, _ in matches}
    assert len(levels) >= 2


def test_no_box_gives_no_match():
    assert run_assigner([[], []], match='max_iou') == ([], 0)


def reference_ignored(pred_boxes, gt_boxes, ignore_boxes, iou_thr, iof_thr):
    return [[any(iou(p, g) > iou_thr for g in gts) or
             any(intersection(p, r) / area(p) > iof_thr for r in igns) for p in preds]
            for preds, gts, igns in zip(pred_boxes, gt_boxes, ignore_boxes)]


@pytest.mark.parametrize('iou_thr, iof_thr', [(0.5, 0.5), (0.2, 0.7), (0.7, 0.2), (0.0, 0.9)])
def test_ignored_negatives_equal_reference(iou_thr, iof_thr):
    generator = torch.Generator().manual_seed(0)
    preds = [random_boxes(generator, 200) for _ in range(3)]
    gts = [random_boxes(generator, n) for n in (4, 0, 2)]
    ignores = [random_boxes(generator, n) for n in (1, 2, 0)]
    as_instances = [[InstanceData(bboxes=torch.tensor(b).reshape(-1, 4)) for b in group]
                    for group in (gts, ignores)]
    gt_boxes, _, gt_valid = pad_instances(as_instances[0], 3, torch.device('cpu'))
    ign_boxes, _, ign_valid = pad_instances(as_instances[1], 3, torch.device('cpu'))
    # Boxes marked invalid count for nothing, whatever their coordinates.
    gt_boxes[1] = gt_boxes[0]
    ign_boxes[2] = ign_boxes[1]
    inputs = (torch.tensor(preds), gt_boxes, gt_valid, ign_boxes, ign_valid)
    copies = [t.clone() for t in inputs]
    ignored = YOLOAnchorAssigner(ignore_iou_thr=iou_thr, ignore_iof_thr=iof_thr).ignored_negatives(
        *inputs)
    expected = reference_ignored(preds, gts, ignores, iou_thr, iof_thr)
    assert ignored.tolist() == expected
    assert all(torch.equal(t, c) for t, c in zip(inputs, copies))  # in-place work on own buffers
    assert any(any(row) for row in expected) and not all(all(row) for row in expected)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match='match'):
        YOLOAnchorAssigner(match='nearest')
    with pytest.raises(ValueError, match='anchor_t'):
        YOLOAnchorAssigner(anchor_t=1.0)
    with pytest.raises(ValueError, match='collisions'):
        YOLOAnchorAssigner(collisions='merge')
    with pytest.raises(ValueError, match='neighbor_cells'):
        YOLOAnchorAssigner(match='max_iou', neighbor_cells=True)
    for thr in (-0.1, 1.5):
        with pytest.raises(ValueError, match='ignore_iou_thr'):
            YOLOAnchorAssigner(ignore_iou_thr=thr)
        with pytest.raises(ValueError, match='ignore_iof_thr'):
            YOLOAnchorAssigner(ignore_iof_thr=thr)
    for thr in (None, 0.0, 1.0):  # the ends and "off" are accepted
        YOLOAnchorAssigner(ignore_iou_thr=thr, ignore_iof_thr=thr)


def test_wh_iou_against_box_iou():
    """Centred-box IoU equals the IoU of the boxes placed on one centre."""
    rng = np.random.default_rng(0)
    wh = rng.uniform(1, 50, (20, 2))
    anchors = rng.uniform(1, 50, (4, 2))
    iou = wh_iou(torch.from_numpy(wh), torch.from_numpy(anchors)).numpy()
    for i, (w, h) in enumerate(wh):
        for j, (aw, ah) in enumerate(anchors):
            inter = min(w, aw) * min(h, ah)
            assert iou[i, j] == pytest.approx(inter / (w * h + aw * ah - inter))
