"""Matching, confusion matrix and precision-recall curves of the analysis,
against loop references, mmdet's VOC ``eval_map`` and hand cases."""
import numpy as np
import pytest
from mmdet.evaluation.functional import eval_map

from yolo_plugin.evaluation.analysis import (DetectionSet, confusion_matrix,
                                             match_detections,
                                             precision_recall_curves)
from .samples import random_image

CLASSES = ('car', 'person', 'bike')


def _random_set(seed, num_images=30):
    rng = np.random.default_rng(seed)
    images = [
        random_image(rng, len(CLASSES), 7, 11, 300., (10., 80.), 6.)
        for _ in range(num_images)
    ]
    return DetectionSet.from_lists(CLASSES, *zip(*images))


def _iou(box, other):
    """IoU of two xyxy boxes, continuous coordinates (no +1)."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = ((box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) *
             (other[3] - other[1]) - intersection)
    return intersection / union


def _match_loop(data, iou_thr, by_class):
    """The VOC rule, one detection at a time in descending score."""
    matched = np.full(len(data.det_scores), -1)
    true_positive = np.zeros(len(data.det_scores), bool)
    ignored = np.zeros(len(data.det_scores), bool)
    covered = set()
    for d in np.argsort(-data.det_scores, kind='stable'):
        gts = [
            g for g in np.flatnonzero(data.gt_image == data.det_image[d])
            if not by_class or data.gt_labels[g] in (-1, data.det_labels[d])
        ]
        if not gts:
            continue
        ious = [_iou(data.det_boxes[d], data.gt_boxes[g]) for g in gts]
        if max(ious) < iou_thr:
            continue
        g = gts[int(np.argmax(ious))]
        matched[d] = g
        if data.gt_ignored[g]:
            ignored[d] = True
        elif g not in covered:
            covered.add(g)
            true_positive[d] = True
    return matched, true_positive, ignored


@pytest.mark.parametrize('by_class', [False, True])
def test_matching_equals_the_loop_reference(by_class):
    data = _random_set(seed=0)
    for ours, expected in zip(
            match_detections(data, .5, by_class),
            _match_loop(data, .5, by_class)):
        np.testing.assert_array_equal(ours, expected)


def test_average_precision_equals_mmdet_voc_eval_map():
    data = _random_set(seed=1, num_images=40)
    curves = precision_recall_curves(data, iou_thr=.5)
    det_results, annotations = [], []
    for i in range(data.num_images):
        dets, gts = data.det_image == i, data.gt_image == i
        det_results.append([
            np.concatenate([
                data.det_boxes[dets & (data.det_labels == k)],
                data.det_scores[dets & (data.det_labels == k), None]
            ], 1) for k in range(len(CLASSES))
        ])
        kept = gts & ~data.gt_ignored
        # Unlabelled regions are ignored for every class.
        ignored = np.flatnonzero(gts & data.gt_ignored)
        ignored_labels = data.gt_labels[ignored]
        wildcard = ignored[ignored_labels < 0]
        annotations.append(
            dict(
                bboxes=data.gt_boxes[kept],
                labels=data.gt_labels[kept],
                bboxes_ignore=np.concatenate(
                    [data.gt_boxes[ignored[ignored_labels >= 0]]] +
                    [data.gt_boxes[wildcard]] * len(CLASSES)),
                labels_ignore=np.concatenate(
                    [ignored_labels[ignored_labels >= 0]] +
                    [np.full(len(wildcard), k) for k in range(len(CLASSES))])))
    _, per_class = eval_map(
        det_results, annotations, iou_thr=.5, logger='silent')
    for curve, expected in zip(curves, per_class):
        assert curve.num_ground_truths == expected['num_gts'] > 0
        assert curve.average_precision == pytest.approx(expected['ap'])
        np.testing.assert_allclose(curve.recall[-1], expected['recall'][-1])


def test_confusion_matrix_by_hand():
    car, person, dont_care = [0., 0., 40., 40.], [100., 0., 120.,
                                                  50.], [200., 0., 260., 60.]
    instances = [[
        dict(bbox=car, bbox_label=0, ignore_flag=0),
        dict(bbox=person, bbox_label=1, ignore_flag=0),
        dict(bbox=dont_care, bbox_label=-1, ignore_flag=1),
    ], [dict(bbox=car, bbox_label=0, ignore_flag=0)]]
    predictions = [
        dict(
            bboxes=np.array(
                [car, car, person, dont_care, [300, 0, 340, 40], person]),
            scores=np.array([.9, .8, .7, .9, .6, .1]),
            labels=np.array([0, 1, 2, 1, 2, 1])),
        dict(
            bboxes=np.zeros((0, 4)),
            scores=np.zeros(0),
            labels=np.zeros(0, int)),
    ]
    data = DetectionSet.from_lists(CLASSES, instances, predictions)
    matrix = confusion_matrix(data, score_thr=.3, iou_thr=.5)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1  # car found as car
    expected[1, 2] = 1  # person found as bike
    expected[3, 1] = 1  # second detection of the car, as person
    expected[3, 2] = 1  # bike on nothing
    expected[0, 3] = 1  # the car of the second image, missed
    # The detection on DontCare is left out; the person at 0.1 is below
    # the score threshold.
    np.testing.assert_array_equal(matrix, expected)


def test_curves_without_detections_or_ground_truth():
    instances = [[dict(bbox=[0, 0, 10, 10], bbox_label=0, ignore_flag=0)]]
    predictions = [
        dict(
            bboxes=np.array([[50., 50., 60., 60.]]),
            scores=np.array([.5]),
            labels=np.array([1]))
    ]
    data = DetectionSet.from_lists(CLASSES, instances, predictions)
    car, person, bike = precision_recall_curves(data)
    assert car.average_precision == 0 and len(car.recall) == 0
    assert np.isnan(person.average_precision) and person.precision[0] == 0
    assert np.isnan(bike.average_precision)
    no_gt = DetectionSet.from_lists(CLASSES, [[]], predictions)
    assert confusion_matrix(no_gt)[3, 1] == 1
