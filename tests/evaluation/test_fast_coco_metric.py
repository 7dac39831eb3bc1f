"""FastCocoMetric against pycocotools run on the same input, its crowd
handling of ignored instances, and the demo Cityscapes set."""
import json

import numpy as np
import pytest
from mmdet.evaluation import CocoMetric
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from yolo_plugin.evaluation import FastCocoMetric
from yolo_plugin.evaluation.functional import STAT_NAMES
from .samples import (data_list_of, data_sample, perfect_detections,
                      perturbed_detections, random_image, samples_for)

CLASSES = ('car', 'person', 'bike')


def _run(metric, samples, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample.to_dict() for sample in samples])
    return metric.compute_metrics(metric.results)


def _random_images(seed, num_images=40):
    """Ground truth with labelled, crowd (ignore_flag=1) and unlabelled
    (-1) instances; up to 400 detections an image, so that AP at 100 and
    1000 max detections (per image and class) differ."""
    rng = np.random.default_rng(seed)
    infos, dets = [], []
    for i in range(num_images):
        instances, det = random_image(rng, len(CLASSES), 9, 400, 400.,
                                      (4., 150.), 8.)
        infos.append(
            dict(
                img_id=3 * i + 1,
                img_path=f'{i}.png',
                height=600,
                width=600,
                instances=instances))
        dets.append(det)
    return infos, dets


def _pycocotools_reference(infos, dets, tmp_path):
    """pycocotools from a json file, ignored instances written as crowd
    annotations by this test's own loop; returns the COCOeval."""
    annotations = []
    for info in infos:
        for inst in info['instances']:
            x1, y1, x2, y2 = inst['bbox']
            label = inst['bbox_label']
            for category in ([label] if label >= 0 else range(len(CLASSES))):
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=info['img_id'],
                        category_id=category,
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        area=(x2 - x1) * (y2 - y1),
                        iscrowd=int(inst['ignore_flag'] or label < 0)))
    path = tmp_path / 'gt.json'
    path.write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=i['img_id'], width=i['width'], height=i['height'])
                    for i in infos
                ],
                categories=[dict(id=k, name=n) for k, n in enumerate(CLASSES)],
                annotations=annotations)))
    coco_gt = COCO(str(path))
    results = [
        dict(
            image_id=info['img_id'],
            category_id=int(label),
            bbox=[
                float(b[0]),
                float(b[1]),
                float(b[2] - b[0]),
                float(b[3] - b[1])
            ],
            score=float(score)) for info, det in zip(infos, dets)
        for b, score, label in zip(det['bboxes'], det['scores'], det['labels'])
    ]
    coco_eval = COCOeval(coco_gt, coco_gt.loadRes(results), 'bbox')
    coco_eval.params.maxDets = [100, 300, 1000]
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    return coco_eval


@pytest.mark.parametrize('backend', ['faster_coco_eval', 'pycocotools'])
def test_all_12_stats_equal_pycocotools(backend, tmp_path):
    infos, dets = _random_images(seed=0)
    metrics = _run(
        FastCocoMetric(backend=backend, metric_items=list(STAT_NAMES)),
        samples_for(infos, dets))
    reference = _pycocotools_reference(infos, dets, tmp_path)
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
