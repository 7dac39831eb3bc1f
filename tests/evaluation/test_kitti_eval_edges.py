"""The KITTI 2D protocol at its edges, against mmdet3d's port of the devkit:
overlaps exactly at the minimum (the devkit's ``>``), a detection of another
class over a ground truth, equal scores among many detections (file order
decides); then cases worked out by hand: a threshold where nothing counts,
the ground-truth counts, the AP table and the input errors. (The first call
of mmdet3d's numba code compiles it, most of this file's run time.)"""
import re

import numpy as np
import pytest

from yolo_plugin.evaluation.functional import kitti_eval
from .kitti_reference import load_mmdet3d_kitti_eval, mmdet3d_ap

CAR = [100., 100., 200., 200.]  # 100 px: counts at every difficulty


@pytest.fixture(scope='module')
def reference():
    return load_mmdet3d_kitti_eval()


def gt_anno(boxes, names, truncated=None, occluded=None):
    count = len(names)
    return dict(bboxes=np.array(boxes, dtype=float).reshape(count, 4), names=np.array(names),
                truncated=np.zeros(count) if truncated is None else np.array(truncated, float),
                occluded=np.zeros(count) if occluded is None else np.array(occluded))


def det_anno(boxes, names, scores):
    return dict(bboxes=np.array(boxes, dtype=float).reshape(len(names), 4),
                names=np.array(names), scores=np.array(scores, dtype=float))


def assert_ap_equals_mmdet3d(reference, gt_annos, det_annos, classes=('Car', )):
    ours = kitti_eval(gt_annos, det_annos, classes)
    r40, r11 = mmdet3d_ap(reference, gt_annos, det_annos, classes)
    np.testing.assert_allclose(ours.average_precision(40), r40, atol=1e-4)
    np.testing.assert_allclose(ours.average_precision(11), r11, atol=1e-4)
    return r40


def test_iou_of_exactly_min_overlap_is_no_match(reference):
    """IoU 7000 / 10000 = 0.7, Car's minimum: false positives above each
    true one (every other frame)."""
    boundary = [100., 100., 170., 200.]
    gt_annos = [gt_anno([CAR], ['Car']) for _ in range(20)]
    det_annos = [det_anno([boundary, CAR], ['Car'] * 2, [0.9 - i / 100, 0.5 - i / 100])
                 if i % 2 == 0 else det_anno([boundary], ['Car'], [0.9 - i / 100])
                 for i in range(20)]
    r40 = assert_ap_equals_mmdet3d(reference, gt_annos, det_annos)
    assert 0 < r40.min() and r40.max() < 50


def test_dont_care_overlap_of_exactly_min_overlap_is_a_false_positive(reference):
    """A detection 0.7 inside a DontCare region, over its own area: not
    more than Car's 0.7, so it still counts as false."""
    region, detection = [300., 100., 370., 200.], [300., 100., 400., 200.]
    gt_annos = [gt_anno([CAR, region], ['Car', 'DontCare']) for _ in range(20)]
    det_annos = [det_anno([detection, CAR], ['Car'] * 2, [0.9 - i / 100, 0.5 - i / 100])
                 for i in range(20)]
    r40 = assert_ap_equals_mmdet3d(reference, gt_annos, det_annos)
    assert (r40 < 50).all()


def test_detection_of_another_class_takes_no_ground_truth(reference):
    """A 30 px Car, moderate; on it a Pedestrian detection (30 px: not
    below Moderate's 25 px, so not ignored but of another class) scoring
    above the Car detection: the devkit passes it over."""
    car = [100., 100., 120., 130.]
    gt_annos = [gt_anno([car], ['Car']) for _ in range(10)]
    det_annos = [det_anno([car, [101., 100., 121., 130.]], ['Pedestrian', 'Car'],
                          [0.9, 0.5 - i / 100]) for i in range(10)]
    r40 = assert_ap_equals_mmdet3d(reference, gt_annos, det_annos)
    assert r40[0, 0] == 0 and r40[0, 1] == r40[0, 2] > 0


