"""YOLOAnchorHead at its edges: prediction against mmdet's YOLOV3Head (the
defaults, ``test_cfg``, the ``conf_thr`` boundary, ``with_nms=False``, an
image without detections), the loss on non-dense maps and on a level with a
single match (loop references of tests/models/yolo_reference.py), and what
each constructor argument builds."""
import re

import pytest
import torch
import torch.nn as nn
from mmdet.models.dense_heads import YOLOV3Head
from mmengine.config import ConfigDict

from yolo_plugin.models.layers import GemmWeightGradConv2d

from tests.models.dense_heads.test_yolov3_head import (GTS, IGNORES, LABELS, METAS,
                                                       NUM_CLASSES, RESIZED_METAS, V5_HEAD,
                                                       build_head, instances, predict,
                                                       random_maps)
from tests.models.yolo_reference import ANCHORS, STRIDES, assign, yolov3_loss, yolov5_loss

# No score_thr: both heads' default (0) applies.
TEST_CFG = dict(nms_pre=10000, nms=dict(type='nms', iou_threshold=0.45), max_per_img=40)


def mmdet_head(test_cfg):
    return YOLOV3Head(num_classes=NUM_CLASSES, in_channels=[16, 8, 8], out_channels=[16, 16, 8],
                      anchor_generator=dict(type='YOLOAnchorGenerator', base_sizes=ANCHORS,
                                            strides=list(STRIDES)),
                      bbox_coder=dict(type='YOLOBBoxCoder'), featmap_strides=list(STRIDES),
                      test_cfg=ConfigDict(test_cfg))


def assert_same_detections_as_mmdet(maps, metas, test_cfg, by_score=False, **predict_args):
    """Both heads built with ``test_cfg``, ``predict_by_feat(maps, metas,
    **predict_args)``; ``by_score`` compares after sorting by score (mmdet
    leaves candidates without NMS in class-probability order)."""
    ours = build_head(test_cfg=test_cfg).predict_by_feat(maps, metas, **predict_args)
    theirs = mmdet_head(test_cfg).predict_by_feat([m.clone() for m in maps], metas,
                                                  **predict_args)
    assert len(ours) == len(theirs) == len(metas)
    for mine, reference in zip(ours, theirs):
        if by_score:
            mine = mine[mine.scores.argsort(descending=True)]
            reference = reference[reference.scores.argsort(descending=True)]
        assert torch.equal(mine.labels, reference.labels)
        torch.testing.assert_close(mine.scores, reference.scores)
        torch.testing.assert_close(mine.bboxes, reference.bboxes, atol=1e-4, rtol=1e-5)
    return ours


def test_test_cfg_and_defaults_are_mmdets():
    """No ``cfg``: the head's ``test_cfg``; no ``rescale``: input pixels
    although the metas carry a scale factor."""
    results = assert_same_detections_as_mmdet(random_maps(20), RESIZED_METAS, TEST_CFG)
    assert all(len(res) == 40 for res in results)


def test_rescaled_as_mmdet():
    assert_same_detections_as_mmdet(random_maps(21), RESIZED_METAS, TEST_CFG, rescale=True)


def test_objectness_equal_to_conf_thr_is_kept_as_by_mmdet():
    """mmdet keeps ``objectness >= conf_thr``; every prior of the first
    level has objectness sigmoid(0) = 0.5 exactly (no NMS, so that all of
    their candidates show)."""
    maps = random_maps(22)
    maps[0].view(2, 3, 5 + NUM_CLASSES, 3, 5)[:, :, 4] = 0.0
    results = assert_same_detections_as_mmdet(maps, METAS, dict(TEST_CFG, conf_thr=0.5),
                                              by_score=True, with_nms=False)
    first_level = 3 * 5 * 3 * NUM_CLASSES
    assert all(len(res) > first_level for res in results)


def test_without_nms_every_candidate_as_mmdet():
    results = assert_same_detections_as_mmdet(random_maps(23), METAS, dict(TEST_CFG, score_thr=0.5),
                                              by_score=True, with_nms=False)
    assert all(len(res) > 40 for res in results)


def test_an_image_without_detections_gets_an_empty_result():
    maps = random_maps(24)
    for level in maps:
        level.view(2, 3, 5 + NUM_CLASSES, *level.shape[-2:])[1, :, 5:] = -20.0
    results = assert_same_detections_as_mmdet(maps, METAS, dict(TEST_CFG, score_thr=0.05))
    assert len(results[0]) > 0 and len(results[1]) == 0


def test_clipped_to_the_input_image_without_rescale():
    head = build_head()
    maps = random_maps(6, scale=2.0)
    unclipped = torch.cat([res.bboxes for res in predict(head, maps)])
    clipped = torch.cat([res.bboxes for res in predict(head, maps, clip_to_image=True)])
    height, width = RESIZED_METAS[0]['img_shape']
    assert unclipped[:, 2].max() > width and unclipped[:, 3].max() > height
    limits = torch.tensor([width, height, width, height], dtype=torch.float32)
    torch.testing.assert_close(clipped, torch.minimum(unclipped.clamp(min=0), limits))


