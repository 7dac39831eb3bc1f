"""KittiMetric: the protocol on data samples, and KITTI result files."""
import os

import numpy as np
import pytest

from yolo_plugin.datasets import KITTI_CLASSES
from yolo_plugin.evaluation import KittiMetric
from yolo_plugin.evaluation.functional import kitti_eval, read_kitti_file
from .kitti_reference import random_scene
from .samples import (data_list_of, data_sample, perfect_detections,
                      perturbed_detections, samples_for)

CLASSES = ('Car', 'Pedestrian', 'Cyclist')


def _run(metric, samples, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample.to_dict() for sample in samples])
    return metric.compute_metrics(metric.results)


def _scene_samples(seed, num_images):
    """Random KITTI scene as data samples of the 8-class set (ground
    truth as KittiDataset writes it) and as kitti_eval input."""
    gt_annos, det_annos = random_scene(np.random.default_rng(seed), num_images)
    samples = []
    for i, (gt, det) in enumerate(zip(gt_annos, det_annos)):
        instances = [
            dict(
                bbox=box.tolist(),
                bbox_label=KITTI_CLASSES.index(name)
                if name in KITTI_CLASSES else -1,
                ignore_flag=int(name not in KITTI_CLASSES),
                kitti_type=str(name),
                truncated=float(t),
                occluded=int(o),
                alpha=0.) for box, name, t, o in zip(
                    gt['bboxes'], gt['names'], gt['truncated'], gt['occluded'])
        ]
        info = dict(
            img_id=i,
            img_path=f'training/image_2/{i:06d}.png',
            height=375,
            width=1242,
            instances=instances)
        labels = np.array([KITTI_CLASSES.index(n) for n in det['names']])
        samples.append(data_sample(info, det['bboxes'], det['scores'], labels))
    return samples, gt_annos, det_annos


def test_metric_equals_the_protocol_on_the_same_scene():
    samples, gt_annos, det_annos = _scene_samples(seed=4, num_images=30)
    metrics = _run(KittiMetric(classes=CLASSES), samples, KITTI_CLASSES)
    # The samples hold float32 boxes and scores, as a model gives them.
    for det in det_annos:
        det['bboxes'] = det['bboxes'].astype(np.float32)
        det['scores'] = det['scores'].astype(np.float32)
    expected = kitti_eval(gt_annos, det_annos, CLASSES).to_metrics()
    assert metrics == pytest.approx(expected, abs=1e-9)
    r11 = _run(
        KittiMetric(recall_points=11, classes=['Car']), samples, KITTI_CLASSES)
    assert r11['Car_Hard'] == pytest.approx(
        kitti_eval(gt_annos, det_annos, ['Car']).to_metrics(11)['Car_Hard'])
    assert set(r11) == {
        'Car_Easy', 'Car_Moderate', 'Car_Hard', 'mAP_easy', 'mAP_moderate',
        'mAP_hard'
    }


def test_metric_on_the_demo_set(kitti_trainval):
    data_list = data_list_of(kitti_trainval)
    classes = kitti_trainval.metainfo['classes']
    perfect = perfect_detections(data_list)
    metrics = _run(KittiMetric(), samples_for(data_list, perfect), classes)
    # Every ground truth found and nothing else. With n <= 40 ground truths
    # each true positive is a threshold: precision 1 at points 0 .. n-1,
    # so R40 = (n - 1) / 40 (the devkit needs n > 40 to reach 100).
    num_gt = kitti_eval([_gt(info) for info in data_list], [
        dict(bboxes=np.zeros((0, 4)), names=[], scores=[]) for _ in data_list
    ], classes).num_ground_truths
    assert 0 < num_gt.min() and num_gt.max() <= 40
    for c, name in enumerate(classes):
        for d, level in enumerate(('Easy', 'Moderate', 'Hard')):
            assert metrics[f'{name}_{level}'] == pytest.approx(
                (num_gt[c, d] - 1) / 40 * 100)
    noisy = _run(
        KittiMetric(),
        samples_for(data_list, perturbed_detections(data_list, 3, seed=0)),
        classes)
    assert 0 < noisy['mAP_moderate'] < metrics['mAP_moderate']


def _gt(info):
    inst = info['instances']
    return dict(
        bboxes=np.array([i['bbox'] for i in inst]).reshape(-1, 4),
        names=np.array([i['kitti_type'] for i in inst]),
        truncated=np.array([i['truncated'] for i in inst]),
        occluded=np.array([i['occluded'] for i in inst]))


def test_format_only_writes_kitti_result_files(tmp_path):
    out_dir = str(tmp_path / 'results')
    info = dict(
        img_id=7,
        img_path='testing/image_2/000007.png',
        height=375,
        width=1242,
        instances=[])
    boxes = np.array([[10.123, 20.5, 110.25, 90.], [300., 100., 340., 180.]])
    samples = [
        data_sample(info, boxes, np.array([.9, .25]), np.array([0, 2])),
        data_sample(
            dict(info, img_id=8, img_path='testing/image_2/000008.png'),
            np.zeros((0, 4)), np.zeros(0), np.zeros(0)),
    ]
    metric = KittiMetric(format_only=True, outfile_prefix=out_dir)
    assert _run(metric, samples) == {}
    assert sorted(os.listdir(out_dir)) == ['000007.txt', '000008.txt']
    with open(os.path.join(out_dir, '000007.txt')) as f:
        lines = f.read().splitlines()
    assert lines[0].split() == [
        'Car', '-1', '-1', '-10', '10.12', '20.50', '110.25', '90.00', '-1',
        '-1', '-1', '-1000', '-1000', '-1000', '-10', '0.900000'
    ]
    parsed = read_kitti_file(os.path.join(out_dir, '000007.txt'), True)
    assert parsed['names'].tolist() == ['Car', 'Cyclist']
    np.testing.assert_allclose(parsed['bboxes'], boxes, atol=5e-3)
    np.testing.assert_allclose(parsed['scores'], [.9, .25])
    assert os.path.getsize(os.path.join(out_dir, '000008.txt')) == 0


def test_missing_or_foreign_ground_truth_is_named():
    info = dict(
        img_id=0,
        img_path='a.png',
        height=10,
        width=10,
        instances=[dict(bbox=[0, 0, 5, 5], bbox_label=0, ignore_flag=0)])
    sample = data_sample(info, np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    with pytest.raises(KeyError, match="a.png: instance .* lacks"):
        _run(KittiMetric(), [sample])
    bare = sample.to_dict()
    del bare['instances']
    with pytest.raises(KeyError, match="add 'instances' to PackDetInputs"):
        KittiMetric().process({}, [bare])
    with pytest.raises(ValueError, match='no predictions'):
        _run(KittiMetric(), [])
    with pytest.raises(ValueError, match='outfile_prefix'):
        KittiMetric(format_only=True)
    with pytest.raises(ValueError, match='no minimum overlap'):
        KittiMetric(classes=['person'])
    good = data_sample(dict(info, instances=[]), [[0, 0, 5, 5]], [0.5], [3])
    with pytest.raises(ValueError, match=r'predicted labels \[3\] outside'):
        _run(KittiMetric(), [good])
