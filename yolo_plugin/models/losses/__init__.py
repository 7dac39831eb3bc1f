from .bce_loss import SigmoidBCELoss
from .iou_loss import IoULoss, aligned_iou

__all__ = ['SigmoidBCELoss', 'IoULoss', 'aligned_iou']
