"""Both metrics in one mmengine Evaluator, as tools/test.py builds it from
``test_evaluator = [dict(type='KittiMetric'),
dict(type='FastCocoMetric')]``."""
import pytest
from mmengine.evaluator import Evaluator

from yolo_plugin.evaluation import FastCocoMetric, KittiMetric
from .samples import data_list_of, perturbed_detections, samples_for


def _evaluate(evaluator, dataset, samples):
    evaluator.dataset_meta = dataset.metainfo
    evaluator.process(data_samples=samples, data_batch={})
    return evaluator.evaluate(len(samples))


def test_kitti_and_coco_metrics_together(kitti_trainval):
    data_list = data_list_of(kitti_trainval)
    detections = perturbed_detections(data_list, 3, seed=2)
    evaluator = Evaluator(
        [dict(type='KittiMetric'),
         dict(type='FastCocoMetric')])
    together = _evaluate(evaluator, kitti_trainval,
                         samples_for(data_list, detections))
    # The KITTI headline first (save_best='auto' picks the first key).
    assert list(together)[0] == 'kitti/mAP_moderate'
    assert 'kitti/Cyclist_Hard' in together and 'coco/bbox_mAP' in together
    assert 'coco/Car_precision' in together
    # Each metric alone gives the same numbers.
    for metric in (KittiMetric(), FastCocoMetric()):
        alone = _evaluate(
            Evaluator(metric), kitti_trainval,
            samples_for(data_list, detections))
        assert alone == pytest.approx({key: together[key]
                                       for key in alone},
                                      nan_ok=True)
    assert len(together) == (9 + 3) + (6 + 3)  # AP and means; mAPs, classes
