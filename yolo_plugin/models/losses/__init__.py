from .bce_loss import SigmoidBCELoss
from .elementwise_loss import ElementwiseLoss
from .iou_loss import YOLOIoULoss, aligned_iou

__all__ = ['ElementwiseLoss', 'SigmoidBCELoss', 'YOLOIoULoss', 'aligned_iou']
