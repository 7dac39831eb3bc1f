"""The KITTI 2D protocol against mmdet3d's port of the devkit (an
independent implementation) and against cases worked out by hand from the
devkit's rules."""
import numpy as np
import pytest

from yolo_plugin.evaluation.functional import kitti_eval
from yolo_plugin.evaluation.functional.kitti_eval import _score_thresholds
from .kitti_reference import (load_mmdet3d_kitti_eval, mmdet3d_ap,
                              random_scene, whole_pixel_scene)

CLASSES = ('Car', 'Pedestrian', 'Cyclist')


@pytest.fixture(scope='module')
def reference():
    return load_mmdet3d_kitti_eval()


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ap_equals_mmdet3d_on_random_scenes(reference, seed):
    rng = np.random.default_rng(seed)
    gt_annos, det_annos = random_scene(rng, num_images=80)
    # Frames without any detection, and without ground truth (not the
    # first: mmdet3d reads the first frame's alpha).
    for i in (5, 17):
        det_annos[i] = dict(
            bboxes=np.zeros((0, 4)), names=np.array([]), scores=np.zeros(0))
    gt_annos[9] = dict(
        bboxes=np.zeros((0, 4)),
        names=np.array([]),
        truncated=np.zeros(0),
        occluded=np.zeros(0))
    ours = kitti_eval(gt_annos, det_annos, CLASSES)
    r40, r11 = mmdet3d_ap(reference, gt_annos, det_annos, CLASSES)
    # Every difficulty of every class is non-trivial.
    assert (r40 > 1).sum() >= 8 and (r40 < 99).all()
    np.testing.assert_allclose(ours.average_precision(40), r40, atol=1e-4)
    np.testing.assert_allclose(ours.average_precision(11), r11, atol=1e-4)


@pytest.mark.parametrize('seed', [0, 1])
def test_ap_equals_mmdet3d_at_the_difficulty_limits(reference, seed):
    """Whole-pixel boxes exactly 25 and 40 px tall and truncations of
    exactly 0.15, 0.3 and 0.5: the devkit ignores ground truths of height
    <= the minimum, detections of height < it, and ground truths truncated
    or occluded > the maximum."""
    gt_annos, det_annos = whole_pixel_scene(np.random.default_rng(seed), num_images=80)
    gt_heights = np.concatenate([a['bboxes'][:, 3] - a['bboxes'][:, 1] for a in gt_annos])
    det_heights = np.concatenate([a['bboxes'][:, 3] - a['bboxes'][:, 1] for a in det_annos])
    truncations = np.concatenate([a['truncated'] for a in gt_annos])
    assert {25, 40} <= set(gt_heights) & set(det_heights)
    assert {.15, .3, .5} <= set(truncations)
    ours = kitti_eval(gt_annos, det_annos, CLASSES)
    r40, r11 = mmdet3d_ap(reference, gt_annos, det_annos, CLASSES)
    assert (r40 > 0).all()
    np.testing.assert_allclose(ours.average_precision(40), r40, atol=1e-4)
    np.testing.assert_allclose(ours.average_precision(11), r11, atol=1e-4)


def test_score_thresholds_equal_mmdet3d(reference):
    rng = np.random.default_rng(3)
    for num_gt, num_scores in [(1, 1), (7, 5), (40, 40), (80, 80), (500, 321),
                               (2000, 1500)]:
        scores = rng.random(num_scores).round(3)
        expected = reference.get_thresholds(scores.copy(), num_gt)
        np.testing.assert_array_equal(
            _score_thresholds(scores, num_gt), expected)


# Hand-worked cases: 80 frames, one Car each (100 px tall, fully visible,
# counts at every difficulty), all found with distinct scores below 0.5.
# With n = 80 ground truths the devkit keeps the scores of ranks
# 0, 1, 3, 5, ..., 79 (rank i when (2i + 3) / 80 >= 2 m / 40 after m kept):
# 41 thresholds, one per recall step.
NUM = 80
CAR = [100., 100., 200., 200.]
ELSEWHERE = [600., 100., 700., 200.]


def _frames(extra_gt=None, extra_det=None, name='Car'):
    gt_annos, det_annos = [], []
    for i in range(NUM):
        names, boxes = [name], [CAR]
        if extra_gt is not None:
            names.append(extra_gt[0])
            boxes.append(extra_gt[1])
        gt_annos.append(
            dict(
                bboxes=np.array(boxes),
                names=np.array(names),
                truncated=np.zeros(len(names)),
                occluded=np.zeros(len(names))))
        det_names, det_boxes, scores = [name], [CAR], [0.5 - i * 1e-3]
        if extra_det is not None:  # a false positive above every true one
            det_names.append(name)
            det_boxes.append(extra_det)
            scores.append(0.9)
        det_annos.append(
            dict(
                bboxes=np.array(det_boxes),
                names=np.array(det_names),
                scores=np.array(scores)))
    return gt_annos, det_annos


