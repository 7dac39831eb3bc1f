"""Checkpoints of mmdet's YOLOv3 (``YOLOV3`` with ``Darknet``, ``YOLOV3Neck``
and ``YOLOV3Head``) renamed for our Darknet53, YOLOv3Neck and YOLOv3Head.

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

The backbone rules also rename mmdet's ``Darknet`` alone (its ImageNet
``open-mmlab://darknet53``, keys without ``backbone.``) when our Darknet53
loads it: see :func:`convert_mmdet_backbone_keys`.
"""
import os.path as osp
import re
from typing import Callable, Dict, Mapping, MutableMapping, Tuple

import torch
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

_Rule = Tuple[re.Pattern, Callable[[re.Match], str]]
_RES_CONVS = ('squeeze', 'expand')
_BACKBONE = 'backbone.'  # the backbone's key prefix in mmdet's YOLOv3

# Module path rules, matched at the start of a key; the rest of the key
# (``conv.weight``, ``bn.running_var``, ``bias`` ...) is kept.
_MODULE_RULES: Tuple[_Rule, ...] = (
    (re.compile(r'backbone\.conv1\.'), lambda m: 'backbone.stem.'),
    (re.compile(r'backbone\.conv_res_block(\d+)\.conv\.'),
     lambda m: f'backbone.stage{m[1]}.0.'),
    (re.compile(r'backbone\.conv_res_block(\d+)\.res(\d+)\.conv([12])\.'),
     lambda m: f'backbone.stage{m[1]}.{int(m[2]) + 1}.{_RES_CONVS[int(m[3]) - 1]}.'),
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
    for pattern, rename in _MODULE_RULES:
        match = pattern.match(key)
        if match:
            return rename(match) + key[match.end():]
    raise KeyError(key)


def convert_mmdet_backbone_keys(state_dict: MutableMapping[str, torch.Tensor],
                                prefix: str) -> int:
    """Rename, in place, the keys under ``prefix`` that name a module of
    mmdet's ``Darknet`` (``conv1.conv.weight``,
    ``conv_res_block4.res7.conv2.bn.running_var``, ...) to our Darknet53's
    (``stem.conv.weight``, ``stage4.8.expand.bn.running_var``, ...); other
    keys stay as they are.

    Args:
        state_dict: the tensors being loaded (the loader's own copy).
        prefix: the backbone's key prefix, e.g. ``'backbone.'`` in a
            detector, ``''`` for the backbone alone.

    Returns:
        The number of keys renamed.
    """
    renamed = 0
    for key in [key for key in state_dict if key.startswith(prefix)]:
        try:
            ours = convert_mmdet_key(_BACKBONE + key[len(prefix):])
        except KeyError:
            continue
        state_dict[prefix + ours[len(_BACKBONE):]] = state_dict.pop(key)
        renamed += 1
    return renamed


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
