"""Analysis of saved predictions (``tools/test.py --out results.pkl``): a
confusion matrix and per-class precision-recall curves.

Detections are matched as in PASCAL VOC: each detection goes to the ground
truth it overlaps most (IoU); if that IoU reaches the threshold, the
highest-scoring detection of a ground truth is its true positive, the
others are duplicates; detections whose ground truth is ignored (crowd,
DontCare, types outside the classes) are left out.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .functional.box_overlaps import box_overlaps
from .functional.padding import pad_by_image


@dataclass
class DetectionSet:
    """Ground truth and detections of a data set, rows of all images.

    Attributes:
        classes: class names; labels index them.
        num_images: number of images.
        gt_image, gt_boxes, gt_labels, gt_ignored: ``(G,)``, ``(G, 4)``
            xyxy pixels, ``(G,)`` (-1: no class), ``(G,)`` bool.
        det_image, det_boxes, det_scores, det_labels: ``(D,)``,
            ``(D, 4)`` xyxy pixels, ``(D,)``, ``(D,)``.
    """
    classes: Tuple[str, ...]
    num_images: int
    gt_image: np.ndarray
    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    gt_ignored: np.ndarray
    det_image: np.ndarray
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_labels: np.ndarray

    @classmethod
    def from_lists(cls, classes: Sequence[str],
                   instances: Sequence[Sequence[Dict]],
                   predictions: Sequence[Dict]) -> 'DetectionSet':
        """From each image's mmdet instances (``bbox``, ``bbox_label``,
        ``ignore_flag``) and predictions (``bboxes``, ``scores``,
        ``labels`` arrays or tensors)."""
        if len(instances) != len(predictions):
            raise ValueError(f'{len(instances)} images of ground truth but '
                             f'{len(predictions)} of predictions')
        flat = [inst for image in instances for inst in image]
        labels = np.array([inst['bbox_label'] for inst in flat], int)
        det = {
            key: [np.asarray(pred[key]) for pred in predictions]
            for key in ('bboxes', 'scores', 'labels')
        }
        return cls(
            classes=tuple(classes),
            num_images=len(instances),
            gt_image=np.repeat(
                np.arange(len(instances)),
                [len(image) for image in instances]),
            gt_boxes=np.array([inst['bbox'] for inst in flat],
                              float).reshape(-1, 4),
            gt_labels=labels,
            gt_ignored=np.array([inst.get('ignore_flag', 0)
                                 for inst in flat], bool)
            | (labels < 0),
            det_image=np.repeat(
                np.arange(len(predictions)), [len(s) for s in det['scores']]),
            det_boxes=np.concatenate([b.reshape(-1, 4) for b in det['bboxes']]
                                     or [np.zeros((0, 4))]).astype(float),
            det_scores=np.concatenate(det['scores'] or [[]]).astype(float),
            det_labels=np.concatenate(det['labels'] or [[]]).astype(int))

    def detections_above(self, score_thr: float) -> 'DetectionSet':
        """The same set with only the detections scoring >= ``score_thr``."""
        keep = self.det_scores >= score_thr
        return DetectionSet(self.classes, self.num_images, self.gt_image,
                            self.gt_boxes, self.gt_labels, self.gt_ignored,
                            self.det_image[keep], self.det_boxes[keep],
                            self.det_scores[keep], self.det_labels[keep])


def match_detections(
        data: DetectionSet, iou_thr: float,
        by_class: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match every detection to a ground truth of its image (see the
    module doc).

    Args:
        by_class: only ground truths of the detection's class, or without
            a class, are candidates; else every ground truth is.

    Returns:
        ``(D,)`` arrays: the matched ground truth (-1: none reaches
        ``iou_thr``), true positive, ignored (matched an ignored ground
        truth).
    """
    num_det = len(data.det_scores)
    rows = np.arange(num_det)
    if not len(data.gt_labels):
        return np.full(num_det, -1), np.zeros(num_det,
                                              bool), np.zeros(num_det, bool)
    gt_slots = pad_by_image(data.gt_image, np.arange(len(data.gt_labels)),
                            data.num_images, -1)
    candidates = gt_slots[data.det_image]  # (D, M) ground-truth indices
    valid = candidates >= 0
    if by_class:
        candidate_labels = data.gt_labels[candidates]
        valid &= ((candidate_labels == data.det_labels[:, None])
                  | (candidate_labels < 0))
    overlaps = np.where(
        valid, box_overlaps(data.det_boxes[:, None],
                            data.gt_boxes[candidates]), -1.)
    best = overlaps.argmax(1)
    matched = np.where(overlaps[rows, best] >= iou_thr, candidates[rows, best],
                       -1)
    ignored = (matched >= 0) & data.gt_ignored[matched]
    claims = (matched >= 0) & ~ignored
    # Claims by ground truth, each by descending score (then in order).
    order = np.lexsort((rows, -data.det_scores, matched))
    order = order[claims[order]]
    first = np.ones(len(order), bool)
    first[1:] = matched[order[1:]] != matched[order[:-1]]
    true_positive = np.zeros(num_det, bool)
    true_positive[order[first]] = True
    return matched, true_positive, ignored


