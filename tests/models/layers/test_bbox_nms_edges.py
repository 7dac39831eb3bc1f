"""batched_multiclass_nms at its edges (scores equal to the threshold,
widths equal to ``min_bbox_size``, ``nms_pre`` and ``max_per_img`` of 0 and
1, score factors) against mmdet's post-processing run image by image:
``filter_scores_and_topk`` then ``BaseDenseHead._bbox_post_process``."""
import pytest
import torch
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.utils import filter_scores_and_topk
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from yolo_plugin.models.layers import batched_multiclass_nms

NUM_IMGS, NUM_BOXES, NUM_CLASSES = 2, 60, 3


def mmdet_detections(boxes, scores, factors, score_thr, iou_threshold, max_per_img, nms_pre,
                     min_bbox_size):
    """mmdet's detections of each image, as ``InstanceData`` sorted by
    score. ``nms_pre <= 0`` keeps every candidate, mmdet's ``RPNHead``
    convention (``0 < nms_pre < n``); so does ``max_per_img=-1`` (our
    docstring's; mmdet's slice ``[:-1]`` would drop the last)."""
    every = scores[0].numel()
    keep_count = max_per_img if max_per_img >= 0 else every
    cfg = ConfigDict(min_bbox_size=min_bbox_size, max_per_img=keep_count,
                     nms=dict(type='nms', iou_threshold=iou_threshold))
    detections = []
    for img_boxes, img_scores, img_factors in zip(boxes, scores, factors):
        topk = nms_pre if nms_pre > 0 else every
        cand_scores, labels, box_idx, _ = filter_scores_and_topk(img_scores, score_thr, topk)
        results = InstanceData(bboxes=img_boxes[box_idx], scores=cand_scores, labels=labels,
                               score_factors=img_factors[box_idx])
        results = BaseDenseHead._bbox_post_process(
            None, results, cfg, rescale=False, with_nms=iou_threshold is not None)
        order = results.scores.argsort(descending=True)
        detections.append(results[order][:keep_count])
    return detections


def integer_boxes_and_distinct_scores(seed):
    """Boxes on whole pixels at non-negative coordinates (where mmcv's
    ``batched_nms`` and ours agree), widths and heights 0 to 12 px; scores
    all distinct multiples of 1 / 360, 0.5 among them."""
    generator = torch.Generator().manual_seed(seed)
    centre = torch.randint(6, 90, (NUM_IMGS, NUM_BOXES, 2), generator=generator)
    half = torch.randint(0, 7, (NUM_IMGS, NUM_BOXES, 2), generator=generator)
    boxes = torch.cat((centre - half, centre + half), -1).float()
    count = NUM_IMGS * NUM_BOXES * NUM_CLASSES
    scores = torch.randperm(count, generator=generator).float() / count
    factors = torch.rand(NUM_IMGS, NUM_BOXES, generator=generator) * 0.5 + 0.5
    return boxes, scores.view(NUM_IMGS, NUM_BOXES, NUM_CLASSES), factors


@pytest.mark.parametrize('score_thr, iou_threshold, max_per_img, nms_pre, min_bbox_size', [
    (0.5, 0.3, 100, -1, -1),  # scores equal to the threshold are out
    (0.2, 0.3, 100, 150, 4),  # widths or heights equal to min_bbox_size are out
    (0.2, 0.3, 100, 200, 0),  # zero-width boxes are out
    (0.1, 0.5, 1, 0, -1),  # nms_pre 0 keeps all; one detection an image
    (0.1, 0.5, 0, -1, -1),  # max_per_img 0 keeps none
    (0.0, 0.5, 100, 1, -1),  # the single best candidate of each image
    (0.3, 0.01, -1, -1, 2),  # near-zero IoU threshold: only the same class and image suppress
])
@pytest.mark.parametrize('with_factors', [False, True])
def test_same_detections_as_mmdet(score_thr, iou_threshold, max_per_img, nms_pre, min_bbox_size,
                                  with_factors):
    boxes, scores, factors = integer_boxes_and_distinct_scores(seed=max_per_img + nms_pre + 7)
    if not with_factors:
        factors = torch.ones_like(factors)
    dets = batched_multiclass_nms(
        boxes, scores, score_thr, iou_threshold, max_per_img, nms_pre=nms_pre,
        score_factors=factors if with_factors else None, min_bbox_size=min_bbox_size)
    expected = mmdet_detections(boxes, scores, factors, score_thr, iou_threshold, max_per_img,
                                nms_pre, min_bbox_size)
    assert len(dets.batch_idx) == sum(len(img) for img in expected)
    for img, img_expected in enumerate(expected):
        mine = dets.batch_idx == img
        assert torch.equal(dets.boxes[mine], img_expected.bboxes)
        assert torch.equal(dets.labels[mine], img_expected.labels)
        assert torch.allclose(dets.scores[mine], img_expected.scores)


def test_without_nms_every_candidate_best_first_by_detection_score():
    boxes, scores, factors = integer_boxes_and_distinct_scores(seed=3)
    dets = batched_multiclass_nms(boxes, scores, 0.4, None, max_per_img=-1, nms_pre=150,
                                  score_factors=factors)
    expected = mmdet_detections(boxes, scores, factors, 0.4, None, -1, 150, -1)
    for img, img_expected in enumerate(expected):
        mine = dets.batch_idx == img
        assert torch.allclose(dets.scores[mine], img_expected.scores)
        assert torch.equal(dets.labels[mine], img_expected.labels)
        assert torch.equal(dets.boxes[mine], img_expected.bboxes)


def test_touching_regions_of_classes_and_images_do_not_overlap():
    """The same 10 px box in two images and two classes: at an IoU
    threshold of 0.01, any overlap of their shifted copies would suppress."""
    boxes = torch.tensor([[0., 0., 10., 10.]]).expand(2, 1, 4)
    scores = torch.tensor([[[0.9, 0.8]], [[0.7, 0.6]]])
    dets = batched_multiclass_nms(boxes, scores, 0.05, 0.01, max_per_img=10)
    assert dets.batch_idx.tolist() == [0, 0, 1, 1]
    assert dets.labels.tolist() == [0, 1, 0, 1]
