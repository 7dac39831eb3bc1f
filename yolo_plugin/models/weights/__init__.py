"""Pretrained weights: Darknet weight files, mmdet checkpoints, and
checkpoints of another class set."""
from .class_transfer import adapt_class_outputs
from .darknet_weights import (DarknetConv, DarknetHeader, build_detector,
                              convert_darknet_weights, count_backbone_layers,
                              darknet_conv_layers, export_darknet_weights,
                              load_model_config, read_darknet_weights,
                              write_darknet_weights)
from .mmdet_checkpoint import (convert_mmdet_backbone_keys, convert_mmdet_checkpoint,
                               convert_mmdet_key, convert_mmdet_state_dict)

__all__ = [
    'adapt_class_outputs', 'DarknetConv', 'DarknetHeader', 'build_detector',
    'convert_darknet_weights', 'count_backbone_layers', 'darknet_conv_layers',
    'export_darknet_weights', 'load_model_config', 'read_darknet_weights',
    'write_darknet_weights', 'convert_mmdet_backbone_keys', 'convert_mmdet_checkpoint',
    'convert_mmdet_key', 'convert_mmdet_state_dict'
]
