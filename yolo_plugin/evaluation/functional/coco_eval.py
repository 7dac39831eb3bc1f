"""COCO-style box AP of in-memory ground truth and detections, with
faster-coco-eval (C++) or pycocotools, and ignored instances as crowd."""
import contextlib
import io
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

COCO_BACKENDS = ('faster_coco_eval', 'pycocotools')
#: The 12 summary numbers of pycocotools' ``COCOeval.stats``, under
#: mmdet's ``CocoMetric`` names.
STAT_NAMES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100',
              'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')
AREA_RANGES = ('all', 'small', 'medium', 'large')


@dataclass
class CocoEvalResult:
    """Accumulated COCO evaluation.

    Attributes:
        precision: ``(T, R, K, A, M)``: IoU thresholds, 101 recall points,
            classes, area ranges (all, small, medium, large), max
            detections; -1 where a class has no ground truth.
        recall: ``(T, K, A, M)``.
        stats: ``(12,)`` pycocotools' summary (see :data:`STAT_NAMES`).
        iou_thrs: ``(T,)`` IoU thresholds.
    """
    precision: np.ndarray
    recall: np.ndarray
    stats: np.ndarray
    iou_thrs: np.ndarray

    def class_ap(self,
                 iou: Optional[float] = None,
                 area: int = 0) -> np.ndarray:
        """``(K,)`` AP of each class over the IoU thresholds, or at ``iou``
        (nan if not among them), at the largest max detections; nan for a
        class without ground truth."""
        precision = self.precision[..., area, -1]  # (T, R, K)
        if iou is not None:
            precision = precision[self.iou_thrs == iou]
        valid = precision > -1
        total = np.where(valid, precision, 0).sum((0, 1))
        count = valid.sum((0, 1))
        return np.divide(
            total, count, out=np.full(len(total), np.nan), where=count > 0)


def coco_ground_truth(gts: Sequence[Dict], num_classes: int) -> Dict:
    """A COCO dataset dict (images, categories ``0..K-1``, annotations).

    Ignored instances become crowd regions, whose detections COCO neither
    rewards nor punishes: ``ignore_flag=1`` with a class label a crowd of
    that class; ``bbox_label=-1`` (DontCare, types outside the classes) a
    crowd of every class.

    Args:
        gts: one dict an image: ``img_id``, ``width``, ``height``, ``anns``
            (mmdet instances: ``bbox`` xyxy pixels, ``bbox_label``,
            ``ignore_flag``).
    """
    image_ids = [int(gt['img_id']) for gt in gts]
    if len(set(image_ids)) != len(image_ids):
        raise ValueError('image ids repeat: COCO evaluation needs one '
                         'img_id an image')
    counts = np.array([len(gt['anns']) for gt in gts])
    anns = [ann for gt in gts for ann in gt['anns']]
    boxes = np.array([ann['bbox'] for ann in anns], float).reshape(-1, 4)
    labels = np.array([ann['bbox_label'] for ann in anns], int)
    ignored = np.array([ann.get('ignore_flag', 0) for ann in anns], bool)
    if np.any(labels >= num_classes):
        raise ValueError(f'bbox_label {labels.max()} outside the '
                         f'{num_classes} classes')
    # One row a (region, class): an unlabelled region once for each class.
    repeats = np.where(labels < 0, num_classes, 1)
    row = np.repeat(np.arange(len(anns)), repeats)
    nth_copy = np.arange(len(row)) - np.repeat(
        np.cumsum(repeats) - repeats, repeats)
    category = np.where(labels[row] < 0, nth_copy, labels[row])
    crowd = ignored[row] | (labels[row] < 0)
    image = np.repeat(image_ids, counts)[row]
    annotations = _annotations(
        image, category, boxes[row], iscrowd=crowd.astype(int))
    return dict(
        images=[
            dict(id=img, width=int(gt['width']), height=int(gt['height']))
            for img, gt in zip(image_ids, gts)
        ],
        categories=[dict(id=k, name=str(k)) for k in range(num_classes)],
        annotations=annotations)


def coco_detections(preds: Sequence[Dict]) -> List[Dict]:
    """COCO result annotations of the predictions (``img_id``, ``bboxes``
    ``(n, 4)`` xyxy pixels, ``scores``, ``labels``), as ``loadRes`` makes
    them (``id`` from 1, ``area`` of the box, not crowd)."""
    counts = [len(pred['labels']) for pred in preds]
    image = np.repeat([int(pred['img_id']) for pred in preds], counts)
    boxes = np.concatenate([np.reshape(p['bboxes'], (-1, 4)) for p in preds
                            ]).astype(float) if preds else np.zeros((0, 4))
    scores = np.concatenate([p['scores'] for p in preds]).astype(float) \
        if preds else np.zeros(0)
    labels = np.concatenate([p['labels'] for p in preds]) if preds else []
    return _annotations(
        image, labels, boxes, score=scores, iscrowd=np.zeros(len(image), int))


