"""YOLOFPNNeck: top-down outputs at strides 32, 16, 8, as mmdet's."""
import pytest
import torch
from mmdet.models.necks import YOLOV3Neck as MMDetYOLOV3Neck

from yolo_plugin.models.necks import YOLOFPNNeck


def test_parameters_match_mmdet():
    ours = sum(p.numel() for p in YOLOFPNNeck().parameters())
    theirs = MMDetYOLOV3Neck(num_scales=3, in_channels=[1024, 512, 256],
                             out_channels=[512, 256, 128])
    assert ours == sum(p.numel() for p in theirs.parameters())


@pytest.mark.parametrize('height, width', [(64, 64), (96, 224)])
def test_output_shapes(height, width):
    neck = YOLOFPNNeck(widen_factor=0.25)
    feats = [torch.randn(2, c, height // s, width // s)
             for c, s in ((64, 8), (128, 16), (256, 32))]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 128, height // 32, width // 32),
                                             (2, 64, height // 16, width // 16),
                                             (2, 32, height // 8, width // 8)]


def test_wrong_number_of_inputs():
    with pytest.raises(ValueError, match='expects 3 maps'):
        YOLOFPNNeck()([torch.randn(1, 1024, 2, 2)])
