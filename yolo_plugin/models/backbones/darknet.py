"""Darknet-53, the backbone of YOLOv3 (Redmon & Farhadi, 2018, Table 1)."""
import logging
import re
from typing import MutableMapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.registry import MODELS
from ..utils import DARKNET_ACT, DARKNET_INIT, DARKNET_NORM, scale_channels, scale_depth

_RES_CONVS = ('squeeze', 'expand')
# mmdet's ``Darknet`` module paths -> ours, matched at the start of a key of
# the backbone; the rest of the key (``conv.weight``, ``bn.running_var``
# ...) is kept. mmdet counts stages from 1 as we do, but puts a stage's
# residual blocks at ``res{j}`` after its stride-2 ``conv``, where ours are
# entries ``j + 1`` of the stage.
MMDET_DARKNET_RULES = (
    (re.compile(r'conv1\.'), lambda m: 'stem.'),
    (re.compile(r'conv_res_block(\d+)\.conv\.'), lambda m: f'stage{m[1]}.0.'),
    (re.compile(r'conv_res_block(\d+)\.res(\d+)\.conv([12])\.'),
     lambda m: f'stage{m[1]}.{int(m[2]) + 1}.{_RES_CONVS[int(m[3]) - 1]}.'),
)


def rename_mmdet_darknet_key(key: str) -> Optional[str]:
    """Our name of a key of mmdet's ``Darknet`` relative to the backbone
    (``conv_res_block4.res7.conv2.bn.running_var`` ->
    ``stage4.8.expand.bn.running_var``); None for a key outside its naming."""
    for pattern, rename in MMDET_DARKNET_RULES:
        match = pattern.match(key)
        if match:
            return rename(match) + key[match.end():]
    return None


def convert_mmdet_backbone_keys(state_dict: MutableMapping[str, torch.Tensor],
                                prefix: str) -> int:
    """Rename, in place, the keys under ``prefix`` that name a module of
    mmdet's ``Darknet`` (:func:`rename_mmdet_darknet_key`); other keys stay
    as they are.

    Args:
        state_dict: the tensors being loaded (the loader's own copy).
        prefix: the backbone's key prefix, e.g. ``'backbone.'`` in a
            detector, ``''`` for the backbone alone.

    Returns:
        The number of keys renamed.
    """
    renamed = 0
    for key in [key for key in state_dict if key.startswith(prefix)]:
        ours = rename_mmdet_darknet_key(key[len(prefix):])
        if ours is not None:
            state_dict[prefix + ours] = state_dict.pop(key)
            renamed += 1
    return renamed


