"""IoU-family and BCE losses against mmdet's implementations and the
formulas."""
import math

import pytest
import torch
from mmdet.models.losses import CIoULoss, DIoULoss, GIoULoss
from mmdet.structures.bbox import bbox_overlaps

from yolo_plugin.models.losses import YOLOIoULoss, SigmoidBCELoss, aligned_iou


def random_pairs(seed, count=200):
    generator = torch.Generator().manual_seed(seed)
    xy = torch.rand(count, 2, 2, generator=generator) * 100
    wh = torch.rand(count, 2, 2, generator=generator) * 50 + 1
    boxes = torch.cat((xy, xy + wh), -1)
    return boxes[:, 0], boxes[:, 1]


@pytest.mark.parametrize('mode', ['iou', 'giou'])
def test_iou_and_giou_equal_mmdet_overlaps(mode):
    a, b = random_pairs(0)
    assert torch.allclose(aligned_iou(a, b, mode),
                          bbox_overlaps(a, b, mode=mode, is_aligned=True), atol=1e-5)


@pytest.mark.parametrize('mode, reference', [('giou', GIoULoss), ('diou', DIoULoss)])
def test_losses_equal_mmdet(mode, reference):
    a, b = random_pairs(1)
    weight = torch.rand(len(a))
    ours = YOLOIoULoss(mode=mode, eps=1e-6)(a, b, weight=weight)
    theirs = reference(eps=1e-6)(a, b, weight=weight)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)


def test_ciou_equals_mmdet_where_both_define_it_alike():
    # mmdet drops the aspect term below IoU 0.5 (an implementation choice);
    # YOLOv5 and the CIoU paper keep it. Compare where IoU > 0.5.
    a, _ = random_pairs(2, 500)
    b = a + torch.randn(a.shape, generator=torch.Generator().manual_seed(3)) * 4
    keep = aligned_iou(a, b) > 0.5
    a, b = a[keep], b[keep]
    assert len(a) > 100
    ours = YOLOIoULoss(mode='ciou', eps=1e-6)(a, b, reduction_override='none')
    theirs = CIoULoss(eps=1e-6)(a, b, reduction_override='none')
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_ciou_formula():
    a, b = torch.tensor([0., 0., 4., 2.]), torch.tensor([1., 1., 3., 5.])
    iou = 2 / (8 + 8 - 2)  # overlap 2 x 1
    centre_gap = (2 - 2)**2 + (1 - 3)**2
    diagonal = 4**2 + 5**2
    v = 4 / math.pi**2 * (math.atan(2 / 4) - math.atan(4 / 2))**2
    expected = iou - centre_gap / diagonal - v / (1 - iou + v) * v
    assert aligned_iou(a, b, 'ciou').item() == pytest.approx(expected, rel=1e-5)


def test_bce_equals_torch_and_focal_formula():
    logits = torch.randn(50)
    targets = torch.rand(50)
    plain = SigmoidBCELoss(reduction='none')(logits, targets)
    assert torch.allclose(plain, torch.nn.functional.binary_cross_entropy_with_logits(
        logits, targets, reduction='none'))
    focal = SigmoidBCELoss(gamma=2.0, alpha=0.25, reduction='none')(logits, targets)
    prob = logits.sigmoid()
    expected = plain * (targets - prob).abs()**2 * (0.25 * targets + 0.75 * (1 - targets))
    assert torch.allclose(focal, expected, atol=1e-6)


def test_label_smoothing_targets():
    """Targets 1, 0 and 0.5 become 0.9, 0.1 and 0.5 (at logits other than
    0, where every target has the same loss, log 2)."""
    logits = torch.tensor([1.5, -0.7, 2.0])
    smoothed = SigmoidBCELoss(label_smoothing=0.2, reduction='none')(
        logits, torch.tensor([1.0, 0.0, 0.5]))
    reference = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.tensor([0.9, 0.1, 0.5]), reduction='none')
    assert torch.allclose(smoothed, reference, rtol=0, atol=1e-7)


def test_weight_and_reduction():
    logits, targets = torch.randn(4, 3), torch.rand(4, 3)
    loss = SigmoidBCELoss(loss_weight=2.0, reduction='sum')
    weight = torch.tensor([1.0, 0.0, 1.0, 0.0])[:, None]
    expected = 2 * (torch.nn.functional.binary_cross_entropy_with_logits(
        logits, targets, reduction='none') * weight).sum()
    assert loss(logits, targets, weight=weight).item() == pytest.approx(expected.item(), rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        YOLOIoULoss(mode='eiou')
    with pytest.raises(ValueError, match='gamma'):
        SigmoidBCELoss(gamma=-1)