def test_loss_of_maps_that_are_not_dense_in_memory():
    """Maps cut out of larger ones (as a crop of a padded batch would be)."""
    crops = [torch.cat((m, torch.randn_like(m)), dim=3)[..., :m.shape[3]] for m in random_maps(25)]
    assert not any(m.is_contiguous() for m in crops)
    losses = build_head().loss_by_feat(crops, instances(GTS, LABELS), METAS, instances(IGNORES))
    expected = yolov3_loss(crops, GTS, LABELS, IGNORES, NUM_CLASSES)
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-4), key


def test_level_mean_over_a_level_with_one_match():
    """A 6 px box in the top-left cell matches one anchor of the stride-8
    level and no neighbour cell: that level's mean is over one match."""
    gts, labels = [[[0.0, 0.0, 6.0, 6.0]], []], [[1], []]
    matches, _ = assign(gts, 'ratio', neighbor_cells=True)
    assert [m[1] for m in matches] == [2]
    maps = random_maps(26, scale=0.5)
    losses = build_head(**V5_HEAD).loss_by_feat(maps, instances(gts, labels), METAS, None)
    expected = yolov5_loss(maps, gts, labels, [[], []], NUM_CLASSES)
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-4), key


@pytest.mark.parametrize('overrides, message', [
    (dict(loss_wh=None), 'give either loss_box or both loss_xy and loss_wh'),
    (dict(in_channels=(16, 8), out_channels=(16, 16, 8)),
     'in_channels and out_channels need one entry a level'),
    (dict(loss_reduction='mean'),
     "loss_reduction must be one of ('image_sum', 'level_mean'), got 'mean'"),
    (dict(obj_level_weights=(1.0, 2.0)), 'obj_level_weights needs one entry a level'),
])
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=f'^{re.escape("YOLOAnchorHead: " + message)}$'):
        build_head(**overrides)


def test_forward_names_the_expected_map_count():
    with pytest.raises(ValueError, match='^YOLOAnchorHead expects 3 maps, got 2$'):
        build_head()((torch.zeros(1, 16, 3, 5), torch.zeros(1, 8, 6, 10)))


def test_convs_follow_conv_norm_and_act_cfg():
    default = build_head()
    assert all(type(m.conv) is nn.Conv2d for m in default.bridge_convs)
    assert all(type(m) is nn.Conv2d for m in default.pred_convs)
    assert isinstance(default.bridge_convs[0].norm, nn.BatchNorm2d)
    assert isinstance(default.bridge_convs[0].activate, nn.LeakyReLU)
    custom = build_head(conv_cfg=dict(type=GemmWeightGradConv2d),
                        norm_cfg=dict(type='GN', num_groups=4), act_cfg=dict(type='ReLU'))
    assert all(type(m.conv) is GemmWeightGradConv2d for m in custom.bridge_convs)
    assert all(type(m) is GemmWeightGradConv2d for m in custom.pred_convs)
    assert all(isinstance(m.gn, nn.GroupNorm) and m.gn.num_groups == 4
               for m in custom.bridge_convs)
    assert all(isinstance(m.activate, nn.ReLU) for m in custom.bridge_convs)


def test_prediction_convs_start_from_small_normal_weights_and_zero_box_bias():
    head = build_head()
    for conv in head.pred_convs:
        assert conv.weight.mean().abs() < 0.002
        assert 0.008 < conv.weight.std() < 0.012
        assert torch.equal(conv.bias.view(3, 5 + NUM_CLASSES)[:, :4], torch.zeros(3, 4))


def test_init_cfg_initialises_the_bridge_convs():
    head = build_head(init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0))
    assert all((m.conv.weight == 0.5).all() for m in head.bridge_convs)
    assert not (head.pred_convs[0].weight == 0.5).any()


def test_level_weights_are_config_not_checkpoint():
    """A checkpoint saved without objectness level weights loads strictly
    into a head configured with them, which keeps its own."""
    state = build_head().state_dict()
    assert not any('obj_level_weights' in key for key in state)
    balanced = build_head(obj_level_weights=(0.4, 1.0, 4.0))
    balanced.load_state_dict(state)
    assert balanced.obj_level_weights.tolist() == pytest.approx([0.4, 1.0, 4.0])


def test_inference_only_head_without_train_cfg():
    head = build_head(train_cfg=None)
    assert head.assigner is None
    results = predict(head, random_maps(27), nms=dict(iou_threshold=0.5), max_per_img=5)
    assert [len(res) for res in results] == [5, 5]
