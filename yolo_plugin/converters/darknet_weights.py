"""Darknet's binary weight files (``yolov3.weights``, ``darknet53.conv.74``)
read into, and written from, our YOLOv3.

File layout (little-endian): a header of three int32 (``major``,
``minor``, ``revision``) and the ``seen`` counter (int64 when
``major * 10 + minor >= 2`` and both are below 1000, else int32), then the
float32 values of every ``[convolutional]`` section in cfg order: with
``batch_normalize=1`` the BN bias (beta), BN weight (gamma), running mean
and running variance, without it the conv bias; then the conv weights
``(out, in, kh, kw)``. Sections without weights (shortcut, route,
upsample, yolo) store nothing.

Order of ``yolov3.cfg`` (75 convs): the 52 convs of Darknet-53 (stem,
then per stage its stride-2 conv and each residual's 1x1 and 3x3 conv);
then per output scale, stride 32 first: the five convs of the detection
block, the 3x3 bridge conv, the 1x1 prediction conv (bias, no BN), and,
for all but the last scale, the 1x1 lateral conv that feeds the 2x
upsample. ``darknet53.conv.74`` holds the 52 backbone convs only (the cfg
layers 0-73).
"""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.config import Config
from mmengine.fileio import put
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.apis import build_detector, load_config

FLOAT = np.dtype('<f4')
INT32 = np.dtype('<i4')
INT64 = np.dtype('<i8')


class DarknetHeader(NamedTuple):
    """The header of a weight file; Darknet's own files are version 0.2.0
    with an int64 ``seen`` (images seen in training)."""
    major: int = 0
    minor: int = 2
    revision: int = 0
    seen: int = 0

    @property
    def seen_dtype(self) -> np.dtype:
        wide = self.major * 10 + self.minor >= 2 and self.major < 1000 and self.minor < 1000
        return INT64 if wide else INT32

    @property
    def num_bytes(self) -> int:
        return 3 * INT32.itemsize + self.seen_dtype.itemsize

    def to_bytes(self) -> bytes:
        version = np.array([self.major, self.minor, self.revision], dtype=INT32)
        return version.tobytes() + np.array([self.seen], dtype=self.seen_dtype).tobytes()

    @classmethod
    def from_file(cls, path: str) -> 'DarknetHeader':
        """Read the header at the start of ``path``."""
        with open(path, 'rb') as f:
            raw = f.read(3 * INT32.itemsize + INT64.itemsize)
        if len(raw) < 3 * INT32.itemsize:
            raise ValueError(f'{path}: {len(raw)} bytes, too short for a Darknet '
                             'weight header')
        major, minor, revision = (int(v) for v in np.frombuffer(raw[:12], dtype=INT32))
        header = cls(major, minor, revision)
        end = 12 + header.seen_dtype.itemsize
        if len(raw) < end:
            raise ValueError(f'{path}: the header of version {major}.{minor}.{revision} '
                             f'needs {end} bytes, the file has {len(raw)}')
        return header._replace(seen=int(np.frombuffer(raw[12:end], dtype=header.seen_dtype)[0]))


class DarknetConv(NamedTuple):
    """One ``[convolutional]`` section: the module of the detector that
    holds it and its state-dict keys in the order of the file."""
    module: str  # e.g. 'neck.detect_blocks.0.convs.4'
    keys: Tuple[str, ...]


def darknet_conv_layers(detector: nn.Module) -> List[DarknetConv]:
    """The conv sections of ``yolov3.cfg``, in file order, as modules of
    ``detector`` (Darknet53 + YOLOFPNNeck + YOLOAnchorHead under mmdet's
    ``backbone`` / ``neck`` / ``bbox_head``; any widths, depths and class
    count)."""
    backbone = getattr(detector, 'backbone', None)
    neck = getattr(detector, 'neck', None)
    head = getattr(detector, 'bbox_head', None)
    if not (hasattr(backbone, 'stage_names') and hasattr(neck, 'detect_blocks')
            and hasattr(head, 'pred_convs')):
        raise TypeError('Darknet weight files fit Darknet53 + YOLOFPNNeck + YOLOAnchorHead, got '
                        f'{type(backbone).__name__} + {type(neck).__name__} + '
                        f'{type(head).__name__}')
    layers = _conv_module_layers(backbone, 'backbone')
    for level, (block, bridge, pred) in enumerate(
            zip(neck.detect_blocks, head.bridge_convs, head.pred_convs)):
        layers += _conv_module_layers(block, f'neck.detect_blocks.{level}')
        layers += _conv_module_layers(bridge, f'bbox_head.bridge_convs.{level}')
        layers.append(_plain_conv_layer(pred, f'bbox_head.pred_convs.{level}'))
        if level < len(neck.lateral_convs):
            layers += _conv_module_layers(neck.lateral_convs[level], f'neck.lateral_convs.{level}')
    return layers


