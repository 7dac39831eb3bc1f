"""YOLOAnchorHead: output layout, losses against the loop reference, ignored
regions, empty images, prediction."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from tests.models.yolo_reference import (ANCHORS, IMG_H, IMG_W, STRIDES,
                                         level_sizes, yolov3_loss, yolov5_loss)
from yolo_plugin.registry import MODELS

NUM_CLASSES = 3
V5_HEAD = dict(
    bbox_coder=dict(type='YOLOBoxCoder', variant='v5'),
    loss_xy=None,
    loss_wh=None,
    loss_box=dict(type='YOLOIoULoss', mode='ciou'),
    obj_target='iou',
    obj_level_weights=(0.4, 1.0, 4.0),
    loss_reduction='level_mean',
    train_cfg=dict(assigner=dict(type='YOLOAnchorAssigner', match='ratio',
                                 neighbor_cells=True, ignore_iou_thr=None)))


def build_head(**overrides):
    init_default_scope('yolo_plugin')
    cfg = dict(type='YOLOAnchorHead', num_classes=NUM_CLASSES, in_channels=(16, 8, 8),
               out_channels=(16, 16, 8),
               prior_generator=dict(type='YOLOPriorGenerator', anchors=ANCHORS,
                                    strides=STRIDES),
               test_cfg=dict(score_thr=0.05, nms=dict(iou_threshold=0.45), max_per_img=50))
    cfg.update(overrides)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def random_maps(seed, num_imgs=2, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    attrs = 3 * (5 + NUM_CLASSES)
    return [torch.randn(num_imgs, attrs, h, w, generator=generator) * scale
            for h, w in level_sizes()]


def instances(boxes_per_img, labels_per_img=None):
    out = []
    for i, boxes in enumerate(boxes_per_img):
        labels = labels_per_img[i] if labels_per_img else [-1] * len(boxes)
        out.append(InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                labels=torch.tensor(labels, dtype=torch.long)))
    return out


GTS = [[[10, 12, 40, 60], [100, 20, 158, 90], [60, 50, 75, 62], [61, 51, 74, 63]],
       [[0, 0, 30, 20], [80, 30, 140, 96]]]
LABELS = [[0, 2, 1, 1], [2, 0]]
IGNORES = [[[120, 0, 160, 30]], []]
METAS = [dict(img_shape=(IMG_H, IMG_W), batch_input_shape=(IMG_H, IMG_W))] * 2


def test_forward_layout():
    head = build_head()
    feats = (torch.randn(2, 16, 3, 5), torch.randn(2, 8, 6, 10), torch.randn(2, 8, 12, 20))
    (maps, ) = head(feats)
    assert [tuple(m.shape) for m in maps] == [(2, 24, 3, 5), (2, 24, 6, 10), (2, 24, 12, 20)]
    flat = head.flatten_preds(maps)
    assert flat.shape == (2, 3 * (15 + 60 + 240), 8)
    # Prior 7 of level 0 is cell (x=2, y=0), anchor 1.
    assert torch.equal(flat[1, 7], maps[0][1, 8:16, 0, 2])


def test_bias_init_from_priors():
    head = build_head()
    bias = head.pred_convs[0].bias.view(3, 8)
    assert torch.allclose(bias[:, 4].sigmoid(), torch.tensor(8 / (608 / 32)**2))
    assert torch.allclose(bias[:, 5:].sigmoid(), torch.tensor(1 / NUM_CLASSES))


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('variant', ['v3', 'v5'])
def test_loss_equals_reference(variant, seed):
    """The paper's loss (v3) and YOLOv5's (v5) against the loop references;
    in v3 the two boxes sharing a cell and an anchor leave one unmatched."""
    head_cfg, reference, scale, unmatched = dict(
        v3=({}, yolov3_loss, 1.0, 1), v5=(V5_HEAD, yolov5_loss, 0.5, 0))[variant]
    maps = random_maps(seed, scale=scale)
    losses = build_head(**head_cfg).loss_by_feat(maps, instances(GTS, LABELS), METAS,
                                                 instances(IGNORES))
    expected = reference(maps, GTS, LABELS, IGNORES, NUM_CLASSES)
    assert set(losses) == set(expected) | {'unmatched_gts'}
    assert losses['unmatched_gts'] == unmatched
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-4), key


@pytest.mark.parametrize('head_cfg', [{}, V5_HEAD], ids=['v3', 'v5'])
def test_images_without_objects(head_cfg):
    head = build_head(**head_cfg)
    maps = [m.requires_grad_() for m in random_maps(3)]
    losses = head.loss_by_feat(maps, instances([[], []]), METAS, None)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_obj'] > 0
    assert all(losses[k] == 0 for k in losses if k != 'loss_obj')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(torch.isfinite(m.grad).all() for m in maps)


def test_ignored_region_suppresses_objectness():
    head = build_head()
    maps = random_maps(4)
    everywhere = [[[-1e4, -1e4, 1e4, 1e4]]] * 2
    losses = head.loss_by_feat(maps, instances([[], []]), METAS, instances(everywhere))
    assert losses['loss_obj'] == 0
    # A ground truth inside the ignored region still trains its prior.
    losses = head.loss_by_feat(maps, instances([[[10, 10, 40, 40]], []], [[0], []]), METAS,
                               instances(everywhere))
    assert losses['loss_obj'] > 0


def test_label_smoothing_and_focal_change_their_losses_only():
    maps = random_maps(5)
    plain = build_head().loss_by_feat(maps, instances(GTS, LABELS), METAS, None)
    smooth = build_head(loss_cls=dict(type='SigmoidBCELoss', label_smoothing=0.1)).loss_by_feat(
        maps, instances(GTS, LABELS), METAS, None)
    focal = build_head(loss_obj=dict(type='SigmoidBCELoss', gamma=1.5)).loss_by_feat(
        maps, instances(GTS, LABELS), METAS, None)
    assert smooth['loss_cls'] != plain['loss_cls'] and smooth['loss_obj'] == plain['loss_obj']
    assert focal['loss_obj'] < plain['loss_obj'] and focal['loss_cls'] == plain['loss_cls']


ORI_SHAPE = (64, 80)  # (h, w): the (96, 160) input scaled by (2.0, 1.5) (w, h)
RESIZED_METAS = [dict(img_shape=(IMG_H, IMG_W), ori_shape=ORI_SHAPE, scale_factor=(2.0, 1.5))] * 2


def predict(head, maps, rescale=False, **cfg):
    """The head's detections under ``cfg`` (no NMS, all candidates, no
    thresholds unless given)."""
    cfg = dict(dict(score_thr=0.0, nms=None, max_per_img=-1), **cfg)
    return head.predict_by_feat(maps, RESIZED_METAS, cfg=cfg, rescale=rescale)


def test_predict_rescales_to_original_pixels():
    """x by the width factor, y by the height factor (IoU does not change
    under axis scaling, so NMS keeps the same boxes)."""
    head = build_head()
    maps = random_maps(6)
    cfg = dict(nms=dict(iou_threshold=0.5), max_per_img=30, score_thr=0.2)
    rescaled = predict(head, maps, rescale=True, **cfg)
    unscaled = predict(head, maps, rescale=False, **cfg)
    for res, ref in zip(rescaled, unscaled):
        assert len(res) == 30
        assert torch.equal(res.labels, ref.labels) and torch.equal(res.scores, ref.scores)
        torch.testing.assert_close(res.bboxes, ref.bboxes / torch.tensor([2.0, 1.5, 2.0, 1.5]))


def test_predict_clips_to_the_image_only_when_asked():
    head = build_head()
    maps = random_maps(6, scale=2.0)
    height, width = ORI_SHAPE
    unclipped = torch.cat([res.bboxes for res in predict(head, maps, rescale=True)])
    assert unclipped.min() < -10
    assert unclipped[:, 0::2].max() > width + 10 and unclipped[:, 1::2].max() > height + 10
    clipped = torch.cat([res.bboxes for res in predict(head, maps, rescale=True,
                                                       clip_to_image=True)])
    limits = torch.tensor([width, height, width, height], dtype=torch.float32)
    torch.testing.assert_close(clipped, torch.minimum(unclipped.clamp(min=0), limits))


def test_predict_keeps_the_best_max_per_img():
    head = build_head()
    maps = random_maps(6)
    results = predict(head, maps, nms=dict(iou_threshold=0.5), max_per_img=7)
    everything = predict(head, maps, nms=dict(iou_threshold=0.5), max_per_img=-1)
    for res, full in zip(results, everything):
        assert len(res) == 7 and len(full) > 7
        assert torch.equal(res.scores, full.scores[:7])
        assert torch.equal(res.scores, res.scores.sort(descending=True).values)


def probabilities(head, maps):
    """(B, N) objectness and (B, N, K) class probabilities of the maps."""
    flat = head.flatten_preds(maps).sigmoid()
    return flat[..., 4], flat[..., 5:]


@pytest.mark.parametrize('candidate_score', ['class_prob', 'score'])
def test_score_is_objectness_times_class(candidate_score):
    head = build_head()
    maps = random_maps(7)
    objectness, class_prob = probabilities(head, maps)
    for res, obj, cls in zip(predict(head, maps, candidate_score=candidate_score),
                             objectness, class_prob):
        expected = obj[:, None] * cls
        torch.testing.assert_close(res.scores.sort().values, expected.flatten().sort().values)


@pytest.mark.parametrize('candidate_score', ['class_prob', 'score'])
@pytest.mark.parametrize('nms_pre, score_thr', [(-1, 0.6), (25, 0.0), (40, 0.3)])
def test_score_thr_and_nms_pre_apply_to_the_candidate_score(candidate_score, nms_pre,
                                                            score_thr):
    """mmdet's YOLOV3Head: ``score_thr`` and ``nms_pre`` select (box, class)
    pairs by class probability and objectness multiplies afterwards;
    ``'score'``: both select by the detection score."""
    head = build_head()
    maps = random_maps(8)
    objectness, class_prob = probabilities(head, maps)
    detection_scores = objectness[..., None] * class_prob  # (B, N, K)
    selecting = class_prob if candidate_score == 'class_prob' else detection_scores
    results = predict(head, maps, candidate_score=candidate_score, score_thr=score_thr,
                      nms_pre=nms_pre)
    for res, select, scores in zip(results, selecting, detection_scores):
        order = select.flatten().argsort(descending=True)
        chosen = order[select.flatten()[order] > score_thr][:nms_pre if nms_pre > 0 else None]
        assert 0 < len(chosen) < select.numel()
        torch.testing.assert_close(res.scores.sort().values,
                                   scores.flatten()[chosen].sort().values)
        assert torch.equal(res.labels.sort().values, (chosen % NUM_CLASSES).sort().values)


def test_conf_thr_applies_to_objectness():
    head = build_head()
    maps = random_maps(9)
    objectness, class_prob = probabilities(head, maps)
    results = predict(head, maps, conf_thr=0.4)
    for res, obj, cls in zip(results, objectness, class_prob):
        expected = (obj[obj >= 0.4][:, None] * cls[obj >= 0.4]).flatten()
        torch.testing.assert_close(res.scores.sort().values, expected.sort().values)


def test_min_bbox_size_drops_small_boxes():
    head = build_head()
    maps = random_maps(10)
    everything = predict(head, maps)
    large = predict(head, maps, min_bbox_size=20)
    for res, full in zip(large, everything):
        wide = ((full.bboxes[:, 2:] - full.bboxes[:, :2]) > 20).all(1)
        assert 0 < wide.sum() < len(full)
        assert torch.equal(res.scores, full.scores[wide])


def test_config_errors():
    with pytest.raises(ValueError, match='candidate_score'):
        predict(build_head(), random_maps(0), candidate_score='objectness')
    with pytest.raises(ValueError, match='loss_box'):
        build_head(loss_box=dict(type='YOLOIoULoss'))
    with pytest.raises(ValueError, match='v3'):
        build_head(bbox_coder=dict(type='YOLOBoxCoder', variant='v5'))
    with pytest.raises(ValueError, match='obj_target'):
        build_head(obj_target='soft')
    with pytest.raises(ValueError, match='levels'):
        build_head(in_channels=(16, 8), out_channels=(16, 8))
