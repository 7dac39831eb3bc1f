"""Checkpoints of mmdet's YOLOv3 (``YOLOV3`` with ``Darknet``, ``YOLOV3Neck``
and ``YOLOV3Head``) renamed for our Darknet53, YOLOFPNNeck and YOLOAnchorHead.

Both models hold the same layers in the same shapes and the same
``ConvModule`` internals (``conv`` / ``bn``); only the module paths differ,
by one rule a module family (mmdet counts from 1 where we count from 0,
and a residual block is ``res{j}`` after the stage's stride-2 ``conv``
where ours is entry ``j + 1`` of the stage):

===========================================  =====================================
mmdet                                        yolo_plugin
===========================================  =====================================
``backbone.conv1``                           ``backbone.stem``
``backbone.conv_res_block{i}.conv``          ``backbone.stage{i}.0``
``backbone.conv_res_block{i}.res{j}.conv1``  ``backbone.stage{i}.{j+1}.squeeze``
``backbone.conv_res_block{i}.res{j}.conv2``  ``backbone.stage{i}.{j+1}.expand``
``neck.detect{l}.conv{c}``                   ``neck.detect_blocks.{l-1}.convs.{c-1}``
``neck.conv{l}``                             ``neck.lateral_convs.{l-1}``
``bbox_head.convs_bridge.{l}``               ``bbox_head.bridge_convs.{l}``
``bbox_head.convs_pred.{l}``                 ``bbox_head.pred_convs.{l}``
===========================================  =====================================

The backbone rules are Darknet53's own, which renames mmdet's ``Darknet``
alone (its ImageNet ``open-mmlab://darknet53``, keys without
``backbone.``) whenever it loads weights: see
:func:`~yolo_plugin.models.backbones.darknet.convert_mmdet_backbone_keys`.
"""
import os.path as osp
import re
from typing import Callable, Dict, Mapping, Tuple

import torch
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

from yolo_plugin.models.backbones.darknet import rename_mmdet_darknet_key

_BACKBONE = 'backbone.'  # the backbone's key prefix in mmdet's YOLOv3
# Module path rules of the neck and the head, matched at the start of a key;
# the rest of the key (``conv.weight``, ``bn.running_var``, ``bias`` ...) is
# kept. The backbone's are Darknet53's own (it loads mmdet's Darknet too).
_NECK_AND_HEAD_RULES: Tuple[Tuple[re.Pattern, Callable[[re.Match], str]], ...] = (
    (re.compile(r'neck\.detect(\d+)\.conv(\d+)\.'),
     lambda m: f'neck.detect_blocks.{int(m[1]) - 1}.convs.{int(m[2]) - 1}.'),
    (re.compile(r'neck\.conv(\d+)\.'), lambda m: f'neck.lateral_convs.{int(m[1]) - 1}.'),
    (re.compile(r'bbox_head\.convs_bridge\.(\d+)\.'), lambda m: f'bbox_head.bridge_convs.{m[1]}.'),
    (re.compile(r'bbox_head\.convs_pred\.(\d+)\.'), lambda m: f'bbox_head.pred_convs.{m[1]}.'),
)


def convert_mmdet_key(key: str) -> str:
    """Our name for a state-dict key of mmdet's YOLOv3.

    Raises:
        KeyError: for a key outside mmdet's YOLOv3 (Darknet-53 backbone).
    """
    if key.startswith(_BACKBONE):
        ours = rename_mmdet_darknet_key(key[len(_BACKBONE):])
        if ours is not None:
            return _BACKBONE + ours
    for pattern, rename in _NECK_AND_HEAD_RULES:
        match = pattern.match(key)
        if match:
            return rename(match) + key[match.end():]
    raise KeyError(key)


def convert_mmdet_state_dict(state_dict: Mapping[str, torch.Tensor],
                             source: str = 'the state dict') -> Dict[str, torch.Tensor]:
    """A state dict of mmdet's YOLOv3 under our names (same tensors, same
    order).

    Raises:
        KeyError: naming ``source`` and the keys that belong to no module of
            mmdet's Darknet-53 YOLOv3 (another backbone or detector).
    """
    converted, unknown = {}, []
    for key, value in state_dict.items():
        try:
            converted[convert_mmdet_key(key)] = value
        except KeyError:
            unknown.append(key)
    if unknown:
        raise KeyError(f'{source}: {len(unknown)} keys are not from mmdet\'s YOLOv3 with a '
                       f'Darknet-53 backbone, e.g. {unknown[:5]}')
    return converted


def convert_mmdet_checkpoint(in_path: str, out_path: str) -> dict:
    """Convert a checkpoint file of mmdet's YOLOv3 (e.g. from mmdet's model
    zoo) and save it as an mmengine checkpoint that our configs load with
    ``load_from`` or ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    The class names of the source (``meta['dataset_meta']['classes']`` of
    mmdet 3.x, ``meta['CLASSES']`` of 2.x) go to ``meta['dataset_meta']``.

    Returns:
        The saved checkpoint, ``{'meta': ..., 'state_dict': ...}``.
    """
    checkpoint = CheckpointLoader.load_checkpoint(in_path, map_location='cpu')
    source_meta = checkpoint.get('meta') or {}
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = dict(converted_from=osp.basename(in_path))
    classes = (source_meta.get('dataset_meta') or {}).get('classes') or source_meta.get('CLASSES')
    if classes:
        meta['dataset_meta'] = dict(classes=tuple(classes))
    converted = dict(meta=meta, state_dict=convert_mmdet_state_dict(state_dict, in_path))
    save_checkpoint(converted, out_path)
    return converted