def confusion_matrix(data: DetectionSet,
                     score_thr: float = 0.3,
                     iou_thr: float = 0.5) -> np.ndarray:
    """``(K+1, K+1)`` counts: rows ground-truth class, then background
    (false positives: no or an already detected ground truth); columns
    detected class, then background (missed ground truths). Matching is
    class-agnostic, over the detections scoring >= ``score_thr``."""
    data = data.detections_above(score_thr)
    num_classes = len(data.classes)
    matched, true_positive, ignored = match_detections(
        data, iou_thr, by_class=False)
    matrix = np.zeros((num_classes + 1, num_classes + 1), int)
    np.add.at(matrix, (data.gt_labels[matched[true_positive]],
                       data.det_labels[true_positive]), 1)
    false_positive = ~true_positive & ~ignored
    np.add.at(matrix, (num_classes, data.det_labels[false_positive]), 1)
    found = np.zeros(len(data.gt_labels), bool)
    found[matched[true_positive]] = True
    missed = ~found & ~data.gt_ignored
    np.add.at(matrix, (data.gt_labels[missed], num_classes), 1)
    return matrix


@dataclass
class PrecisionRecallCurve:
    """Precision and recall of one class down the ranked detections.

    Attributes:
        name: class name.
        recall, precision: ``(n,)`` after each of the n detections.
        average_precision: area under the monotone precision envelope
            (VOC all-points); nan without ground truth.
        num_ground_truths: not-ignored ground truths of the class.
    """
    name: str
    recall: np.ndarray
    precision: np.ndarray
    average_precision: float
    num_ground_truths: int


def precision_recall_curves(
        data: DetectionSet,
        iou_thr: float = 0.5) -> List[PrecisionRecallCurve]:
    """One curve a class, detections matched within their class."""
    _, true_positive, ignored = match_detections(data, iou_thr, by_class=True)
    counted = ~ignored
    order = np.lexsort((-data.det_scores[counted], data.det_labels[counted]))
    labels = data.det_labels[counted][order]
    hits = true_positive[counted][order]
    curves = []
    for label, name in enumerate(data.classes):
        class_hits = hits[labels == label]
        num_gt = int(((data.gt_labels == label) & ~data.gt_ignored).sum())
        cumulative = np.cumsum(class_hits)
        recall = cumulative / num_gt if num_gt else np.full(
            len(cumulative), np.nan)
        precision = cumulative / np.arange(1, len(cumulative) + 1)
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        ap = float(np.sum(np.diff(recall, prepend=0.) * envelope))
        curves.append(
            PrecisionRecallCurve(name, recall, precision,
                                 ap if num_gt else float('nan'), num_gt))
    return curves
