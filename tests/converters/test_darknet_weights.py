"""Darknet weight files: the layer order of yolov3.cfg, reading into our
modules, bit-exact writing back, backbone-only files, and the tools.

The files are generated here from the test's own description of
yolov3.cfg (pjreddie/darknet, cfg/yolov3.cfg), at a narrow width with
every layer kept; the full-size count is checked against the size of the
real yolov3.weights (248,007,048 bytes) and darknet53.conv.74 (162,482,580
bytes)."""
import math
import os.path as osp
import runpy
import sys
from typing import List, NamedTuple

import numpy as np
import pytest
import torch
from mmengine.config import Config

from yolo_plugin.apis import build_detector
from yolo_plugin.converters import (DarknetHeader, convert_darknet_weights,
                                    count_backbone_layers, darknet_conv_layers,
                                    export_darknet_weights, read_darknet_weights,
                                    write_darknet_weights)
from .conftest import BASE_CONFIG, NARROW, REPO, model_config

YOLOV3_WEIGHTS_BYTES = 248_007_048  # the released yolov3.weights
YOLOV3_WEIGHTS_FLOATS = 62_001_757
DARKNET53_CONV74_BYTES = 162_482_580  # the released darknet53.conv.74
NUM_ANCHORS = 3


class CfgConv(NamedTuple):
    """A [convolutional] section of yolov3.cfg."""
    filters: int
    channels: int  # input channels
    size: int
    batch_normalize: bool


