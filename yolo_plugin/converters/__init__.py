"""Weights from elsewhere into our YOLOv3, and back: Darknet's weight files
and mmdet's YOLOv3 checkpoints (``tools/convert_*.py``,
``tools/export_darknet_weights.py``)."""
from .darknet_weights import (DarknetConv, DarknetHeader, convert_darknet_weights,
                              count_backbone_layers, darknet_conv_layers, export_darknet_weights,
                              read_darknet_weights, write_darknet_weights)
from .mmdet_checkpoint import convert_mmdet_checkpoint, convert_mmdet_key, convert_mmdet_state_dict

__all__ = [
    'DarknetConv', 'DarknetHeader', 'convert_darknet_weights', 'count_backbone_layers',
    'darknet_conv_layers', 'export_darknet_weights', 'read_darknet_weights',
    'write_darknet_weights', 'convert_mmdet_checkpoint', 'convert_mmdet_key',
    'convert_mmdet_state_dict'
]
