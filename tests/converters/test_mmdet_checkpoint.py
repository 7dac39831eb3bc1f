"""Parity with mmdet's YOLOv3 (issue 4): parameter count, predictions after
converting a random mmdet model with the converter, and FLOPs."""
import copy
import os.path as osp
import runpy
import sys

import mmdet
import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules as register_mmdet_modules
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint, save_checkpoint

from yolo_plugin.converters import (convert_mmdet_checkpoint, convert_mmdet_key,
                                    convert_mmdet_state_dict)
from .conftest import REPO

MMDET_CONFIG = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'yolo',
                        'yolov3_d53_8xb8-ms-416-273e_coco.py')
PAPER_GFLOPS = 65.86
MMDET_PARAMS = 61_949_149
IMAGES = (2, 3, 128, 160)  # small, so NMS over every candidate stays fast
NUM_ANCHORS = 3


def mmdet_model_config() -> ConfigDict:
    """mmdet's yolov3_d53 model (from its config file when installed)."""
    if osp.isfile(MMDET_CONFIG):
        model = Config.fromfile(MMDET_CONFIG).model
        model.backbone.init_cfg = None  # no download
        return model
    return ConfigDict(
        type='YOLOV3',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[0, 0, 0],
                               std=[255., 255., 255.], bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='Darknet', depth=53, out_indices=(3, 4, 5)),
        neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[1024, 512, 256],
                  out_channels=[512, 256, 128]),
        bbox_head=dict(
            type='YOLOV3Head', num_classes=80, in_channels=[512, 256, 128],
            out_channels=[1024, 512, 256],
            anchor_generator=dict(type='YOLOAnchorGenerator',
                                  base_sizes=[[(116, 90), (156, 198), (373, 326)],
                                              [(30, 61), (62, 45), (59, 119)],
                                              [(10, 13), (16, 30), (33, 23)]],
                                  strides=[32, 16, 8]),
            bbox_coder=dict(type='YOLOBBoxCoder'), featmap_strides=[32, 16, 8]),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                      nms=dict(type='nms', iou_threshold=0.45), max_per_img=100))


def randomise(model: nn.Module, images: torch.Tensor, generator: torch.Generator) -> None:
    """Random weights that give spread-out, non-degenerate outputs: random
    convs, BN statistics measured on ``images`` and then perturbed, random
    BN affine; prediction convs scaled to unit output spread, biases drawn
    so that objectness and class scores spread over (0, 1)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.weight.data.normal_(0, 1, generator=generator)
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # the running statistics become those of one batch
        norm.train()
    with torch.no_grad():
        model(images, mode='tensor')
    model.eval()
    for norm in norms:
        size = norm.num_features
        norm.running_mean += 0.2 * norm.running_var.sqrt() * torch.randn(size, generator=generator)
        norm.running_var *= torch.empty(size).uniform_(0.8, 1.25, generator=generator)
        norm.weight.data.uniform_(0.5, 1.5, generator=generator)
        norm.bias.data.normal_(0, 0.2, generator=generator)
    pred_convs = model.bbox_head.convs_pred
    with torch.no_grad():
        for conv in pred_convs:
            conv.bias.zero_()
        for conv, pred_map in zip(pred_convs, model(images, mode='tensor')[0]):
            conv.weight /= pred_map.std()
            bias = conv.bias.view(NUM_ANCHORS, -1)  # (A, 5 + K)
            bias[:, :4].normal_(0, 0.3, generator=generator)
            bias[:, 4].normal_(-1.5, 1, generator=generator)
            bias[:, 5:].normal_(-2, 1, generator=generator)


@pytest.fixture(scope='module')
def mmdet_yolov3():
    register_mmdet_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MMDET_MODELS.build(mmdet_model_config()).eval()


@pytest.fixture(scope='module')
def converted_pair(mmdet_yolov3, full_detector, tmp_path_factory):
    """The mmdet model randomised, saved, converted with the converter and
    loaded into ours; and the images."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(IMAGES, generator=generator)
    randomise(mmdet_yolov3, images, generator)
    folder = tmp_path_factory.mktemp('mmdet')
    save_checkpoint(dict(meta=dict(CLASSES=tuple(f'c{i}' for i in range(80))),
                         state_dict=mmdet_yolov3.state_dict()), str(folder / 'mmdet.pth'))
    convert_mmdet_checkpoint(str(folder / 'mmdet.pth'), str(folder / 'ours.pth'))
    load_checkpoint(full_detector, str(folder / 'ours.pth'), map_location='cpu', strict=True)
    return mmdet_yolov3, full_detector, images


