"""mmdet's ``CocoMetric`` (boxes, ground truth from the data samples) on
faster-coco-eval, with ignored instances as crowd regions."""
from typing import Dict, List, Optional, Sequence

from mmdet.evaluation import CocoMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from yolo_plugin.registry import METRICS
from ..functional.coco_eval import (COCO_BACKENDS, STAT_NAMES, CocoEvalResult,
                                    coco_detections, coco_ground_truth,
                                    evaluate_coco_bbox)

#: Per-class columns: (name, IoU threshold or None for 0.50:0.95, area).
CLASS_COLUMNS = (('mAP', None, 0), ('mAP_50', .5, 0), ('mAP_75', .75, 0),
                 ('mAP_s', None, 1), ('mAP_m', None, 2), ('mAP_l', None, 3))


@METRICS.register_module()
class FastCocoMetric(CocoMetric):
    """COCO box AP / AR of the data samples' ground truth, without an
    annotation file.

    As mmdet's ``CocoMetric`` (same arguments, keys ``coco/bbox_mAP``,
    ``coco/bbox_mAP_50``, ..., per-class ``coco/{class}_precision``), but:

    * ``backend='faster_coco_eval'`` (default, C++) or ``'pycocotools'``;
      both give pycocotools' numbers;
    * ignored instances are crowd regions (detections on them count
      neither way): ``ignore_flag=1`` with a class label a crowd of that
      class, ``bbox_label=-1`` (KITTI DontCare, types outside the classes)
      a crowd of every class. mmdet's metric files the latter under a
      category -1 that is never evaluated, so detections there are false
      positives;
    * the ground truth is converted anew at every evaluation;
    * values are not rounded; ``classwise`` defaults to True.

    Args:
        backend: ``'faster_coco_eval'`` or ``'pycocotools'``.
        **kwargs: as mmdet's ``CocoMetric``; ``metric`` must be ``'bbox'``
            and ``ann_file`` None.
    """

    def __init__(self,
                 backend: str = 'faster_coco_eval',
                 classwise: bool = True,
                 metric_items: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if kwargs.get('ann_file') is not None:
            raise ValueError(
                'FastCocoMetric evaluates the ground truth of the data '
                "samples; for an annotation file use mmdet's CocoMetric")
        if backend not in COCO_BACKENDS:
            raise ValueError(
                f'backend must be one of {COCO_BACKENDS}, got {backend!r}')
        unknown = sorted(set(metric_items or ()) - set(STAT_NAMES))
        if unknown:
            raise KeyError(f'metric items {unknown} not among {STAT_NAMES}')
        super().__init__(
            classwise=classwise, metric_items=metric_items, **kwargs)
        if self.metrics != ['bbox']:
            raise ValueError(
                f"FastCocoMetric evaluates metric='bbox', got {self.metrics}")
        self.backend = backend

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """COCO evaluation of ``(gt, prediction)`` pairs from ``process``."""
        gts, preds = zip(*results)
        classes = self.dataset_meta['classes']
        if self.format_only:
            self.cat_ids = list(range(len(classes)))
            files = self.results2json(preds, self.outfile_prefix)
            print_log(
                f'COCO results written to {files["bbox"]}', logger='current')
            return {}
        evaluation = evaluate_coco_bbox(
            coco_ground_truth(gts, len(classes)), coco_detections(preds),
            self.backend, self.iou_thrs, self.proposal_nums)
        stats = dict(zip(STAT_NAMES, evaluation.stats.tolist()))
        print_log(
            '\n' + AsciiTable(
                [list(stats), [f'{v:.3f}'
                               for v in stats.values()]], ' COCO bbox ').table,
            logger='current')
        metrics = {
            f'bbox_{item}': stats[item]
            for item in self.metric_items or STAT_NAMES[:6]
        }
        if self.classwise:
            metrics.update(self._per_class(evaluation, classes))
        return metrics

    def _per_class(self, evaluation: CocoEvalResult,
                   classes: Sequence[str]) -> Dict[str, float]:
        """Log the per-class table; returns ``{class}_precision`` (AP)."""
        columns = [
            evaluation.class_ap(iou, area) for _, iou, area in CLASS_COLUMNS
        ]
        rows = [['class', *(name for name, _, _ in CLASS_COLUMNS)]]
        rows += [[name, *(f'{column[k]:.3f}' for column in columns)]
                 for k, name in enumerate(classes)]
        print_log('\n' + AsciiTable(rows).table, logger='current')
        return {
            f'{name}_precision': float(columns[0][k])
            for k, name in enumerate(classes)
        }
