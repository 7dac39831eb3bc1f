from .bbox_nms import BatchedDetections, batched_multiclass_nms
from .conv import GemmWeightGradConv2d, conv2d_weight_grad_nhwc

__all__ = ['BatchedDetections', 'batched_multiclass_nms', 'GemmWeightGradConv2d',
           'conv2d_weight_grad_nhwc']
