"""``init_cfg=None`` (training from scratch) gives Darknet53 and YOLOFPNNeck
their default Kaiming initialisation, as ``None`` gives mmdet's Darknet its
Kaiming init, not PyTorch's default one."""
import math

import pytest
import torch

from yolo_plugin.models.backbones import Darknet53
from yolo_plugin.models.necks import YOLOFPNNeck
from yolo_plugin.models.utils import DARKNET_INIT

MODULES = [Darknet53, YOLOFPNNeck]


def conv_weights(module):
    return [m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


@pytest.mark.parametrize('module_type', MODULES)
def test_none_is_the_default_initialisation(module_type):
    modules = []
    for init_cfg in (None, DARKNET_INIT):
        torch.manual_seed(0)
        module = module_type(init_cfg=init_cfg)
        module.init_weights()
        modules.append(module)
    for ours, default in zip(*map(conv_weights, modules)):
        assert torch.equal(ours, default)


@pytest.mark.parametrize('module_type', MODULES)
def test_none_draws_kaiming_weights_for_leaky_relu(module_type):
    """Every conv with at least 10k weights has Kaiming's standard
    deviation for LeakyReLU(0.1), fan out, within 5 %; PyTorch's default
    init would give about 1 / sqrt(3 fan_in), 40 % less for a 3x3 conv
    doubling the channels."""
    torch.manual_seed(0)
    module = module_type(init_cfg=None)
    module.init_weights()
    checked = 0
    for weight in conv_weights(module):
        if weight.numel() < 10_000:
            continue
        fan_out = weight.shape[0] * weight.shape[2] * weight.shape[3]
        expected = math.sqrt(2 / (1 + 0.1**2)) / math.sqrt(fan_out)
        assert weight.std().item() == pytest.approx(expected, rel=0.05)
        checked += 1
    assert checked >= 10