def test_parameter_count_matches_mmdet(mmdet_yolov3, full_detector):
    def count(model):
        return sum(p.numel() for p in model.parameters())

    assert count(full_detector) == count(mmdet_yolov3) == MMDET_PARAMS


def test_every_tensor_maps_one_to_one(mmdet_yolov3, full_detector):
    theirs = mmdet_yolov3.state_dict()
    ours = full_detector.state_dict()
    converted = convert_mmdet_state_dict(theirs)
    assert converted.keys() == ours.keys()
    assert all(converted[k].shape == ours[k].shape for k in ours)


def test_raw_maps_match_mmdet(converted_pair):
    theirs, ours, images = converted_pair
    with torch.no_grad():
        their_maps = theirs(images, mode='tensor')[0]
        our_maps = ours(images, mode='tensor')[0]
    # Our channels-last convs sum in another order than mmdet's NCHW ones:
    # the raw maps differ by float rounding only (about 2e-5 here).
    for their_map, our_map in zip(their_maps, our_maps):
        torch.testing.assert_close(our_map, their_map, rtol=0, atol=5e-5)


def data_samples(scale_factor):
    """Meta data of the images, resized from an original image by
    ``scale_factor`` (w, h)."""
    height, width = IMAGES[2:]
    ori_shape = (round(height / scale_factor[1]), round(width / scale_factor[0]))
    return [
        DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=ori_shape,
                                    pad_shape=(height, width), batch_input_shape=(height, width),
                                    scale_factor=scale_factor)) for _ in range(IMAGES[0])
    ]


@pytest.fixture(scope='module')
def nchw_detector(converted_pair):
    """Our converted detector in the plain NCHW layout."""
    ours = copy.deepcopy(converted_pair[1])
    ours.channels_last = False
    return ours.to(memory_format=torch.contiguous_format)


@pytest.mark.parametrize('layout', ['channels_last', 'nchw'])
@pytest.mark.parametrize('rescale, scale_factor', [(False, (1.0, 1.0)), (True, (2.0, 1.5))])
def test_detections_match_mmdet_under_its_test_cfg(converted_pair, nchw_detector, layout,
                                                   rescale, scale_factor):
    """mmdet's YOLOv3 ``test_cfg`` verbatim in both heads: the same
    detections. The randomised prediction biases make about 50,000 (box,
    class) pairs an image pass ``conf_thr`` and ``score_thr``, so
    ``nms_pre`` and NMS both decide what is kept."""
    theirs, ours, images = converted_pair
    if layout == 'nchw':
        ours = nchw_detector
        assert all(p.is_contiguous() for p in ours.parameters())
    test_cfg = copy.deepcopy(mmdet_model_config().test_cfg)
    assert test_cfg == dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                            nms=dict(type='nms', iou_threshold=0.45), max_per_img=100)
    theirs.bbox_head.test_cfg = test_cfg
    ours.bbox_head.test_cfg = copy.deepcopy(test_cfg)
    metas = [sample.metainfo for sample in data_samples(scale_factor)]
    with torch.no_grad():
        maps = theirs(images, mode='tensor')[0]  # what mmdet's predict() runs
        their_results = theirs.bbox_head.predict_by_feat(maps, metas, rescale=rescale)
        our_results = [sample.pred_instances for sample in ours.predict(
            images, data_samples(scale_factor), rescale=rescale)]
    flat = ours.bbox_head.flatten_preds(maps).sigmoid()  # (B, N, 5 + K)
    passing = ((flat[..., 4:5] >= test_cfg.conf_thr) & (flat[..., 5:] > test_cfg.score_thr))
    assert (passing.flatten(1).sum(1) > 40 * test_cfg.nms_pre).all()
    for expected, actual in zip(their_results, our_results):
        assert len(expected) == test_cfg.max_per_img
        assert len(actual) == len(expected)
        assert torch.equal(actual.labels, expected.labels)
        torch.testing.assert_close(actual.bboxes, expected.bboxes, rtol=0, atol=1e-3)
        torch.testing.assert_close(actual.scores, expected.scores, rtol=0, atol=1e-4)
    # Each of our own options alone gives other detections on these images.
    for option in (dict(candidate_score='score'), dict(clip_to_image=True)):
        other_results = ours.bbox_head.predict_by_feat(maps, metas, dict(test_cfg, **option),
                                                        rescale=rescale)
        assert any(not torch.equal(other.labels, their.labels)
                   for other, their in zip(other_results, their_results)), option


