"""Edges of our COCO evaluation found by mutation testing (docs/testing.md):
the dicts handed to the COCO API, the refusals, settings other than the
default ones (IoU thresholds, max detections without 100, more than 300
detections of a class in an image, no small objects), the per-class
table, the class AP of a crafted precision array and ``format_only``, each
against pycocotools or mmdet's CocoMetric where they say the same."""
import json
import re
import warnings

import numpy as np
import pytest
from mmdet.evaluation import CocoMetric
from pycocotools.coco import COCO

from yolo_plugin.evaluation import FastCocoMetric
from yolo_plugin.evaluation.functional import (STAT_NAMES, coco_detections, coco_ground_truth,
                                               evaluate_coco_bbox)
from yolo_plugin.evaluation.functional.coco_eval import CocoEvalResult
from yolo_plugin.evaluation.metrics import fast_coco_metric
from .coco_reference import CLASSES, coco_results, pycocotools_eval, random_images
from .samples import samples_for


def run_metric(metric, infos, dets, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [sample.to_dict() for sample in samples_for(infos, dets)])
    return metric.compute_metrics(metric.results)


def gts_of(infos):
    """The ground-truth dicts mmdet's CocoMetric.process hands on."""
    return [dict(img_id=info['img_id'], width=info['width'], height=info['height'],
                 anns=info['instances']) for info in infos]


def test_ground_truth_dict():
    """Integer boxes, an instance without ``ignore_flag`` (not ignored),
    a crowd of its class, and an unlabelled region (a crowd of each
    class)."""
    gts = [
        dict(img_id=7, width=640, height=480, anns=[
            dict(bbox=[10, 20, 50, 80], bbox_label=1),
            dict(bbox=[0, 0, 5, 5], bbox_label=0, ignore_flag=1),
        ]),
        dict(img_id=2, width=320, height=240, anns=[
            dict(bbox=[1.5, 2.5, 4.5, 8.5], bbox_label=-1, ignore_flag=1),
        ]),
    ]
    expected_annotations = [
        (7, 1, [10, 20, 40, 60], 0),
        (7, 0, [0, 0, 5, 5], 1),
        (2, 0, [1.5, 2.5, 3.0, 6.0], 1),
        (2, 1, [1.5, 2.5, 3.0, 6.0], 1),
    ]
    assert coco_ground_truth(gts, num_classes=2) == dict(
        images=[dict(id=7, width=640, height=480), dict(id=2, width=320, height=240)],
        categories=[dict(id=0, name='0'), dict(id=1, name='1')],
        annotations=[
            dict(id=i + 1, image_id=image, category_id=category, bbox=bbox,
                 area=bbox[2] * bbox[3], iscrowd=crowd)
            for i, (image, category, bbox, crowd) in enumerate(expected_annotations)
        ])
    for ann in coco_ground_truth(gts, num_classes=2)['annotations']:
        assert all(type(ann[key]) is int for key in ('id', 'image_id', 'category_id', 'iscrowd'))


def test_ground_truth_refusals():
    ann = dict(bbox=[0, 0, 1, 1], bbox_label=0)
    with pytest.raises(ValueError) as error:
        coco_ground_truth([dict(img_id=1, width=1, height=1, anns=[ann])] * 2, 1)
    assert str(error.value) == 'image ids repeat: COCO evaluation needs one img_id an image'
    with pytest.raises(ValueError) as error:
        coco_ground_truth([dict(img_id=1, width=1, height=1,
                                anns=[ann, dict(ann, bbox_label=2)])], 2)
    assert str(error.value) == 'bbox_label 2 outside the 2 classes'


def test_detections_are_what_load_res_makes(tmp_path):
    infos, dets = random_images(seed=3, num_images=4)
    ours = coco_detections([dict(det, img_id=info['img_id'])
                            for info, det in zip(infos, dets)])
    gt = COCO()
    gt.dataset = dict(images=[dict(id=info['img_id']) for info in infos], annotations=[],
                      categories=[dict(id=k) for k in range(len(CLASSES))])
    gt.createIndex()
    theirs = gt.loadRes(coco_results(infos, dets)).dataset['annotations']
    assert len(ours) == len(theirs) > 0
    for mine, reference in zip(ours, theirs):
        reference = {key: value for key, value in reference.items() if key != 'segmentation'}
        assert mine.keys() == reference.keys()
        for key, value in reference.items():
            assert mine[key] == pytest.approx(value, rel=1e-6), key
        assert type(mine['iscrowd']) is int and type(mine['category_id']) is int
    assert coco_detections([]) == []


