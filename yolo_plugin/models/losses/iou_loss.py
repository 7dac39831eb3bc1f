"""IoU, GIoU, DIoU and CIoU of aligned box pairs, and the box loss on them."""
import math

import torch

from yolo_plugin.registry import MODELS
from .elementwise_loss import ElementwiseLoss

IOU_MODES = ('iou', 'giou', 'diou', 'ciou')


def aligned_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, mode: str = 'iou',
                eps: float = 1e-7) -> torch.Tensor:
    """IoU-family score of each pair ``(boxes1[i], boxes2[i])``.

    Args:
        boxes1, boxes2: ``(..., 4)`` xyxy, same units.
        mode: ``'iou'``; ``'giou'`` (minus the empty share of the enclosing
            box, Rezatofighi et al. 2019); ``'diou'`` (minus the squared
            centre distance over the enclosing diagonal squared, Zheng et
            al. 2020); ``'ciou'`` (DIoU minus the aspect-ratio term
            ``alpha * v``).

    Returns:
        ``(...)`` scores: ``[0, 1]`` for ``'iou'``, ``[-1, 1]`` for
        ``'giou'`` and ``'diou'``, ``(-1.5, 1]`` for ``'ciou'`` (DIoU above
        -1, minus an aspect term of at most 1/2 for disjoint boxes).
    """
    if mode not in IOU_MODES:
        raise ValueError(f'aligned_iou: mode must be one of {IOU_MODES}, got {mode!r}')
    boxes1, boxes2 = boxes1.float(), boxes2.float()
    wh1 = (boxes1[..., 2:] - boxes1[..., :2]).clamp(min=0)
    wh2 = (boxes2[..., 2:] - boxes2[..., :2]).clamp(min=0)
    inter_wh = (torch.minimum(boxes1[..., 2:], boxes2[..., 2:]) -
                torch.maximum(boxes1[..., :2], boxes2[..., :2])).clamp(min=0)
    inter = inter_wh.prod(-1)
    union = wh1.prod(-1) + wh2.prod(-1) - inter + eps
    iou = inter / union
    if mode == 'iou':
        return iou
    enclose_wh = (torch.maximum(boxes1[..., 2:], boxes2[..., 2:]) -
                  torch.minimum(boxes1[..., :2], boxes2[..., :2])).clamp(min=0)
    if mode == 'giou':
        enclose = enclose_wh.prod(-1) + eps
        return iou - (enclose - union) / enclose
    diagonal = enclose_wh.square().sum(-1) + eps
    centre_gap = ((boxes1[..., :2] + boxes1[..., 2:]) -
                  (boxes2[..., :2] + boxes2[..., 2:])).square().sum(-1) / 4
    diou = iou - centre_gap / diagonal
    if mode == 'diou':
        return diou
    angle1 = torch.atan(wh1[..., 0] / (wh1[..., 1] + eps))
    angle2 = torch.atan(wh2[..., 0] / (wh2[..., 1] + eps))
    v = (4 / math.pi**2) * (angle2 - angle1).square()
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


@MODELS.register_module()
class YOLOIoULoss(ElementwiseLoss):
    """``1 - score`` of an IoU-family ``mode`` (see :func:`aligned_iou`) for
    aligned ``(N, 4)`` xyxy boxes."""

    def __init__(self,
                 mode: str = 'ciou',
                 eps: float = 1e-7,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if mode not in IOU_MODES:
            raise ValueError(f'YOLOIoULoss: mode must be one of {IOU_MODES}, got {mode!r}')
        self.mode = mode
        self.eps = eps

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1 - aligned_iou(pred, target, self.mode, self.eps)
