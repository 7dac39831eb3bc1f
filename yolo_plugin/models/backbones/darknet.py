"""Darknet-53, the backbone of YOLOv3 (Redmon & Farhadi, 2018, Table 1)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.registry import MODELS
from ..utils import (DARKNET_ACT, DARKNET_CONV, DARKNET_INIT, DARKNET_NORM, scale_channels,
                     scale_depth)


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

    Args:
        widen_factor: channel multiplier for small variants (s: 0.5, m: 0.75).
        deepen_factor: residual-block multiplier (s: 0.33, m: 0.67).
        out_indices: which of stem / stages 1-5 to return, in order.
        frozen_stages: stem and stages ``1..frozen_stages`` get no gradient
            and keep their BN statistics (``-1``: none, ``0``: the stem only).
        norm_eval: keep every BN layer in eval mode while training.
        conv_cfg, norm_cfg, act_cfg: of every conv block (``conv_cfg=None``:
            ``nn.Conv2d``).
    """

    stem_channels = 32
    stage_channels = (64, 128, 256, 512, 1024)
    stage_blocks = (1, 2, 8, 8, 4)

    def __init__(self,
                 widen_factor: float = 1.0,
                 deepen_factor: float = 1.0,
                 out_indices: Sequence[int] = (3, 4, 5),
                 frozen_stages: int = -1,
                 conv_cfg: OptConfigType = DARKNET_CONV,
                 norm_cfg: ConfigType = DARKNET_NORM,
                 act_cfg: ConfigType = DARKNET_ACT,
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = DARKNET_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        num_layers = len(self.stage_channels) + 1
        if not out_indices or any(not 0 <= i < num_layers for i in out_indices):
            raise ValueError(f'Darknet53: out_indices must lie in [0, {num_layers}), '
                             f'got {tuple(out_indices)}')
        if not -1 <= frozen_stages < num_layers:
            raise ValueError(f'Darknet53: frozen_stages must lie in [-1, {num_layers}), '
                             f'got {frozen_stages}')
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
