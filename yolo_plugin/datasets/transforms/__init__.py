"""Data transforms of yolo_plugin (mmdet's serve for everything else)."""
from .formatting import PackDetInputsChannelsLast
from .geometric import RandomExpandCropResizeFlip
from .loading import LoadImageFromPackOrFile
from .photometric import DeferredPhotoMetricDistortion

__all__ = [
    'DeferredPhotoMetricDistortion', 'LoadImageFromPackOrFile',
    'PackDetInputsChannelsLast', 'RandomExpandCropResizeFlip'
]