def yolov3_cfg_convs(width: float = 1.0, num_classes: int = 80) -> List[CfgConv]:
    """The 75 conv sections of yolov3.cfg in file order, channels scaled by
    ``width`` (rounded up to multiples of 8, as the small variants)."""
    def w(channels):
        return channels if width == 1 else max(8, math.ceil(channels * width / 8) * 8)

    convs = [CfgConv(w(32), 3, 3, True)]
    channels = w(32)
    for filters, blocks in zip((64, 128, 256, 512, 1024), (1, 2, 8, 8, 4)):
        convs.append(CfgConv(w(filters), channels, 3, True))  # stride 2
        for _ in range(blocks):  # 1x1 to half, 3x3 back, [shortcut]
            convs += [CfgConv(w(filters) // 2, w(filters), 1, True),
                      CfgConv(w(filters), w(filters) // 2, 3, True)]
        channels = w(filters)
    backbone_maps = (w(1024), w(512), w(256))  # layers 74, 61, 36 of the cfg
    half = (w(512), w(256), w(128))
    channels = backbone_maps[0]
    for scale in range(3):  # stride 32 first
        n = half[scale]
        convs += [CfgConv(n, channels, 1, True), CfgConv(2 * n, n, 3, True),
                  CfgConv(n, 2 * n, 1, True), CfgConv(2 * n, n, 3, True),
                  CfgConv(n, 2 * n, 1, True),
                  CfgConv(2 * n, n, 3, True),  # bridge
                  CfgConv(NUM_ANCHORS * (5 + num_classes), 2 * n, 1, False)]  # then [yolo]
        if scale < 2:  # [route] -4, 1x1 conv, [upsample], [route] -1, backbone map
            convs.append(CfgConv(half[scale + 1], n, 1, True))
            channels = half[scale + 1] + backbone_maps[scale + 1]
    return convs


def conv_value_count(conv: CfgConv) -> int:
    weights = conv.filters * conv.channels * conv.size**2
    return weights + conv.filters * (4 if conv.batch_normalize else 1)


def make_weight_file(path, convs: List[CfgConv], header: DarknetHeader, seed: int = 0):
    """Random bits (NaN, inf and denormal patterns included) in Darknet's
    layout; returns each conv's values as a dict of named arrays."""
    rng = np.random.default_rng(seed)
    layers = []
    for conv in convs:
        names = (('beta', 'gamma', 'mean', 'var') if conv.batch_normalize else ('bias', ))
        values = {name: rng.integers(0, 2**32, conv.filters, dtype=np.uint32) for name in names}
        values['weights'] = rng.integers(0, 2**32, conv.filters * conv.channels * conv.size**2,
                                         dtype=np.uint32)
        layers.append(values)
    with open(path, 'wb') as f:
        f.write(np.array(header[:3], dtype='<i4').tobytes())
        f.write(np.array([header.seen], dtype='<i8' if header.minor >= 2 else '<i4').tobytes())
        for values in layers:
            for array in values.values():
                f.write(array.astype('<u4').tobytes())
    return [{name: array.view(np.float32) for name, array in values.items()}
            for values in layers]


def bits(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().ravel().view(np.uint32)


@pytest.fixture(scope='module')
def narrow_detector():
    return build_detector(model_config(NARROW))


@pytest.fixture(scope='module')
def narrow_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('darknet') / 'yolov3_narrow.weights'
    header = DarknetHeader(0, 2, 0, seen=32_013_312)
    values = make_weight_file(path, yolov3_cfg_convs(NARROW), header)
    return path, header, values


def test_full_size_matches_yolov3_weights(full_detector):
    cfg_convs = yolov3_cfg_convs()
    assert len(cfg_convs) == 75 and sum(c.batch_normalize for c in cfg_convs) == 72
    assert sum(map(conv_value_count, cfg_convs)) == YOLOV3_WEIGHTS_FLOATS
    layers = darknet_conv_layers(full_detector)
    template = full_detector.state_dict()
    sizes = [sum(template[key].numel() for key in layer.keys) for layer in layers]
    assert sizes == [conv_value_count(c) for c in cfg_convs]
    assert DarknetHeader().num_bytes + 4 * sum(sizes) == YOLOV3_WEIGHTS_BYTES
    # darknet53.conv.74: the cfg layers 0-73, i.e. the 52 backbone convs.
    assert count_backbone_layers(layers) == 52
    assert DarknetHeader().num_bytes + 4 * sum(sizes[:52]) == DARKNET53_CONV74_BYTES


def test_layer_order_follows_the_cfg(narrow_detector):
    names = [layer.module for layer in darknet_conv_layers(narrow_detector)]
    assert names[:4] == ['backbone.stem', 'backbone.stage1.0', 'backbone.stage1.1.squeeze',
                         'backbone.stage1.1.expand']
    assert names[51] == 'backbone.stage5.4.expand'
    assert names[52:61] == [f'neck.detect_blocks.0.convs.{i}' for i in range(5)] + [
        'bbox_head.bridge_convs.0', 'bbox_head.pred_convs.0', 'neck.lateral_convs.0',
        'neck.detect_blocks.1.convs.0']
    assert names[-2:] == ['bbox_head.bridge_convs.2', 'bbox_head.pred_convs.2']


def test_tensors_land_in_their_modules(narrow_detector, narrow_file):
    path, header, values = narrow_file
    state_dict, read_header, num_layers = read_darknet_weights(str(path), narrow_detector)
    assert read_header == header and num_layers == 75
    assert state_dict.keys() == narrow_detector.state_dict().keys()
    # cfg layer 0: the first conv; section 42 (the last residual's 3x3 conv
    # of stage 4); section 58: the stride-32 prediction conv (255 outputs).
    assert np.array_equal(bits(state_dict['backbone.stem.conv.weight']),
                          values[0]['weights'].view(np.uint32))
    assert np.array_equal(bits(state_dict['backbone.stem.bn.bias']),
                          values[0]['beta'].view(np.uint32))
    assert np.array_equal(bits(state_dict['backbone.stage4.8.expand.bn.running_var']),
                          values[42]['var'].view(np.uint32))
    assert np.array_equal(bits(state_dict['backbone.stage4.8.expand.bn.weight']),
                          values[42]['gamma'].view(np.uint32))
    assert np.array_equal(bits(state_dict['bbox_head.pred_convs.0.bias']),
                          values[58]['bias'].view(np.uint32))
    assert state_dict['bbox_head.pred_convs.0.weight'].shape == (255, 128, 1, 1)
    assert np.array_equal(bits(state_dict['neck.lateral_convs.0.conv.weight']),
                          values[59]['weights'].view(np.uint32))


def test_round_trip_is_bit_exact(narrow_detector, narrow_file, tmp_path):
    path, _, _ = narrow_file
    state_dict, header, _ = read_darknet_weights(str(path), narrow_detector)
    narrow_detector.load_state_dict(state_dict, strict=True)
    out = tmp_path / 'out.weights'
    written = write_darknet_weights(str(out), narrow_detector.state_dict(), narrow_detector,
                                    header)
    assert written == 75
    assert out.read_bytes() == path.read_bytes()


def test_old_header_with_int32_seen(narrow_detector, tmp_path):
    path = tmp_path / 'old.weights'
    header = DarknetHeader(0, 1, 0, seen=1234)
    make_weight_file(path, yolov3_cfg_convs(NARROW), header, seed=1)
    state_dict, read_header, _ = read_darknet_weights(str(path), narrow_detector)
    assert read_header == header and read_header.num_bytes == 16
    write_darknet_weights(str(tmp_path / 'out.weights'), state_dict, narrow_detector, header)
    assert (tmp_path / 'out.weights').read_bytes() == path.read_bytes()


def test_backbone_only_file(narrow_detector, tmp_path):
    """darknet53.conv.74: read into the backbone through
    init_cfg=dict(type='Pretrained', prefix='backbone.'), and written back."""
    path = tmp_path / 'darknet53.conv.74'
    values = make_weight_file(path, yolov3_cfg_convs(NARROW)[:52], DarknetHeader(), seed=2)
    state_dict, _, num_layers = read_darknet_weights(str(path), narrow_detector)
    assert num_layers == 52 and all(key.startswith('backbone.') for key in state_dict)
    out = tmp_path / 'out.weights'
    write_darknet_weights(str(out), state_dict, narrow_detector, backbone_only=True)
    assert out.read_bytes() == path.read_bytes()

    checkpoint = tmp_path / 'darknet53.pth'
    convert_darknet_weights(str(path), str(checkpoint), model_config(NARROW))
    cfg = model_config(NARROW)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint),
                                       prefix='backbone.')
    detector = build_detector(cfg)
    detector.init_weights()
    assert np.array_equal(bits(detector.backbone.stage5[4].expand.conv.weight),
                          values[51]['weights'].view(np.uint32))


def test_pretrained_init_cfg_accepts_the_conversion(narrow_file, tmp_path):
    path, _, values = narrow_file
    checkpoint = tmp_path / 'yolov3.pth'
    convert_darknet_weights(str(path), str(checkpoint), model_config(NARROW))
    cfg = model_config(NARROW)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint))
    detector = build_detector(cfg)
    detector.init_weights()
    assert np.array_equal(bits(detector.bbox_head.pred_convs[2].weight),
                          values[74]['weights'].view(np.uint32))


