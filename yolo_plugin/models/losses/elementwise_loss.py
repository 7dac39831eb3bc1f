"""The shared shape of the element-wise losses: weights, reduction, factor."""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.models.losses.utils import weight_reduce_loss


class ElementwiseLoss(nn.Module):
    """A loss computed element by element (:meth:`elementwise`), then
    weighted, reduced and scaled, with mmdet's loss call signature.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor on the result.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> torch.Tensor:
        """``weight`` broadcasts to the element-wise loss."""
        loss = self.elementwise(pred, target)
        if weight is not None:
            weight = weight.expand_as(loss)
        return self.loss_weight * weight_reduce_loss(
            loss, weight, reduction_override or self.reduction, avg_factor)
