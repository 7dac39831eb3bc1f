"""The YOLOv3 feature pyramid: top-down, 2x upsample and concatenation."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule

from yolo_plugin.registry import MODELS
from ..utils import DARKNET_ACT, DARKNET_INIT, DARKNET_NORM, scale_channels


class YOLOv3DetectionBlock(BaseModule):
    """The five convs before each YOLOv3 output: 1x1, 3x3, 1x1, 3x3, 1x1,
    alternating ``channels`` and ``2 * channels``.
    ``(B, in_channels, H, W) -> (B, channels, H, W)``."""

    def __init__(self, in_channels: int, channels: int, conv_cfg: OptConfigType,
                 norm_cfg: ConfigType, act_cfg: ConfigType) -> None:
        super().__init__()
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        layers = []
        for i in range(5):
            kernel = 1 if i % 2 == 0 else 3
            c_in = in_channels if i == 0 else (channels if kernel == 3 else 2 * channels)
            c_out = channels if kernel == 1 else 2 * channels
            layers.append(ConvModule(c_in, c_out, kernel, padding=kernel // 2, **common))
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x)


@MODELS.register_module()
class YOLOFPNNeck(BaseModule):
    """YOLOv3 neck. Takes backbone maps in increasing stride (C3, C4, C5) and
    returns P5, P4, P3 (strides 32, 16, 8), as mmdet's ``YOLOV3Neck``.

    The deepest map goes through a detection block; every further level
    takes the previous output through a 1x1 conv, upsamples it 2x,
    concatenates the lateral backbone map and applies its own detection
    block.

    Args:
        in_channels: backbone channels, deepest first (``(1024, 512, 256)``).
        out_channels: output channels, deepest first (``(512, 256, 128)``).
        widen_factor: multiplies both, as in the backbone (small variants).
        conv_cfg, norm_cfg, act_cfg: of every conv block (``conv_cfg=None``:
            ``nn.Conv2d``; ``dict(type='GemmWeightGradConv2d')``: its weight
            gradient as matrix products on the CPU).
        init_cfg: mmengine's weight initialisation; ``None`` is the default
            one (Kaiming for the LeakyReLU(0.1) convs, as the backbone's).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (1024, 512, 256),
                 out_channels: Sequence[int] = (512, 256, 128),
                 widen_factor: float = 1.0,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = DARKNET_NORM,
                 act_cfg: ConfigType = DARKNET_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=DARKNET_INIT if init_cfg is None else init_cfg)
        if len(in_channels) != len(out_channels) or not in_channels:
            raise ValueError('YOLOFPNNeck: in_channels and out_channels need one '
                             f'entry a level, got {tuple(in_channels)} and '
                             f'{tuple(out_channels)}')
        in_channels = [scale_channels(c, widen_factor) for c in in_channels]
        out_channels = [scale_channels(c, widen_factor) for c in out_channels]
        self.in_channels = tuple(in_channels)
        self.out_channels = tuple(out_channels)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.detect_blocks = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        for level, (c_in, c_out) in enumerate(zip(in_channels, out_channels)):
            if level == 0:
                self.detect_blocks.append(YOLOv3DetectionBlock(c_in, c_out, **common))
                continue
            previous = out_channels[level - 1]
            self.lateral_convs.append(ConvModule(previous, c_out, 1, **common))
            self.detect_blocks.append(
                YOLOv3DetectionBlock(c_in + c_out, c_out, **common))

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """``feats``: maps in increasing stride (C3, C4, C5). Returns one map
        a level in decreasing stride, ``(B, out_channels[i], H_i, W_i)``."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f'YOLOFPNNeck expects {len(self.in_channels)} maps, '
                             f'got {len(feats)}')
        lateral_feats = feats[::-1]
        out = self.detect_blocks[0](lateral_feats[0])
        outs = [out]
        for lateral_conv, detect, lateral in zip(self.lateral_convs,
                                                 self.detect_blocks[1:],
                                                 lateral_feats[1:]):
            top_down = F.interpolate(lateral_conv(out), scale_factor=2)
            out = detect(torch.cat((top_down, lateral), dim=1))
            outs.append(out)
        return tuple(outs)