def test_flops_match_paper_and_mmdet(mmdet_yolov3, full_detector):
    """mmengine counts multiply-adds; FLOPs = 2 x MACs."""
    ours = get_model_complexity_info(full_detector, input_shape=(3, 416, 416),
                                     show_table=False, show_arch=False)
    theirs = get_model_complexity_info(mmdet_yolov3, input_shape=(3, 416, 416),
                                       show_table=False, show_arch=False)
    assert ours['flops'] == theirs['flops']
    assert 2 * ours['flops'] / 1e9 == pytest.approx(PAPER_GFLOPS, rel=0.01)


@pytest.mark.parametrize('mmdet_key, our_key', [
    ('backbone.conv1.conv.weight', 'backbone.stem.conv.weight'),
    ('backbone.conv_res_block1.conv.bn.running_var', 'backbone.stage1.0.bn.running_var'),
    ('backbone.conv_res_block4.res7.conv2.bn.weight', 'backbone.stage4.8.expand.bn.weight'),
    ('backbone.conv_res_block5.res0.conv1.conv.weight', 'backbone.stage5.1.squeeze.conv.weight'),
    ('neck.detect1.conv5.bn.num_batches_tracked',
     'neck.detect_blocks.0.convs.4.bn.num_batches_tracked'),
    ('neck.conv2.conv.weight', 'neck.lateral_convs.1.conv.weight'),
    ('bbox_head.convs_bridge.2.bn.bias', 'bbox_head.bridge_convs.2.bn.bias'),
    ('bbox_head.convs_pred.0.bias', 'bbox_head.pred_convs.0.bias'),
])
def test_key_rules(mmdet_key, our_key):
    assert convert_mmdet_key(mmdet_key) == our_key


def test_foreign_keys_are_an_error():
    state_dict = {'backbone.conv1.conv.weight': torch.zeros(1),
                  'backbone.layer1.0.conv.weight': torch.zeros(1)}
    with pytest.raises(KeyError, match=r"mobilenet\.pth.*backbone\.layer1\.0\.conv\.weight"):
        convert_mmdet_state_dict(state_dict, 'mobilenet.pth')


def test_tool_keeps_class_names(tmp_path, monkeypatch):
    """mmdet 3.x checkpoints keep classes in meta['dataset_meta']."""
    weight = torch.randn(2, 3)
    save_checkpoint(dict(meta=dict(dataset_meta=dict(classes=('car', 'person'))),
                         state_dict={'bbox_head.convs_pred.1.weight': weight}),
                    str(tmp_path / 'in.pth'))
    monkeypatch.setattr(sys, 'argv', ['convert_mmdet_checkpoint.py', str(tmp_path / 'in.pth'),
                                      str(tmp_path / 'out.pth')])
    runpy.run_path(osp.join(REPO, 'tools', 'convert_mmdet_checkpoint.py'), run_name='__main__')
    converted = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert converted['meta']['dataset_meta'] == dict(classes=('car', 'person'))
    assert torch.equal(converted['state_dict']['bbox_head.pred_convs.1.weight'], weight)
