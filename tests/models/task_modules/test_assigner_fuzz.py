"""Property-based tests of the target assignment: random boxes of any size,
degenerate and huge counts never crash, and no ground truth is lost without
being counted."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.models.yolo_reference import ANCHORS, STRIDES
from yolo_plugin.models.task_modules import YOLOAnchorAssigner, YOLOPriorGenerator

coordinate = st.floats(min_value=-500, max_value=1500, allow_nan=False, width=32)
box = st.tuples(coordinate, coordinate, st.floats(0, 2000, width=32),
                st.floats(0, 2000, width=32)).map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])
batch = st.lists(st.lists(box, max_size=40), min_size=1, max_size=4)
assigners = st.sampled_from([
    dict(match='max_iou'),
    dict(match='max_iou', collisions='next_anchor'),
    dict(match='ratio', neighbor_cells=True),
    dict(match='ratio', anchor_t=1.5),
])
PRIORS = YOLOPriorGenerator(ANCHORS, STRIDES).grid_priors([(4, 7), (8, 14), (16, 28)],
                                                          torch.device('cpu'))


def padded(boxes_per_img):
    count = max(len(b) for b in boxes_per_img)
    gt = torch.zeros(len(boxes_per_img), count, 4)
    valid = torch.zeros(len(boxes_per_img), count, dtype=torch.bool)
    for i, boxes in enumerate(boxes_per_img):
        if boxes:
            gt[i, :len(boxes)] = torch.tensor(boxes)
            valid[i, :len(boxes)] = True
    return gt, valid


def check(gt, valid, cfg):
    result = YOLOAnchorAssigner(**cfg).assign(gt, valid, PRIORS)
    num_priors = len(PRIORS.levels)
    assert ((result.prior_idx >= 0) & (result.prior_idx < num_priors)).all()
    assert valid[result.batch_idx, result.gt_idx].all()
    matched = {(b, g) for b, g in zip(result.batch_idx.tolist(), result.gt_idx.tolist())}
    assert len(matched) + int(result.num_unmatched) == int(valid.sum())
    if cfg['match'] == 'ratio':
        # Each ground truth takes at least its best anchor: none is left out,
        # counted from the matches (num_unmatched is 0 by definition here).
        assert len(matched) == int(valid.sum())
    else:
        pairs = result.batch_idx * num_priors + result.prior_idx
        assert len(pairs.unique()) == len(pairs)  # one ground truth a prior


@settings(max_examples=60, deadline=None)
@given(boxes=batch, cfg=assigners)
def test_any_boxes(boxes, cfg):
    if not any(boxes):
        boxes = boxes + [[]]
    check(*padded(boxes), cfg)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), cfg=assigners)
def test_huge_counts(seed, cfg):
    generator = torch.Generator().manual_seed(seed)
    xy = torch.rand(4, 3000, 2, generator=generator) * torch.tensor([224., 128.])
    wh = torch.rand(4, 3000, 2, generator=generator) ** 3 * 300
    gt = torch.cat((xy, xy + wh), -1)
    valid = torch.rand(4, 3000, generator=generator) < 0.9
    check(gt, valid, cfg)
