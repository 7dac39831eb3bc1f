"""FastCocoMetric against pycocotools run on the same input, its crowd
handling of ignored instances, and the demo Cityscapes set."""
import numpy as np
import pytest
from mmdet.evaluation import CocoMetric

from yolo_plugin.evaluation import FastCocoMetric
from yolo_plugin.evaluation.functional import STAT_NAMES
from .coco_reference import CLASSES, pycocotools_eval, random_images
from .samples import (data_list_of, data_sample, perfect_detections,
                      perturbed_detections, samples_for)


def _run(metric, samples, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample.to_dict() for sample in samples])
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('backend', ['faster_coco_eval', 'pycocotools'])
def test_all_12_stats_equal_pycocotools(backend, tmp_path):
    infos, dets = random_images(seed=0)
    metrics = _run(
        FastCocoMetric(backend=backend, metric_items=list(STAT_NAMES)),
        samples_for(infos, dets))
    reference = pycocotools_eval(infos, dets, tmp_path)
    ours = np.array([metrics[f'bbox_{name}'] for name in STAT_NAMES])
    np.testing.assert_allclose(ours, reference.stats, rtol=0, atol=1e-9)
    # pycocotools' mAP is at 100 detections, which here is not all of them.
    at_1000 = reference.eval['precision'][..., 0, 2]
    assert abs(reference.stats[0] - at_1000[at_1000 > -1].mean()) > 1e-6
    # Per class: the mean of pycocotools' precision over IoU and recall.
    precision = reference.eval['precision'][:, :, :, 0, -1]
    for k, name in enumerate(CLASSES):
        values = precision[:, :, k]
        assert metrics[f'{name}_precision'] == pytest.approx(
            values[values > -1].mean(), abs=1e-9)


def test_ignored_instances_are_crowd_regions():
    car, person, dont_care, person_group = ([10., 10., 60.,
                                             50.], [100., 10., 130., 80.],
                                            [200., 0., 300.,
                                             100.], [400., 0., 500., 100.])
    info = dict(
        img_id=0,
        img_path='0.png',
        height=200,
        width=600,
        instances=[
            dict(bbox=car, bbox_label=0, ignore_flag=0),
            dict(bbox=person, bbox_label=1, ignore_flag=0),
            dict(bbox=dont_care, bbox_label=-1, ignore_flag=1),
            dict(bbox=person_group, bbox_label=1, ignore_flag=1),
        ])
    # Perfect detections at 0.5; above them, a person in the DontCare
    # region, a person in the person group and a car in the person group.
    boxes = [
        car, person, [210., 10., 290., 90.], [410., 10., 490., 90.],
        [410., 10., 490., 90.]
    ]
    scores = [.5, .5, .9, .9, .9]
    labels = [0, 1, 1, 1, 0]
    sample = data_sample(info, boxes, scores, labels)
    metrics = _run(FastCocoMetric(), [sample])
    # A person anywhere in a crowd is ignored; a car in a person crowd is
    # a false positive above the true car: precision 1/2 at every recall.
    assert metrics['person_precision'] == pytest.approx(1.)
    assert metrics['car_precision'] == pytest.approx(.5)
    assert np.isnan(metrics['bike_precision'])  # no ground truth
    # mmdet's CocoMetric files DontCare under a category -1: the person in
    # it is a false positive there.
    mmdet = _run(CocoMetric(classwise=True), [sample])
    assert mmdet['person_precision'] < 1


def test_metric_on_the_demo_cityscapes_set(cityscapes_val):
    data_list = data_list_of(cityscapes_val)
    classes = cityscapes_val.metainfo['classes']
    perfect = perfect_detections(data_list)
    metrics = _run(FastCocoMetric(), samples_for(data_list, perfect), classes)
    assert metrics['bbox_mAP'] == pytest.approx(1.)
    noisy = _run(
        FastCocoMetric(),
        samples_for(data_list,
                    perturbed_detections(data_list, len(classes), seed=1)),
        classes)
    assert 0 < noisy['bbox_mAP'] < noisy['bbox_mAP_50'] < 1


def test_unsupported_settings_are_refused():
    with pytest.raises(ValueError, match="mmdet's CocoMetric"):
        FastCocoMetric(ann_file='instances.json')
    with pytest.raises(ValueError, match='backend'):
        FastCocoMetric(backend='detectron')
    with pytest.raises(ValueError, match="metric='bbox'"):
        FastCocoMetric(metric='segm')
    with pytest.raises(KeyError, match='mAP_xl'):
        FastCocoMetric(metric_items=['mAP_xl'])
