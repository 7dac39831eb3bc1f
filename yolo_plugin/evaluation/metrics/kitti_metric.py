"""The official KITTI 2D object detection metric (AP, R40 or R11)."""
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from yolo_plugin.registry import METRICS
from ..functional.kitti_eval import (check_recall_points, kitti_eval,
                                     resolve_min_overlaps)
from ..functional.kitti_files import write_kitti_results

#: Fields of a KITTI instance (see KittiDataset) the protocol reads.
KITTI_INSTANCE_KEYS = ('bbox', 'kitti_type', 'truncated', 'occluded')


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI's 2D object detection AP (the devkit's ``evaluate_object``)
    of each class at Easy / Moderate / Hard, in percent, and the means over
    the classes (``mAP_moderate`` is the leaderboard's headline).

    Reads predictions from ``data_sample['pred_instances']`` (boxes in
    original-image pixels, labels indexing ``dataset_meta['classes']``) and
    the raw KITTI ground truth from ``data_sample['instances']`` (the test
    pipeline must pack ``'instances'`` in its ``meta_keys``).

    Args:
        classes: classes to evaluate; default ``dataset_meta['classes']``.
        min_overlaps: minimum IoU per class over the defaults (Car 0.7,
            Pedestrian 0.5, Cyclist 0.5, ...).
        recall_points: 40 (R40, KITTI's metric since 2019) or 11 (R11).
        format_only: only write KITTI result files (the test split has no
            labels): one ``<image stem>.txt`` a frame in ``outfile_prefix``.
        outfile_prefix: folder of the result files with ``format_only``.
        collect_device, prefix: see mmengine's ``BaseMetric``; the metrics
            are reported as ``kitti/Car_Moderate``, ``kitti/mAP_moderate``.
    """
    default_prefix: Optional[str] = 'kitti'

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 min_overlaps: Optional[Mapping[str, float]] = None,
                 recall_points: int = 40,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        check_recall_points(recall_points)
        if format_only and not outfile_prefix:
            raise ValueError('format_only=True needs outfile_prefix, the '
                             'folder of the KITTI result files')
        self.classes = tuple(classes) if classes is not None else None
        self.min_overlaps = dict(min_overlaps or {})
        if self.classes is not None:
            resolve_min_overlaps(self.classes, self.min_overlaps)
        self.recall_points = recall_points
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's predictions and, unless ``format_only``, its
        KITTI ground truth (numpy arrays)."""
        for sample in data_samples:
            pred = sample['pred_instances']
            result = dict(
                img_path=sample['img_path'],
                bboxes=pred['bboxes'].cpu().numpy().reshape(-1, 4),
                scores=pred['scores'].cpu().numpy(),
                labels=pred['labels'].cpu().numpy())
            if not self.format_only:
                result['gt'] = kitti_ground_truth(sample)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the result files (``format_only``) or evaluate."""
        if not results:
            raise ValueError('KittiMetric received no predictions')
        names = np.asarray(self.dataset_meta['classes'], dtype=str)
        labels = np.concatenate([r['labels'] for r in results])
        if labels.size and not (0 <= labels.min()
                                and labels.max() < len(names)):
            raise ValueError(f'predicted labels {np.unique(labels)} outside '
                             f'the {len(names)} classes {tuple(names)}')
        dets = [
            dict(
                bboxes=r['bboxes'],
                scores=r['scores'],
                names=names[r['labels']]) for r in results
        ]
        if self.format_only:
            self._write_results(results, dets)
            return {}
        classes = self.classes or tuple(names)
        evaluation = kitti_eval([r['gt'] for r in results], dets, classes,
                                self.min_overlaps)
        print_log(
            '\n' + evaluation.table(self.recall_points), logger='current')
        return evaluation.to_metrics(self.recall_points)

    def _write_results(self, results: List[dict], dets: List[dict]) -> None:
        os.makedirs(self.outfile_prefix, exist_ok=True)
        for result, det in zip(results, dets):
            stem = osp.splitext(osp.basename(result['img_path']))[0]
            write_kitti_results(
                osp.join(self.outfile_prefix, f'{stem}.txt'), det['names'],
                det['bboxes'], det['scores'])
        print_log(
            f'KITTI result files of {len(results)} frames written to '
            f'{self.outfile_prefix}',
            logger='current')


def kitti_ground_truth(sample: Mapping) -> Dict[str, np.ndarray]:
    """Arrays of a data sample's raw KITTI instances for ``kitti_eval``.

    Raises:
        KeyError: when the sample has no ``instances`` or an instance lacks
            a KITTI field, naming the image.
    """
    if 'instances' not in sample:
        raise KeyError(
            f'{sample.get("img_path")}: no ground truth in the data sample; '
            "KittiMetric reads data_sample['instances']: add 'instances' to "
            "PackDetInputs' meta_keys of the test pipeline")
    instances = sample['instances']
    for instance in instances:
        missing = [key for key in KITTI_INSTANCE_KEYS if key not in instance]
        if missing:
            raise KeyError(
                f'{sample.get("img_path")}: instance {instance} lacks '
                f'{missing}; KittiMetric needs KITTI ground truth as '
                'KittiDataset makes it')
    return dict(
        bboxes=np.array([inst['bbox'] for inst in instances],
                        float).reshape(-1, 4),
        names=np.array([inst['kitti_type'] for inst in instances], str),
        truncated=np.array([inst['truncated'] for inst in instances], float),
        occluded=np.array([inst['occluded'] for inst in instances], float))