class DarknetResidual(BaseModule):
    """Darknet residual block: 1x1 conv to half the channels, 3x3 conv back,
    added to the input. ``(B, C, H, W) -> (B, C, H, W)``."""

    def __init__(self, channels: int, conv_cfg: OptConfigType, norm_cfg: ConfigType,
                 act_cfg: ConfigType) -> None:
        super().__init__()
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.squeeze = ConvModule(channels, channels // 2, 1, **common)
        self.expand = ConvModule(channels // 2, channels, 3, padding=1, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.expand(self.squeeze(x))


@MODELS.register_module()
class Darknet53(BaseModule):
    """Darknet-53: a 3x3 stem conv, then five stages, each a stride-2 3x3
    conv followed by 1, 2, 8, 8 and 4 residual blocks (52 convs in all, each
    conv-BN-LeakyReLU(0.1)).

    Output ``i`` of ``out_indices`` is the stem (``i = 0``, stride 1) or stage
    ``i`` (stride ``2**i``, ``64 * 2**(i-1)`` channels times ``widen_factor``).
    The default ``(3, 4, 5)`` gives C3, C4, C5 at strides 8, 16, 32 with
    256, 512, 1024 channels.

    Loads weights in mmdet's ``Darknet`` naming too (its ImageNet
    ``open-mmlab://darknet53``, the backbone of its YOLOv3 checkpoints):
    ``init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://darknet53')``
    gives the paper's ImageNet start.

    Args:
        widen_factor: channel multiplier for small variants (s: 0.5, m: 0.75).
        deepen_factor: residual-block multiplier (s: 0.33, m: 0.67).
        out_indices: which of stem / stages 1-5 to return, in order.
        frozen_stages: stem and stages ``1..frozen_stages`` get no gradient
            and keep their BN statistics (``-1``: none, ``0``: the stem only).
        norm_eval: keep every BN layer in eval mode while training.
        conv_cfg, norm_cfg, act_cfg: of every conv block (``conv_cfg=None``:
            ``nn.Conv2d``; ``dict(type='GemmWeightGradConv2d')``: its weight
            gradient as matrix products on the CPU).
        init_cfg: mmengine's weight initialisation; ``None`` (training from
            scratch) is the default one, Kaiming for the LeakyReLU(0.1)
            convs, as ``None`` gives mmdet's ``Darknet`` its Kaiming init.
    """

    stem_channels = 32
    stage_channels = (64, 128, 256, 512, 1024)
    stage_blocks = (1, 2, 8, 8, 4)

    def __init__(self,
                 widen_factor: float = 1.0,
                 deepen_factor: float = 1.0,
                 out_indices: Sequence[int] = (3, 4, 5),
                 frozen_stages: int = -1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DARKNET_NORM,
                 act_cfg: ConfigType = DARKNET_ACT,
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=DARKNET_INIT if init_cfg is None else init_cfg)
        num_layers = len(self.stage_channels) + 1
        if not out_indices or any(not 0 <= i < num_layers for i in out_indices):
            raise ValueError(f'Darknet53: out_indices must lie in [0, {num_layers}), '
                             f'got {tuple(out_indices)}')
        if not -1 <= frozen_stages < num_layers:
            raise ValueError(f'Darknet53: frozen_stages must lie in [-1, {num_layers}), '
                             f'got {frozen_stages}')
        self.widen_factor = widen_factor
        self.deepen_factor = deepen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        in_channels = scale_channels(self.stem_channels, widen_factor)
        self.stem = ConvModule(3, in_channels, 3, padding=1, **common)
        self.stage_names = ['stem']
        widths = [in_channels]
        for i, (channels, blocks) in enumerate(
                zip(self.stage_channels, self.stage_blocks), start=1):
            channels = scale_channels(channels, widen_factor)
            layers = [ConvModule(in_channels, channels, 3, stride=2, padding=1, **common)]
            layers += [
                DarknetResidual(channels, **common)
                for _ in range(scale_depth(blocks, deepen_factor))
            ]
            self.add_module(f'stage{i}', nn.Sequential(*layers))
            self.stage_names.append(f'stage{i}')
            widths.append(channels)
            in_channels = channels
        self.out_channels = tuple(widths[i] for i in self.out_indices)
        self._freeze_stages()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Load as usual, after renaming the tensors in mmdet's ``Darknet``
        naming under ``prefix`` to ours (every loading path passes here:
        ``init_cfg`` Pretrained, ``load_from``, ``load_checkpoint``).

        Raises:
            ValueError: when tensors in mmdet's naming do not fill every
                tensor of this backbone (another width, more blocks), which
                mmengine's non-strict loading would only warn about.
        """
        renamed = convert_mmdet_backbone_keys(state_dict, prefix)
        if renamed:
            self._require_every_tensor(state_dict, prefix)
            where = f' under {prefix!r}' if prefix else ''
            print_log(f"Darknet53: renamed {renamed} tensors{where} from mmdet's Darknet names "
                      '(conv1, conv_res_block{i}.conv, conv_res_block{i}.res{j}) to ours '
                      '(stem, stage{i}.0, stage{i}.{j+1})', logger='current', level=logging.INFO)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _require_every_tensor(self, state_dict, prefix: str) -> None:
        """Every tensor of this backbone is in ``state_dict`` under
        ``prefix`` in its shape (BN's ``num_batches_tracked`` aside: a
        counter BN fills in itself)."""
        missing, misshapen = [], []
        for name, tensor in self.state_dict().items():
            given = state_dict.get(prefix + name)
            if given is None and not name.endswith('num_batches_tracked'):
                missing.append(name)
            elif given is not None and given.shape != tensor.shape:
                misshapen.append(f'{name} {tuple(given.shape)} given, {tuple(tensor.shape)} here')
        if missing or misshapen:
            raise ValueError(
                f'Darknet53 (widen_factor={self.widen_factor}, deepen_factor='
                f"{self.deepen_factor}): the weights in mmdet's Darknet naming do not fit: "
                f'{len(missing)} tensors missing {missing[:3]}, {len(misshapen)} of another '
                f'shape {misshapen[:3]}. mmdet\'s Darknet-53 (open-mmlab://darknet53) fits '
                'widen_factor=1.0 with deepen_factor <= 1.0; otherwise train the backbone '
                'from scratch (model.backbone.init_cfg=None)')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """``(B, 3, H, W)`` -> one ``(B, C_i, H / 2**i, W / 2**i)`` map per
        out index (``H`` and ``W`` multiples of 32)."""
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for name in self.stage_names[:self.frozen_stages + 1]:
            module = getattr(self, name)
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'Darknet53':
        """Set train mode, keeping frozen stages and, with ``norm_eval``,
        every BN layer in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
