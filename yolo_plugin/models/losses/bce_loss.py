"""Binary cross-entropy on logits with soft targets, focal modulation and
label smoothing: the objectness, class and x/y losses of the YOLO family."""
import torch
import torch.nn.functional as F

from yolo_plugin.registry import MODELS
from .elementwise_loss import ElementwiseLoss


@MODELS.register_module()
class SigmoidBCELoss(ElementwiseLoss):
    """``BCE(sigmoid(pred), target)`` element-wise, computed from logits;
    ``pred`` logits of any shape, ``target`` probabilities of the same.

    Args:
        gamma: focal modulation ``|target - sigmoid(pred)| ** gamma``
            (Lin et al. 2017, in its soft-target form as YOLOv5 uses it);
            0 gives plain BCE.
        alpha: focal weighting of positives against negatives
            (``alpha * t + (1 - alpha) * (1 - t)``); used only with ``gamma > 0``.
        label_smoothing: targets become ``t * (1 - eps) + eps / 2``.
        reduction, loss_weight: see :class:`ElementwiseLoss`.
    """

    def __init__(self,
                 gamma: float = 0.0,
                 alpha: float = 0.25,
                 label_smoothing: float = 0.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if gamma < 0 or not 0 <= label_smoothing < 1 or not 0 < alpha < 1:
            raise ValueError('SigmoidBCELoss: need gamma >= 0, 0 < alpha < 1 and '
                             f'0 <= label_smoothing < 1, got gamma={gamma}, '
                             f'alpha={alpha}, label_smoothing={label_smoothing}')
        self.gamma = gamma
        self.alpha = alpha
        self.label_smoothing = label_smoothing

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred = pred.float()
        target = target.to(pred.dtype)
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + self.label_smoothing / 2
        loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
        if self.gamma > 0:
            loss = loss * (target - pred.sigmoid()).abs().pow(self.gamma)
            loss = loss * (self.alpha * target + (1 - self.alpha) * (1 - target))
        return loss
