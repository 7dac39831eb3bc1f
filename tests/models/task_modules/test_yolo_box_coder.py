"""YOLOBoxCoder and YOLOPriorGenerator against mmdet's YOLO anchor
generator and box coder, and the YOLOv5 formulas."""
import math

import pytest
import torch
from mmdet.models.task_modules.coders import YOLOBBoxCoder
from mmdet.models.task_modules.prior_generators import YOLOAnchorGenerator

from yolo_plugin.models.task_modules import YOLOBoxCoder, YOLOPriorGenerator

ANCHORS = [[(116, 90), (156, 198), (373, 326)], [(30, 61), (62, 45), (59, 119)],
           [(10, 13), (16, 30), (33, 23)]]
SIZES = [(3, 5), (6, 10), (12, 20)]


@pytest.fixture
def priors():
    return YOLOPriorGenerator(ANCHORS, (32, 16, 8)).grid_priors(SIZES, torch.device('cpu'))


def test_priors_and_v3_decode_equal_mmdet(priors):
    generator = YOLOAnchorGenerator(strides=[32, 16, 8], base_sizes=ANCHORS)
    anchors = torch.cat(generator.grid_priors(SIZES, device='cpu'))  # (N, 4) xyxy
    strides = torch.cat([torch.full((h * w * 3, ), float(s))
                         for (h, w), s in zip(SIZES, (32, 16, 8))])
    deltas = torch.randn(2, len(anchors), 4, generator=torch.Generator().manual_seed(0))
    ours = YOLOBoxCoder('v3').decode(deltas, priors.cells, priors.anchors, priors.strides)
    mm_input = torch.cat((deltas[..., :2].sigmoid(), deltas[..., 2:]), -1)
    theirs = YOLOBBoxCoder().decode(anchors.expand(2, -1, -1), mm_input, strides[:, None])
    assert torch.allclose(ours, theirs, atol=1e-4)
    assert torch.equal(priors.strides, strides)
    assert priors.level_offsets.tolist() == [0, 45, 225]


def _v5_box(deltas, cell, anchor, stride):
    """One YOLOv5 box (x1, y1, x2, y2) in plain Python: centre
    ``(2 sigmoid(t) - 0.5 + cell) * stride``, size ``(2 sigmoid(t))**2 * anchor``."""
    tx, ty, tw, th = (1 / (1 + math.exp(-t)) for t in deltas)
    cx, cy = (2 * tx - 0.5 + cell[0]) * stride, (2 * ty - 0.5 + cell[1]) * stride
    w, h = (2 * tw)**2 * anchor[0], (2 * th)**2 * anchor[1]
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def test_v5_decode_formula(priors):
    deltas = 2 * torch.randn(2, len(priors.cells), 4, generator=torch.Generator().manual_seed(0))
    boxes = YOLOBoxCoder('v5').decode(deltas, priors.cells, priors.anchors, priors.strides)
    expected = [[_v5_box(t, cell, anchor, stride)
                 for t, cell, anchor, stride in zip(image.tolist(), priors.cells.tolist(),
                                                    priors.anchors.tolist(),
                                                    priors.strides.tolist())]
                for image in deltas]
    # float32 rounding: at most 9.1e-5 px measured, on coordinates up to 810 px
    torch.testing.assert_close(boxes, torch.tensor(expected), rtol=0, atol=2e-4)
    big = YOLOBoxCoder('v5').decode(torch.full((1, 1, 4), 50.), priors.cells[:1],
                                    priors.anchors[:1], priors.strides[:1])
    assert torch.allclose(big[0, 0, 2:] - big[0, 0, :2], 4 * priors.anchors[0])


def test_encode_inverts_decode(priors):
    coder = YOLOBoxCoder('v3')
    deltas = torch.randn(len(priors.cells), 4) * 0.7
    boxes = coder.decode(deltas, priors.cells, priors.anchors, priors.strides)
    xy, log_wh = coder.encode(boxes, priors.cells, priors.anchors, priors.strides)
    assert torch.allclose(xy, deltas[:, :2].sigmoid(), atol=1e-5)
    assert torch.allclose(log_wh, deltas[:, 2:], atol=1e-4)


def test_size_clamp_keeps_fp16_finite(priors):
    boxes = YOLOBoxCoder('v3').decode(torch.full((1, len(priors.cells), 4), 1e4),
                                      priors.cells, priors.anchors, priors.strides)
    assert torch.isfinite(boxes.half()).all()
    widest = boxes[..., 2] - boxes[..., 0]
    assert widest.max() == pytest.approx(373 * 1000 / 16, rel=1e-4)
    assert math.isfinite(float(widest.max().half()))


def test_v5_has_no_xy_wh_targets():
    with pytest.raises(ValueError, match="'v3'"):
        YOLOBoxCoder('v5').encode(torch.zeros(1, 4), torch.zeros(1, 2), torch.ones(1, 2),
                                  torch.ones(1))
    with pytest.raises(ValueError, match='variant'):
        YOLOBoxCoder('v7')


def test_prior_generator_rejects_bad_anchors():
    with pytest.raises(ValueError, match='same number'):
        YOLOPriorGenerator([[(1, 2)], [(1, 2), (3, 4)]], (16, 8))
    with pytest.raises(ValueError, match='positive'):
        YOLOPriorGenerator([[(0, 2)]], (8, ))