def test_equal_scores_go_to_the_first_detection_in_file_order(reference):
    """Ground truths A and B; detection D_b (overlapping both) and D_a
    (only A) score the same, D_b first in the file, among 15 others
    (positions 1 and 8 of 17, which an unstable sort swaps): A takes D_b,
    the first of the equal scores, and B none."""
    a, b = CAR, [120., 100., 220., 200.]
    d_b, d_a = [110., 100., 210., 200.], [95., 100., 195., 200.]
    others = [[600. + 12 * j, 100., 650. + 12 * j, 200.] for j in range(15)]
    boxes = others[:1] + [d_b] + others[1:7] + [d_a] + others[7:]
    scores = [0.9 if box in (d_a, d_b) else 0.1 for box in boxes]
    gt_annos = [gt_anno([a, b], ['Car', 'Car'])]
    det_annos = [det_anno(boxes, ['Car'] * len(boxes), scores)]
    assert_ap_equals_mmdet3d(reference, gt_annos, det_annos)


def test_threshold_where_nothing_counts_has_precision_zero():
    """At the one threshold, 0.8, the Van (ignored for Car) takes the
    detection of greatest overlap, which the Car needed, and the other
    detection lies in a DontCare region: no true and no false positive.
    The devkit divides 0 by 0 there; here that precision is 0, not NaN."""
    van, car = [0., 0., 100., 100.], [20., 0., 120., 100.]
    region = [-5., 0., 60., 100.]
    gt_annos = [gt_anno([van, car, region], ['Van', 'Car', 'DontCare'])]
    det_annos = [det_anno([[-5., 0., 85., 100.], [10., 0., 110., 100.]], ['Car'] * 2,
                          [0.9, 0.8])]
    result = kitti_eval(gt_annos, det_annos, ('Car', ))
    assert np.isfinite(result.precision).all()
    np.testing.assert_array_equal(result.average_precision(11), [[0, 0, 0]])


def test_counts_of_ground_truths_per_difficulty():
    """The devkit's rules: height above 40 / 25 / 25 px, occlusion at most
    0 / 1 / 2, truncation at most 0.15 / 0.3 / 0.5; Vans never count."""
    boxes = [CAR, [300., 100., 330., 130.], CAR, CAR, [500., 100., 520., 125.], CAR]
    gt_annos = [gt_anno(boxes, ['Car', 'Car', 'Car', 'Car', 'Car', 'Van'],
                        truncated=[0, 0, 0, 0.4, 0, 0], occluded=[0, 0, 2, 0, 0, 0])]
    det_annos = [det_anno([CAR], ['Car'], [0.9])]
    counts = kitti_eval(gt_annos, det_annos, ('Car', 'Pedestrian')).num_ground_truths
    np.testing.assert_array_equal(counts, [[1, 2, 4], [0, 0, 0]])
    assert counts.dtype.kind == 'i'


def test_fields_of_any_shape_with_one_value_a_box():
    """Column vectors, or a scalar for a single box, read like vectors."""
    gt_annos = [gt_anno([CAR], ['Car'])] * 2
    vectors = [det_anno([CAR], ['Car'], [0.9]), det_anno([[90., 100., 190., 200.]], ['Car'],
                                                         [0.8])]
    reshaped = [dict(bboxes=vectors[0]['bboxes'], names=np.array([['Car']]),
                     scores=np.array([[0.9]])),
                dict(bboxes=vectors[1]['bboxes'], names='Car', scores=0.8)]
    np.testing.assert_array_equal(kitti_eval(gt_annos, reshaped).precision,
                                  kitti_eval(gt_annos, vectors).precision)


def test_image_without_detections_given_as_empty_lists():
    gt_annos = [gt_anno([CAR], ['Car'])] * 2
    found = det_anno([CAR], ['Car'], [0.9])
    lists = kitti_eval(gt_annos, [found, dict(bboxes=[], names=[], scores=[])])
    arrays = kitti_eval(gt_annos, [found, det_anno([], [], [])])
    np.testing.assert_array_equal(lists.precision, arrays.precision)
    assert lists.precision.max() == 1


