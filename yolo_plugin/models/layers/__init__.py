from .bbox_nms import BatchedDetections, batched_multiclass_nms
from .conv import ChannelsLastConv2d, conv2d_weight_grad_nhwc

__all__ = ['BatchedDetections', 'batched_multiclass_nms', 'ChannelsLastConv2d',
           'conv2d_weight_grad_nhwc']
