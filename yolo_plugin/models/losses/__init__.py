from .bce_loss import SigmoidBCELoss
from .elementwise_loss import ElementwiseLoss
from .iou_loss import IoULoss, aligned_iou

__all__ = ['ElementwiseLoss', 'SigmoidBCELoss', 'IoULoss', 'aligned_iou']
