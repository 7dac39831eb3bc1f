from .bbox_nms import BatchedDetections, batched_multiclass_nms

__all__ = ['BatchedDetections', 'batched_multiclass_nms']