def table_rows(table):
    return [[cell.strip() for cell in line.split('|')[1:-1]]
            for line in table.splitlines() if line.startswith('|')]


def test_table_and_default_recall_points():
    gt_annos = [gt_anno([CAR, [300., 100., 330., 160.]], ['Car', 'Pedestrian'])] * 3
    det_annos = [det_anno([CAR, [300., 100., 330., 160.], [500., 100., 540., 160.]],
                          ['Car', 'Pedestrian', 'Pedestrian'], [0.9, 0.5, 0.7])] * 3
    result = kitti_eval(gt_annos, det_annos, ('Car', 'Pedestrian'))
    ap = result.average_precision()
    np.testing.assert_array_equal(ap, result.average_precision(40))
    assert ap[0, 1] != ap[1, 1]
    rows = table_rows(result.table())
    assert rows[0] == ['class', 'min IoU', 'Easy', 'Moderate', 'Hard']
    assert rows[1] == ['Car', '0.70', *(f'{v:.2f}' for v in ap[0])]
    assert rows[2] == ['Pedestrian', '0.50', *(f'{v:.2f}' for v in ap[1])]
    assert rows[3] == ['mean', '', *(f'{v:.2f}' for v in (ap[0] + ap[1]) / 2)]


def error(kind, annos_or_message):
    return pytest.raises(kind, match=re.escape(annos_or_message))


def test_input_errors_name_the_images_and_the_field():
    gt_annos = [gt_anno([CAR], ['Car']) for _ in range(7)]
    det_annos = [det_anno([CAR], ['Car'], [0.9]) for _ in range(7)]
    with pytest.raises(ValueError, match='^no images to evaluate$'):
        kitti_eval([], [])
    with pytest.raises(ValueError, match='^no classes to evaluate$'):
        kitti_eval(gt_annos, det_annos, ())
    without_names = [{k: v for k, v in anno.items() if k != 'names'} for anno in gt_annos]
    with error(KeyError, "ground-truth annotations of images [0, 1, 2, 3, 4] lack the key "
               "'names'"):
        kitti_eval(without_names, det_annos)
    without_scores = [det_annos[0], {'bboxes': CAR, 'names': ['Car']}] + det_annos[2:]
    with error(KeyError, "detection annotations of images [1] lack the key 'scores'"):
        kitti_eval(gt_annos, without_scores)
    three_columns = det_annos[:1] + [dict(bboxes=np.zeros((2, 3)), names=['Car'] * 2,
                                          scores=[1, 1])]
    with error(ValueError, 'detection annotations of image 1: bboxes must have shape (n, 4), '
               'got (2, 3)'):
        kitti_eval(gt_annos[:2], three_columns)
    not_finite = gt_annos[:1] + [gt_anno([[0., 0., np.nan, 1.]], ['Car'])]
    with error(ValueError, "ground-truth annotations of image 1: non-finite 'bboxes'"):
        kitti_eval(not_finite, det_annos[:2])


@pytest.mark.parametrize('overlap', [0.0, 1.5, -0.5])
def test_min_overlaps_outside_zero_to_one(overlap):
    gt_annos, det_annos = [gt_anno([CAR], ['Car'])], [det_anno([CAR], ['Car'], [0.9])]
    with error(ValueError, f"minimum overlaps must lie in (0, 1], got {{'Car': {overlap}}}"):
        kitti_eval(gt_annos, det_annos, ('Car', ), {'Car': overlap})


def test_min_overlap_of_one_needs_identical_boxes():
    gt_annos, det_annos = [gt_anno([CAR], ['Car'])], [det_anno([CAR], ['Car'], [0.9])]
    ap = kitti_eval(gt_annos, det_annos, ('Car', ), {'Car': 1.0}).average_precision()
    np.testing.assert_array_equal(ap, [[0, 0, 0]])


def test_recall_points_error_names_both_choices():
    result = kitti_eval([gt_anno([CAR], ['Car'])], [det_anno([CAR], ['Car'], [0.9])])
    with pytest.raises(ValueError, match=r'^recall_points must be 40 \(R40\) or 11 \(R11\), '
                       r'got 20$'):
        result.average_precision(20)