def _annotations(image: np.ndarray, category: np.ndarray, boxes: np.ndarray,
                 **columns: np.ndarray) -> List[Dict]:
    """COCO annotation dicts: ``id`` from 1, ``bbox`` xywh and its
    ``area`` from ``(n, 4)`` xyxy ``boxes``, one value of each column."""
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
    rows = dict(
        image_id=np.asarray(image, int).tolist(),
        category_id=np.asarray(category, int).tolist(),
        bbox=xywh.tolist(),
        area=(xywh[:, 2] * xywh[:, 3]).tolist(),
        **{
            key: np.asarray(values).tolist()
            for key, values in columns.items()
        })
    return [
        dict(id=i + 1, **{
            key: values[i]
            for key, values in rows.items()
        }) for i in range(len(image))
    ]


def evaluate_coco_bbox(
    gt_dataset: Dict,
    detections: List[Dict],
    backend: str = 'faster_coco_eval',
    iou_thrs: Optional[Sequence[float]] = None,
    max_dets: Sequence[int] = (100, 300, 1000)
) -> CocoEvalResult:
    """Run COCO's box evaluation.

    Args:
        gt_dataset: from :func:`coco_ground_truth`.
        detections: from :func:`coco_detections`.
        backend: ``'faster_coco_eval'`` (C++, same numbers) or
            ``'pycocotools'``.
        iou_thrs: IoU thresholds; default 0.50:0.05:0.95.
        max_dets: three max detections an image (pycocotools' summary reads
            AR at each, AP at 100 and at the last).
    """
    coco_cls, eval_cls = _backend(backend)
    if len(max_dets) != 3:
        raise ValueError(f'max_dets needs three values, got {max_dets}')
    if iou_thrs is None:
        iou_thrs = np.linspace(.5, .95, 10)
    coco_gt = _coco_api(coco_cls, gt_dataset)
    # The evaluation reads images and categories from the ground truth.
    coco_dt = _coco_api(coco_cls, dict(annotations=detections))
    with contextlib.redirect_stdout(io.StringIO()):  # both backends print
        evaluator = eval_cls(coco_gt, coco_dt, 'bbox')
        evaluator.params.catIds = [c['id'] for c in gt_dataset['categories']]
        evaluator.params.imgIds = [img['id'] for img in gt_dataset['images']]
        evaluator.params.maxDets = list(max_dets)
        evaluator.params.iouThrs = np.asarray(iou_thrs, float)
        evaluator.evaluate()
        evaluator.accumulate()
    precision = np.asarray(evaluator.eval['precision'])
    recall = np.asarray(evaluator.eval['recall'])
    iou_thrs = np.asarray(evaluator.params.iouThrs)
    return CocoEvalResult(
        precision=precision,
        recall=recall,
        stats=summarize_coco(precision, recall, iou_thrs,
                             list(evaluator.params.maxDets)),
        iou_thrs=iou_thrs)


def _backend(name: str):
    if name == 'faster_coco_eval':
        from faster_coco_eval import COCO, COCOeval_faster
        return COCO, COCOeval_faster
    if name == 'pycocotools':
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        return COCO, COCOeval
    raise ValueError(f'backend must be one of {COCO_BACKENDS}, got {name!r}')


def _coco_api(coco_cls, dataset: Dict):
    api = coco_cls()
    api.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    return api


def summarize_coco(precision: np.ndarray, recall: np.ndarray,
                   iou_thrs: np.ndarray, max_dets: List[int]) -> np.ndarray:
    """pycocotools' ``summarize()`` for boxes from the accumulated arrays:
    AP at max detections 100 (-1 if 100 is not among ``max_dets``), the
    rest at the largest; AR at each of the three max detections. Backends
    differ in which max detections their own summary uses; this one
    serves both."""

    def mean(values: np.ndarray) -> float:
        values = values[values > -1]
        return float(values.mean()) if values.size else -1.

    def ap(area=0, max_det_index=2, iou=None):
        values = precision[..., area, max_det_index]
        return mean(values[iou_thrs == iou] if iou is not None else values)

    def ar(area=0, max_det_index=2):
        return mean(recall[..., area, max_det_index])

    at_100 = [i for i, n in enumerate(max_dets) if n == 100]  # [] -> -1
    return np.array([
        ap(max_det_index=at_100),
        ap(iou=.5),
        ap(iou=.75),
        ap(area=1),
        ap(area=2),
        ap(area=3),
        ar(max_det_index=0),
        ar(max_det_index=1),
        ar(max_det_index=2),
        ar(area=1),
        ar(area=2),
        ar(area=3),
    ])
