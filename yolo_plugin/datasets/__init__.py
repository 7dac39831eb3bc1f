"""Data sets in their raw layouts (KITTI, Cityscapes), the packed cache and
the synthetic demo data."""
from .bad_samples import BadSampleError
from .base_driving_dataset import BaseDrivingDataset
from .cityscapes import CityscapesGtFineDataset
from .kitti import KittiDataset
from .kitti_format import KITTI_CLASSES
from .packed import PackedImageFile, write_pack
from .transforms import LoadImageFromPackOrFile

__all__ = [
    'BadSampleError', 'BaseDrivingDataset', 'CityscapesGtFineDataset',
    'KITTI_CLASSES', 'KittiDataset', 'LoadImageFromPackOrFile',
    'PackedImageFile', 'write_pack'
]