def test_defaults_are_cocos_and_pycocotools_numbers(tmp_path, capsys):
    """Default backend and IoU thresholds 0.50:0.05:0.95; precision,
    recall and the 12 stats as pycocotools'; nothing printed."""
    infos, dets = random_images(seed=4, num_images=10)
    result = evaluate_coco_bbox(
        coco_ground_truth(gts_of(infos), len(CLASSES)),
        coco_detections([dict(det, img_id=info['img_id']) for info, det in zip(infos, dets)]))
    assert capsys.readouterr().out == ''
    reference = pycocotools_eval(infos, dets, tmp_path)
    np.testing.assert_allclose(result.iou_thrs, reference.params.iouThrs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.precision, reference.eval['precision'], rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(result.recall, reference.eval['recall'], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.stats, reference.stats, rtol=0, atol=1e-12)
    capsys.readouterr()  # the reference's printing
    evaluate_coco_bbox(coco_ground_truth(gts_of(infos), len(CLASSES)), [],
                       backend='pycocotools')
    assert capsys.readouterr().out == ''
    with pytest.raises(ValueError) as error:
        evaluate_coco_bbox(dict(images=[], categories=[], annotations=[]), [],
                           max_dets=(100, 300))
    assert str(error.value) == 'max_dets needs three values, got (100, 300)'
    with pytest.raises(ValueError) as error:
        evaluate_coco_bbox(dict(images=[], categories=[], annotations=[]), [], backend='coco')
    assert str(error.value) == ("backend must be one of ('faster_coco_eval', 'pycocotools'), "
                                "got 'coco'")
    with pytest.raises(ValueError) as error:
        FastCocoMetric(ann_file='instances_val.json')
    assert str(error.value) == ('FastCocoMetric evaluates the ground truth of the data samples; '
                                "for an annotation file use mmdet's CocoMetric")


@pytest.mark.parametrize('backend', ['faster_coco_eval', 'pycocotools'])
def test_other_settings_equal_pycocotools(backend, tmp_path):
    """IoU thresholds 0.5, 0.6, 0.75; max detections 10, 300, 1000 (no
    100: pycocotools' mAP is -1); 700 to 900 detections of the one class
    an image, the 700 false positives scoring highest (AR at 300 and 1000
    differ); no small objects (their AP and AR -1)."""
    infos, dets = random_images(seed=5, num_images=12, classes=('car', ), max_detections=200,
                                sizes=(40., 150.))
    rng = np.random.default_rng(5)
    for det in dets:  # 700 tiny false positives above the detections of objects
        corners = rng.uniform(0, 580, (700, 2)).astype(np.float32)
        det['bboxes'] = np.concatenate([det['bboxes'], np.concatenate([corners, corners + 4], 1)])
        det['scores'] = np.concatenate([det['scores'] / 2, rng.uniform(.5, 1, 700)])
        det['labels'] = np.concatenate([det['labels'], np.zeros(700, int)])
    settings = dict(iou_thrs=[0.5, 0.6, 0.75], max_dets=(10, 300, 1000))
    metric = FastCocoMetric(backend=backend, metric_items=list(STAT_NAMES),
                            iou_thrs=settings['iou_thrs'], proposal_nums=settings['max_dets'])
    ours = run_metric(metric, infos, dets, classes=('car', ))
    reference = pycocotools_eval(infos, dets, tmp_path, classes=('car', ), **settings)
    stats = np.array([ours[f'bbox_{name}'] for name in STAT_NAMES])
    np.testing.assert_allclose(stats, reference.stats, rtol=0, atol=1e-12)
    assert stats[0] == stats[3] == stats[9] == -1
    assert stats[7] != stats[8] and stats[1] != stats[2]


def test_class_ap_of_a_crafted_precision_array():
    """(T=2, R=2, K=3, A=4, M=3): class 2 without ground truth; class 1
    with one invalid entry in one IoU row (averaged over the valid ones)."""
    precision = np.arange(2 * 2 * 3 * 4 * 3, dtype=float).reshape(2, 2, 3, 4, 3) / 200
    precision[:, :, 2] = -1
    precision[1, 0, 1, 1, 2] = -1
    result = CocoEvalResult(precision=precision, recall=np.zeros((2, 3, 4, 3)),
                            stats=np.zeros(12), iou_thrs=np.array([0.5, 0.75]))

    def expected(rows, area, k):
        values = precision[rows, :, k, area, 2]
        values = values[values > -1]
        return values.mean() if values.size else np.nan

    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no 0 / 0 for the class without ground truth
        for iou, rows in [(None, [0, 1]), (0.5, [0]), (0.75, [1])]:
            for area in range(4):
                got = result.class_ap(iou, area) if iou else result.class_ap(area=area)
                np.testing.assert_allclose(
                    got, [expected(rows, area, k) for k in range(3)], rtol=0, atol=1e-12)
        np.testing.assert_allclose(result.class_ap(), result.class_ap(None, 0))
        assert np.isnan(result.class_ap(0.6)).all()  # not among the thresholds
    one_recall = CocoEvalResult(precision=precision[:, :1], recall=result.recall,
                                stats=result.stats, iou_thrs=result.iou_thrs)
    np.testing.assert_allclose(one_recall.class_ap(0.5)[:2], precision[0, 0, :2, 0, 2])


def test_per_class_table_is_pycocotools_precision(tmp_path, monkeypatch):
    """The logged tables: the 12 stats under their names, and each class's
    AP over IoU 0.50:0.95 and at 0.5 and 0.75, and by object size."""
    logged = []
    monkeypatch.setattr(fast_coco_metric, 'print_log',
                        lambda message, logger=None: logged.append((message, logger)))
    infos, dets = random_images(seed=0)
    metrics = run_metric(FastCocoMetric(), infos, dets)
    reference = pycocotools_eval(infos, dets, tmp_path)
    assert [logger for _, logger in logged] == ['current', 'current']
    summary, per_class = (message for message, _ in logged)
    assert summary.startswith('\n+ COCO bbox ')
    header, values = (re.findall(r'[^|\s]+', line) for line in summary.splitlines()[2:5:2])
    assert header == list(STAT_NAMES)
    assert values == [f'{value:.3f}' for value in reference.stats]
    lines = per_class.splitlines()
    assert lines[0] == ''
    rows = [re.findall(r'[^|\s]+', line) for line in lines if line.startswith('|')]
    assert rows[0] == ['class', 'mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']
    precision = reference.eval['precision'][..., -1]  # (T, R, K, A)
    columns = [(slice(None), 0), ([0], 0), ([5], 0), (slice(None), 1), (slice(None), 2),
               (slice(None), 3)]
    assert [row[0] for row in rows[1:]] == list(CLASSES)
    for k, row in enumerate(rows[1:]):
        for (ious, area), cell in zip(columns, row[1:]):
            values = precision[ious, :, k, area]
            values = values[values > -1]
            assert cell == f'{values.mean() if values.size else np.nan:.3f}', (k, ious, area)
        assert metrics[f'{CLASSES[k]}_precision'] == pytest.approx(
            precision[:, :, k, 0][precision[:, :, k, 0] > -1].mean(), abs=1e-12)


def test_format_only_writes_mmdets_results_file(tmp_path):
    """``format_only`` writes the detections as mmdet's CocoMetric does
    (the same file), logs where, and evaluates nothing."""
    infos, dets = random_images(seed=6, num_images=3)
    logged = []
    metric = FastCocoMetric(format_only=True, outfile_prefix=str(tmp_path / 'ours'))
    original = fast_coco_metric.print_log
    fast_coco_metric.print_log = lambda message, logger=None: logged.append((message, logger))
    try:
        assert run_metric(metric, infos, dets) == {}
    finally:
        fast_coco_metric.print_log = original
    reference = CocoMetric(format_only=True, outfile_prefix=str(tmp_path / 'mmdet'))
    assert run_metric(reference, infos, dets) == {}
    ours = json.loads((tmp_path / 'ours.bbox.json').read_text())
    assert ours == json.loads((tmp_path / 'mmdet.bbox.json').read_text()) and ours
    assert logged == [(f'COCO results written to {tmp_path}/ours.bbox.json', 'current')]