def _conv_module_layers(module: nn.Module, prefix: str) -> List[DarknetConv]:
    """Every ``ConvModule`` in ``module`` (itself included), in registration
    order, which is the order of the forward pass in our modules."""
    layers = []
    for name, conv_module in module.named_modules(prefix=prefix):
        if not isinstance(conv_module, ConvModule):
            continue
        if not conv_module.with_norm:
            layers.append(_plain_conv_layer(conv_module.conv, f'{name}.conv'))
            continue
        if not isinstance(conv_module.norm, _BatchNorm) or conv_module.conv.bias is not None:
            raise TypeError(f'{name}: a Darknet conv is BatchNorm-normalised without a conv '
                            f'bias, got {type(conv_module.norm).__name__} and bias='
                            f'{conv_module.conv.bias is not None}')
        norm = f'{name}.{conv_module.norm_name}'
        layers.append(DarknetConv(name, (f'{norm}.bias', f'{norm}.weight', f'{norm}.running_mean',
                                         f'{norm}.running_var', f'{name}.conv.weight')))
    return layers


def _plain_conv_layer(conv: nn.Conv2d, name: str) -> DarknetConv:
    if conv.bias is None:
        raise TypeError(f'{name}: a Darknet conv without BatchNorm has a bias')
    return DarknetConv(name, (f'{name}.bias', f'{name}.weight'))


def count_backbone_layers(layers: List[DarknetConv]) -> int:
    """How many of ``layers`` (from the start) belong to the backbone."""
    return sum(layer.module.startswith('backbone.') for layer in layers)


def read_darknet_weights(path: str, detector: nn.Module
                         ) -> Tuple[Dict[str, torch.Tensor], DarknetHeader, int]:
    """Read a Darknet weight file written for ``detector``'s architecture.

    The file holds either every conv of the model (``yolov3.weights``) or
    the backbone's only (``darknet53.conv.74``); any other size is an error
    stating the sizes that would fit.

    Returns:
        The state dict of the layers read (keys of the full detector,
        ``backbone.stem.conv.weight`` ...; BN ``num_batches_tracked`` as in
        ``detector``), the header, and the number of conv layers read.
    """
    layers = darknet_conv_layers(detector)
    template = detector.state_dict()
    header = DarknetHeader.from_file(path)
    payload = osp.getsize(path) - header.num_bytes
    layer_sizes = [sum(template[key].numel() for key in layer.keys) for layer in layers]
    num_backbone = count_backbone_layers(layers)
    fits = {sum(layer_sizes): len(layers), sum(layer_sizes[:num_backbone]): num_backbone}
    num_values = payload // FLOAT.itemsize
    if payload % FLOAT.itemsize or num_values not in fits:
        raise ValueError(
            f'{path}: {payload} bytes after the {header.num_bytes}-byte header (version '
            f'{header.major}.{header.minor}.{header.revision}); the model needs '
            f'{sum(layer_sizes)} float32 values for its {len(layers)} conv layers or '
            f'{sum(layer_sizes[:num_backbone])} for the {num_backbone} backbone convs '
            '(check num_classes and the widths in the config)')
    num_layers = fits[num_values]
    values = np.fromfile(path, dtype=FLOAT, offset=header.num_bytes).astype(np.float32, copy=False)

    keys = [key for layer in layers[:num_layers] for key in layer.keys]
    bounds = np.cumsum([template[key].numel() for key in keys])[:-1]
    state_dict = {}
    for layer in layers[:num_layers]:
        # The buffers the file does not hold (BN num_batches_tracked).
        state_dict.update((key, value) for key, value in template.items()
                          if key.startswith(f'{layer.module}.'))
    for key, chunk in zip(keys, np.split(values, bounds)):
        state_dict[key] = torch.from_numpy(chunk).view(template[key].shape)
    return state_dict, header, num_layers


