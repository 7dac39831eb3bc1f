"""Darknet53: the paper's layer count, shapes, freezing and small variants."""
import pytest
import torch
from mmdet.models.backbones import Darknet as MMDetDarknet
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.models.backbones import Darknet53


def count_convs(module):
    return sum(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def test_table1_layers_and_parameters_match_mmdet():
    model = Darknet53()
    assert count_convs(model) == 52
    ours = sum(p.numel() for p in model.parameters())
    assert ours == sum(p.numel() for p in MMDetDarknet(depth=53).parameters())
    assert [len(getattr(model, f'stage{i}')) - 1 for i in range(1, 6)] == [1, 2, 8, 8, 4]


@pytest.mark.parametrize('height, width', [(64, 64), (96, 160)])
def test_outputs_at_strides_8_16_32(height, width):
    model = Darknet53(widen_factor=0.25, deepen_factor=0.33, out_indices=(0, 3, 4, 5))
    outs = model(torch.randn(1, 3, height, width))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (8, height, width), (64, height // 8, width // 8), (128, height // 16, width // 16),
        (256, height // 32, width // 32)]
    assert model.out_channels == (8, 64, 128, 256)


def test_small_variants_scale_width_and_depth():
    small = Darknet53(widen_factor=0.5, deepen_factor=0.33)
    assert small.out_channels == (128, 256, 512)
    assert [len(getattr(small, f'stage{i}')) - 1 for i in range(1, 6)] == [1, 1, 3, 3, 1]
    assert count_convs(small) == 1 + 5 + 2 * 9


def test_frozen_stages_and_norm_eval():
    model = Darknet53(widen_factor=0.25, deepen_factor=0.33, frozen_stages=2, norm_eval=True)
    model.train()
    for name in ('stem', 'stage1', 'stage2'):
        assert not any(p.requires_grad for p in getattr(model, name).parameters())
    assert all(p.requires_grad for p in model.stage3.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    frozen_bn = model.stem.bn
    before = frozen_bn.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(frozen_bn.running_mean, before)


def test_bad_arguments():
    with pytest.raises(ValueError, match='out_indices'):
        Darknet53(out_indices=(6, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        Darknet53(frozen_stages=7)