def test_wrong_size_names_file_and_counts(narrow_detector, tmp_path):
    path = tmp_path / 'short.weights'
    make_weight_file(path, yolov3_cfg_convs(NARROW)[:60], DarknetHeader())
    with pytest.raises(ValueError, match=r'short\.weights: .* the model needs \d+ float32'):
        read_darknet_weights(str(path), narrow_detector)


def test_tools_round_trip(narrow_file, tmp_path, monkeypatch):
    """convert_darknet_weights.py then export_darknet_weights.py (config
    from the checkpoint) give the original file back."""
    path, _, _ = narrow_file
    config = tmp_path / 'narrow.py'
    config.write_text(f'_base_ = [{BASE_CONFIG!r}]\n')
    narrow = f'model.backbone.widen_factor={NARROW}', f'model.neck.widen_factor={NARROW}', \
        f'model.bbox_head.widen_factor={NARROW}'
    checkpoint, out = tmp_path / 'yolov3.pth', tmp_path / 'out.weights'
    for argv in (['convert_darknet_weights.py', str(path), str(checkpoint), '--config',
                  str(config), '--cfg-options', *narrow],
                 ['export_darknet_weights.py', str(checkpoint), str(out)]):
        monkeypatch.setattr(sys, 'argv', argv)
        runpy.run_path(osp.join(REPO, 'tools', argv[0]), run_name='__main__')
    assert out.read_bytes() == path.read_bytes()
    meta = torch.load(checkpoint, weights_only=True)['meta']
    assert Config.fromstring(meta['cfg'], '.py').model.backbone.widen_factor == NARROW


def test_export_checks_the_checkpoint_against_the_config(narrow_file, tmp_path):
    path, _, _ = narrow_file
    checkpoint = tmp_path / 'yolov3.pth'
    convert_darknet_weights(str(path), str(checkpoint), model_config(NARROW))
    with pytest.raises(ValueError, match=r'yolov3\.pth: bbox_head\.pred_convs\.0\.bias has '
                       r'shape \(255,\), the model \(24,\)'):
        export_darknet_weights(str(checkpoint), str(tmp_path / 'out.weights'),
                               cfg_options={'model.bbox_head.num_classes': 3})


def test_export_without_config_is_an_error(tmp_path):
    torch.save(dict(state_dict={}), tmp_path / 'bare.pth')
    with pytest.raises(ValueError, match=r'bare\.pth: no model config'):
        export_darknet_weights(str(tmp_path / 'bare.pth'), str(tmp_path / 'out.weights'))
