"""YOLODetector: built from the config, channels-last kept through
initialisation, loading and moving, conv + BN fusion exact and final."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

from yolo_plugin.models.detectors import YOLODetector

BASE = 'configs/_base_/models/yolov3_d53.py'


def build(channels_last: bool) -> YOLODetector:
    """A narrow detector of the base config as a YOLODetector, with BN
    statistics and affine parameters away from their defaults (so that
    fusing them is not a no-op)."""
    torch.manual_seed(0)
    cfg = Config.fromfile(BASE).model
    cfg.update(type='YOLODetector', channels_last=channels_last)
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg[part]['widen_factor'] = 0.125
    cfg.bbox_head.num_classes = 3
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        model = ROOT_MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def conv_weights(model):
    return [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_channels_last_survives_init_load_and_move():
    model = build(channels_last=True)
    assert isinstance(model, YOLODetector)
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(model))
    contiguous = {k: v.contiguous() for k, v in model.state_dict().items()}
    model.load_state_dict(contiguous)
    model.to('cpu')
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(model))
    with torch.no_grad():
        maps, = model.eval()(torch.rand(1, 3, 64, 96), mode='tensor')
    assert all(m.is_contiguous(memory_format=torch.channels_last) for m in maps)


def test_default_layout_is_contiguous():
    model = build(channels_last=False)
    assert all(w.is_contiguous() for w in conv_weights(model))


@pytest.mark.parametrize('channels_last', [False, True])
def test_fused_model_gives_the_same_outputs(channels_last):
    """Compared in float64, where fusing moves the outputs (up to 226) by at
    most 7.3e-13 (measured; 3e-4 in float32) and a fusion that ignores
    BatchNorm's eps moves them by up to 0.04."""
    model = build(channels_last).double().eval()
    images = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        reference, = model(images, mode='tensor')
        fused = model.fuse_conv_bn()
        outputs, = fused(images, mode='tensor')
    assert fused is model and model.conv_bn_fused and not model.training
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    if channels_last:
        assert all(w.is_contiguous(memory_format=torch.channels_last)
                   for w in conv_weights(model))
    for ref, out in zip(reference, outputs):
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_fused_model_refuses_training():
    model = build(channels_last=False).fuse_conv_bn()
    model.eval()  # eval stays allowed
    with pytest.raises(RuntimeError, match='fused for inference'):
        model.train()