def _ap(gt_annos, det_annos, recall_points=40, name='Car'):
    result = kitti_eval(gt_annos, det_annos, (name, ))
    return result.average_precision(recall_points)[0]


def test_perfect_detections_give_100():
    assert np.allclose(_ap(*_frames()), 100)
    assert np.allclose(_ap(*_frames(), recall_points=11), 100)


def test_one_false_positive_a_frame_above_all_halves_precision():
    # At every threshold all 80 false positives are in: precision
    # (i + 1) / (i + 81), made monotone: 0.5 at all 41 points.
    frames = _frames(extra_det=ELSEWHERE)
    assert np.allclose(_ap(*frames), 50)
    assert np.allclose(_ap(*frames, recall_points=11), 50)


def test_detections_inside_dont_care_are_ignored():
    inside = _frames(('DontCare', [590., 90., 710., 210.]), ELSEWHERE)
    assert np.allclose(_ap(*inside), 100)
    # 60 % of the detection inside (< Car's 0.7): still a false positive.
    partly = _frames(('DontCare', [600., 100., 660., 200.]), ELSEWHERE)
    assert np.allclose(_ap(*partly), 50)
    # Over Pedestrian's 0.5 it is ignored for Pedestrian.
    pedestrians = _frames(('DontCare', [600., 100., 660., 200.]), ELSEWHERE,
                          'Pedestrian')
    assert np.allclose(_ap(*pedestrians, name='Pedestrian'), 100)


def test_detections_on_the_neighbouring_class_are_ignored():
    assert np.allclose(_ap(*_frames(('Van', ELSEWHERE), ELSEWHERE)), 100)
    # A truck is no neighbour of Car: a Car detection on it is false.
    assert np.allclose(_ap(*_frames(('Truck', ELSEWHERE), ELSEWHERE)), 50)


def test_detections_below_the_min_height_are_ignored():
    short = [600., 100., 700., 130.]  # 30 px: < 40 (Easy), >= 25
    ap = _ap(*_frames(extra_det=short))
    np.testing.assert_allclose(ap, [100, 50, 50])


def test_hard_ground_truth_counts_only_at_hard():
    # 80 more cars, occluded 2 and never detected: Easy and Moderate
    # ignore them. At Hard n = 160 and recall stops at 0.5: the kept ranks
    # are 0, 3, 7, ..., 79 (21 thresholds) with precision 1, so
    # R40 = 20 / 40 and R11 = 6 / 11 (points 0, 4, ..., 20).
    gt_annos, det_annos = _frames(('Car', ELSEWHERE))
    for gt in gt_annos:
        gt['occluded'] = np.array([0, 2])
    np.testing.assert_allclose(_ap(gt_annos, det_annos), [100, 100, 50])
    np.testing.assert_allclose(
        _ap(gt_annos, det_annos, recall_points=11), [100, 100, 600 / 11])


def test_metrics_keys_and_means():
    rng = np.random.default_rng(0)
    result = kitti_eval(*random_scene(rng, 10), CLASSES)
    metrics = result.to_metrics()
    assert set(metrics) == {
        f'{c}_{d}'
        for c in CLASSES
        for d in ('Easy', 'Moderate', 'Hard')
    } | {'mAP_easy', 'mAP_moderate', 'mAP_hard'}
    assert np.isclose(metrics['mAP_moderate'],
                      np.mean([metrics[f'{c}_Moderate'] for c in CLASSES]))
    table = result.table()
    assert 'R40' in table and 'Moderate' in table and 'Cyclist' in table


def test_bad_input_is_named():
    gt_annos, det_annos = _frames()
    with pytest.raises(ValueError, match='no minimum overlap'):
        kitti_eval(gt_annos, det_annos, ('Bicycle', ))
    kitti_eval(gt_annos, det_annos, ('Bicycle', ), {'Bicycle': 0.5})
    det_annos[3] = dict(det_annos[3], scores=np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="image 3: 'scores' has 2 values"):
        kitti_eval(gt_annos, det_annos)
    with pytest.raises(ValueError, match='80 ground-truth images but 79'):
        kitti_eval(gt_annos, det_annos[1:])
    det_annos[3] = dict(det_annos[3], scores=np.array([np.nan]))
    with pytest.raises(ValueError, match="image 3: non-finite 'scores'"):
        kitti_eval(gt_annos, det_annos)
    with pytest.raises(ValueError, match='recall_points'):
        kitti_eval(*_frames()).average_precision(20)
