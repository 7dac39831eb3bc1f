"""Edges of the losses found by mutation testing (docs/testing.md):
sub-pixel and degenerate boxes, the loss classes' defaults, focal
exponents below 1, the argument ranges and full refusal messages."""
import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps

from yolo_plugin.models.losses import SigmoidBCELoss, YOLOIoULoss, aligned_iou
from yolo_plugin.models.losses.iou_loss import IOU_MODES


def test_sub_pixel_boxes_equal_mmdet_overlaps():
    """Predictions early in training can be smaller than a pixel."""
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, 2, generator=generator) * 2
    wh = torch.rand(300, 2, 2, generator=generator) * 0.9 + 0.05
    boxes = torch.cat((xy, xy + wh), -1)
    a, b = boxes[:, 0], boxes[:, 1]
    for mode in ('iou', 'giou'):
        torch.testing.assert_close(aligned_iou(a, b, mode, eps=1e-9),
                                   bbox_overlaps(a, b, mode=mode, is_aligned=True, eps=1e-9),
                                   rtol=0, atol=1e-5)


def test_scores_stay_in_range_for_degenerate_boxes():
    """Boxes without width or height (also coinciding) and a line against a
    tall box: finite scores, IoU in [0, 1], GIoU and DIoU in [-1, 1], CIoU
    above -1.5 (DIoU above -1 minus an aspect term of at most 1/2 for
    disjoint boxes)."""
    boxes1 = torch.tensor([[0., 0., 10., 0.], [5., 5., 5., 5.], [0., 0., 0., 10.],
                           [3., 3., 3., 3.], [0., 0., 10., 0.]])
    boxes2 = torch.tensor([[0., 0., 1., 10.], [5., 5., 5., 5.], [20., 0., 30., 10.],
                           [3., 3., 3., 3.], [0., 0., 10., 0.]])
    low = dict(iou=0., giou=-1., diou=-1., ciou=-1.5)
    for mode in IOU_MODES:
        scores = aligned_iou(boxes1, boxes2, mode)
        assert torch.isfinite(scores).all(), mode
        assert (scores >= low[mode]).all() and (scores <= 1).all(), (mode, scores)
        # coinciding points: nothing overlaps, nothing is apart
        assert scores[1] == scores[3] == 0, (mode, scores)


def test_iou_loss_defaults_and_settings():
    generator = torch.Generator().manual_seed(1)
    xy = torch.rand(50, 2, 2, generator=generator) * 0.5
    boxes = torch.cat((xy, xy + 0.01 + torch.rand(50, 2, 2, generator=generator) * 0.05), -1)
    pred, target = boxes[:, 0], boxes[:, 1]
    loss = YOLOIoULoss(reduction='none')
    torch.testing.assert_close(loss(pred, target), 1 - aligned_iou(pred, target, 'ciou', 1e-7))
    coarse = YOLOIoULoss(eps=1e-3, loss_weight=2.0, reduction='none')(pred, target)
    torch.testing.assert_close(coarse, 2 * (1 - aligned_iou(pred, target, 'ciou', 1e-3)))
    assert not torch.allclose(coarse / 2, loss(pred, target), rtol=0, atol=1e-4)
    assert YOLOIoULoss().reduction == 'mean' and YOLOIoULoss().mode == 'ciou'
    assert SigmoidBCELoss().reduction == 'mean'


def test_focal_exponent_below_one():
    logits, targets = torch.tensor([1.2, -0.4, 0.3]), torch.tensor([1.0, 0.0, 0.7])
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets,
                                                                 reduction='none')
    focal = SigmoidBCELoss(gamma=0.5, alpha=0.6, reduction='none')(logits, targets)
    modulation = (targets - logits.sigmoid()).abs().sqrt()
    torch.testing.assert_close(focal, plain * modulation * (0.6 * targets + 0.4 * (1 - targets)))


@pytest.mark.parametrize('settings', [dict(label_smoothing=1.0), dict(alpha=0.0),
                                      dict(alpha=1.0), dict(gamma=-0.5)])
def test_bce_argument_ranges(settings):
    with pytest.raises(ValueError) as error:
        SigmoidBCELoss(**settings)
    values = dict(dict(gamma=0.0, alpha=0.25, label_smoothing=0.0), **settings)
    assert str(error.value) == (
        'SigmoidBCELoss: need gamma >= 0, 0 < alpha < 1 and 0 <= label_smoothing < 1, got '
        f"gamma={values['gamma']}, alpha={values['alpha']}, "
        f"label_smoothing={values['label_smoothing']}")
    SigmoidBCELoss(gamma=0.0, alpha=0.99, label_smoothing=0.99)  # the edges inside


def test_iou_mode_refusals():
    with pytest.raises(ValueError) as error:
        aligned_iou(torch.zeros(1, 4), torch.zeros(1, 4), 'eiou')
    assert str(error.value) == ("aligned_iou: mode must be one of ('iou', 'giou', 'diou', "
                                "'ciou'), got 'eiou'")
    with pytest.raises(ValueError) as error:
        YOLOIoULoss(mode='eiou')
    assert str(error.value) == ("YOLOIoULoss: mode must be one of ('iou', 'giou', 'diou', "
                                "'ciou'), got 'eiou'")


def test_batched_boxes_score_as_flat_ones():
    """``(..., 4)`` boxes: a (2, 50, 4) batch scores as its 100 pairs."""
    generator = torch.Generator().manual_seed(2)
    xy = torch.rand(2, 50, 2, 2, generator=generator) * 20
    boxes = torch.cat((xy, xy + torch.rand(2, 50, 2, 2, generator=generator) * 10 + 1), -1)
    for mode in IOU_MODES:
        batched = aligned_iou(boxes[..., 0, :], boxes[..., 1, :], mode)
        flat = aligned_iou(boxes[..., 0, :].reshape(-1, 4), boxes[..., 1, :].reshape(-1, 4), mode)
        torch.testing.assert_close(batched, flat.view(2, 50), rtol=0, atol=0)


def test_bce_takes_integer_and_double_targets():
    logits = torch.tensor([1.2, -0.4, 0.3])
    expected = SigmoidBCELoss(reduction='none')(logits, torch.tensor([1.0, 0.0, 1.0]))
    for targets in (torch.tensor([1, 0, 1]), torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)):
        torch.testing.assert_close(SigmoidBCELoss(reduction='none')(logits, targets), expected)