def write_darknet_weights(path: str,
                          state_dict: Dict[str, torch.Tensor],
                          detector: nn.Module,
                          header: DarknetHeader = DarknetHeader(),
                          backbone_only: bool = False,
                          source: str = 'the state dict') -> int:
    """Write ``state_dict`` (keys of ``detector``) as a Darknet weight file,
    all conv layers or (``backbone_only``) the backbone's. ``source`` names
    the state dict in errors. Returns the number of conv layers written."""
    layers = darknet_conv_layers(detector)
    if backbone_only:
        layers = layers[:count_backbone_layers(layers)]
    template = detector.state_dict()
    keys = [key for layer in layers for key in layer.keys]
    missing = [key for key in keys if key not in state_dict]
    if missing:
        hint = '' if backbone_only else ' (a backbone-only checkpoint needs backbone_only)'
        raise KeyError(f'{source} lacks {len(missing)} of the {len(keys)} tensors of the '
                       f'Darknet layers, e.g. {missing[:3]}{hint}')
    for key in keys:
        if state_dict[key].shape != template[key].shape:
            raise ValueError(f'{source}: {key} has shape {tuple(state_dict[key].shape)}, the '
                             f'model {tuple(template[key].shape)} (check the config)')
    values = np.concatenate(
        [state_dict[key].detach().cpu().float().numpy().ravel() for key in keys])
    put(header.to_bytes() + values.astype(FLOAT, copy=False).tobytes(), path)
    return len(layers)


def convert_darknet_weights(weights_path: str, out_path: str, config: Union[str, Config],
                            cfg_options: Optional[dict] = None) -> dict:
    """Convert a Darknet weight file to an mmengine checkpoint of the
    detector of ``config`` and save it to ``out_path``.

    The checkpoint's meta holds the header, the layers read (``'all'`` or
    ``'backbone'``) and the model config, so :func:`export_darknet_weights`
    can write the file back without a config.

    Returns:
        The checkpoint, ``{'meta': ..., 'state_dict': ...}``.
    """
    cfg = load_config(config, cfg_options)
    detector = build_detector(cfg)
    state_dict, header, num_layers = read_darknet_weights(weights_path, detector)
    meta = dict(
        converted_from=osp.basename(weights_path),
        darknet_header=header._asdict(),
        darknet_layers='all' if num_layers == len(darknet_conv_layers(detector)) else 'backbone',
        cfg=Config(dict(model=cfg.model)).pretty_text)
    checkpoint = dict(meta=meta, state_dict=state_dict)
    save_checkpoint(checkpoint, out_path)
    return checkpoint


def export_darknet_weights(checkpoint_path: str, out_path: str,
                           config: Union[str, Config, None] = None,
                           cfg_options: Optional[dict] = None,
                           backbone_only: Optional[bool] = None) -> int:
    """Write an mmengine checkpoint of our YOLOv3 as a Darknet weight file.

    Args:
        checkpoint_path: a checkpoint with ``state_dict`` (and ``meta``).
        config: the model's config; default: the config stored in the
            checkpoint's ``meta['cfg']`` (training runs and
            :func:`convert_darknet_weights` store one).
        backbone_only: write the backbone convs only (``darknet53.conv.74``
            style); default: as the checkpoint's ``meta['darknet_layers']``,
            else all layers.

    Returns:
        The number of conv layers written.
    """
    checkpoint = CheckpointLoader.load_checkpoint(checkpoint_path, map_location='cpu')
    meta = checkpoint.get('meta') or {}
    if config is None:
        if 'cfg' not in meta:
            raise ValueError(f'{checkpoint_path}: no model config in meta["cfg"]; '
                             'give the config file')
        config = Config.fromstring(meta['cfg'], file_format='.py')
    detector = build_detector(load_config(config, cfg_options))
    if backbone_only is None:
        backbone_only = meta.get('darknet_layers') == 'backbone'
    header = DarknetHeader(**meta.get('darknet_header', {}))
    return write_darknet_weights(out_path, checkpoint.get('state_dict', checkpoint), detector,
                                 header, backbone_only, source=checkpoint_path)
