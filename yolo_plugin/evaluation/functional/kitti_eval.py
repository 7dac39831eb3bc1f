"""The KITTI 2D object detection protocol of the devkit's
``evaluate_object.cpp``, vectorised with numpy.

Per class and difficulty (Easy / Moderate / Hard):

* ground truths of the class that are too occluded, too truncated or not
  taller than the difficulty's minimum height, and ground truths of the
  neighbouring type (Van for Car, Person_sitting for Pedestrian), are
  ignored: they neither count as misses nor make detections false;
* detections lower than the minimum height are ignored whatever their
  class (the devkit marks them before it looks at the class, so they may
  absorb a ground truth of any class, as in the devkit);
* a detection whose intersection with a DontCare region, over its own
  area, exceeds the class's minimum overlap is not a false positive;
* a first pass matches each ground truth, in file order, to the
  highest-scoring free detection above the minimum overlap; the scores of
  its true positives give (about) 41 score thresholds evenly spaced in
  recall; a second pass, at every threshold, matches each ground truth to
  the free detection of greatest overlap and counts true and false
  positives; precision is made monotone and averaged over 40 recall
  points (R40, from recall 1/40 to 1) or over 11 (R11, 0 to 1 by 0.1).

The devkit's greedy matching runs through the ground truths in order. Here
it is one loop over the ground-truth index ``k`` (at most the largest
number of ground truths of the class in one image), handling the k-th
ground truth of every image, every score threshold and every detection at
once.
"""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from terminaltables import AsciiTable

from .box_overlaps import box_overlaps
from .padding import pad_by_image

DIFFICULTIES = ('Easy', 'Moderate', 'Hard')
#: Per difficulty: minimum box height (pixels), maximum occlusion level,
#: maximum truncation of the evaluated ground truths.
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.30, 0.50)
#: Minimum IoU of a true positive. The devkit evaluates Car, Pedestrian and
#: Cyclist; the other types follow mmdet3d (Van 0.7, Person_sitting 0.5)
#: and the same split, vehicles 0.7 and the rest 0.5.
DEFAULT_MIN_OVERLAPS = {
    'Car': 0.7,
    'Van': 0.7,
    'Truck': 0.7,
    'Tram': 0.7,
    'Pedestrian': 0.5,
    'Person_sitting': 0.5,
    'Cyclist': 0.5,
    'Misc': 0.5,
}
#: Ground truths of these types are ignored when evaluating the class
#: (lower case, as the devkit compares names case-insensitively).
NEIGHBOUR_TYPES = {'car': 'van', 'pedestrian': 'person_sitting'}
DONT_CARE = 'dontcare'
#: Precision is sampled at this many score thresholds (recall 0, 1/40, ..1).
NUM_SAMPLE_POINTS = 41
RECALL_POINTS = (40, 11)


@dataclass
class KittiEvalResult:
    """Precision of each class and difficulty at the 41 recall steps.

    Attributes:
        classes: evaluated class names.
        min_overlaps: minimum IoU of each class.
        precision: ``(C, 3, 41)`` monotone precision in [0, 1] at the
            devkit's score thresholds (index i ~ recall i / 40).
        num_ground_truths: ``(C, 3)`` ground truths that count (not
            ignored) per class and difficulty.
    """
    classes: Tuple[str, ...]
    min_overlaps: Tuple[float, ...]
    precision: np.ndarray
    num_ground_truths: np.ndarray

    def average_precision(self, recall_points: int = 40) -> np.ndarray:
        """``(C, 3)`` AP in percent, over 40 (R40) or 11 (R11) points."""
        check_recall_points(recall_points)
        if recall_points == 40:
            return self.precision[..., 1:].sum(-1) / 40 * 100
        return self.precision[..., ::4].sum(-1) / 11 * 100

    def to_metrics(self, recall_points: int = 40) -> Dict[str, float]:
        """``mAP_{moderate,easy,hard}`` (means over the classes) and
        ``{Class}_{Easy,Moderate,Hard}``, AP in percent."""
        ap = self.average_precision(recall_points)
        # The headline first: checkpoint hooks' save_best='auto' takes it.
        metrics = {
            f'mAP_{DIFFICULTIES[d].lower()}': float(ap[:, d].mean())
            for d in (1, 0, 2)
        }
        metrics.update({
            f'{name}_{difficulty}': float(ap[c, d])
            for c, name in enumerate(self.classes)
            for d, difficulty in enumerate(DIFFICULTIES)
        })
        return metrics

    def table(self, recall_points: int = 40) -> str:
        """The AP table as text, one row a class and a mean row."""
        ap = self.average_precision(recall_points)
        rows = [['class', 'min IoU', *DIFFICULTIES]]
        rows += [[
            name, f'{overlap:.2f}', *(f'{v:.2f}' for v in values)
        ] for name, overlap, values in zip(self.classes, self.min_overlaps, ap)
                 ]
        rows.append(['mean', '', *(f'{v:.2f}' for v in ap.mean(0))])
        table = AsciiTable(rows, f' KITTI 2D AP (%), R{recall_points} ').table
        return table


def check_recall_points(recall_points: int) -> None:
    """Raise unless ``recall_points`` is 40 (R40) or 11 (R11)."""
    if recall_points not in RECALL_POINTS:
        raise ValueError('recall_points must be 40 (R40) or 11 (R11), '
                         f'got {recall_points!r}')


def resolve_min_overlaps(
        classes: Sequence[str],
        min_overlaps: Optional[Mapping[str,
                                       float]] = None) -> Tuple[float, ...]:
    """The minimum IoU of each class: ``min_overlaps`` over the defaults.

    Raises:
        ValueError: for a class without a default or given value, or a
            value outside (0, 1].
    """
    table = {**DEFAULT_MIN_OVERLAPS, **(min_overlaps or {})}
    missing = [name for name in classes if name not in table]
    if missing:
        raise ValueError(
            f'no minimum overlap for classes {missing}: give them in '
            f'min_overlaps (defaults exist for {sorted(DEFAULT_MIN_OVERLAPS)})'
        )
    bad = {name: table[name] for name in classes if not 0 < table[name] <= 1}
    if bad:
        raise ValueError(f'minimum overlaps must lie in (0, 1], got {bad}')
    return tuple(float(table[name]) for name in classes)


def kitti_eval(
    gt_annos: Sequence[Mapping],
    det_annos: Sequence[Mapping],
    classes: Sequence[str] = ('Car', 'Pedestrian', 'Cyclist'),
    min_overlaps: Optional[Mapping[str, float]] = None,
) -> KittiEvalResult:
    """Evaluate detections with the KITTI 2D protocol.

    Args:
        gt_annos: one dict an image, in file order: ``bboxes`` ``(n, 4)``
            xyxy pixels, ``names`` ``(n,)`` KITTI types (``'Car'``,
            ``'Van'``, ``'DontCare'``, ... any case), ``truncated`` ``(n,)``
            in [0, 1], ``occluded`` ``(n,)`` in {0, 1, 2, 3}.
        det_annos: one dict an image, aligned with ``gt_annos``:
            ``bboxes`` ``(m, 4)`` xyxy pixels, ``names`` ``(m,)`` class
            names, ``scores`` ``(m,)``. Their order breaks ties as the
            devkit's file order does.
        classes: the classes to evaluate (KITTI type names).
        min_overlaps: minimum IoU per class, over
            :data:`DEFAULT_MIN_OVERLAPS`.

    Returns:
        The precision at the sampled recall steps; see
        :meth:`KittiEvalResult.to_metrics` for the AP.
    """
    if len(gt_annos) != len(det_annos):
        raise ValueError(f'{len(gt_annos)} ground-truth images but '
                         f'{len(det_annos)} detection images')
    if not gt_annos:
        raise ValueError('no images to evaluate')
    if not classes:
        raise ValueError('no classes to evaluate')
    overlaps = resolve_min_overlaps(classes, min_overlaps)
    gt = _flatten(gt_annos, ('names', 'truncated', 'occluded'), 'ground-truth')
    det = _flatten(det_annos, ('names', 'scores'), 'detection')
    num_images = len(gt_annos)
    results = [
        _evaluate_class(gt, det, name.lower(), overlap, num_images)
        for name, overlap in zip(classes, overlaps)
    ]
    return KittiEvalResult(
        classes=tuple(classes),
        min_overlaps=overlaps,
        precision=np.stack([precision for precision, _ in results]),
        num_ground_truths=np.stack([count for _, count in results]))


def _flatten(annos: Sequence[Mapping], fields: Tuple[str, ...],
             kind: str) -> Dict[str, np.ndarray]:
    """Concatenate the per-image arrays; ``image`` is each row's image."""
    for field in ('bboxes', ) + fields:
        missing = [i for i, anno in enumerate(annos) if field not in anno]
        if missing:
            raise KeyError(f'{kind} annotations of images {missing[:5]} '
                           f'lack the key {field!r}')
    boxes = [
        _as_boxes(anno['bboxes'], i, kind) for i, anno in enumerate(annos)
    ]
    counts = np.array([len(box) for box in boxes])
    flat = {
        'bboxes': np.concatenate(boxes),
        'image': np.repeat(np.arange(len(annos)), counts)
    }
    for field in fields:
        parts = [np.asarray(anno[field]).reshape(-1) for anno in annos]
        bad = np.flatnonzero([len(part) for part in parts] != counts)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f'{kind} annotations of image {i}: {field!r} has '
                             f'{len(parts[i])} values for {counts[i]} boxes')
        values = np.concatenate(parts)
        flat[field] = (
            np.char.lower(values.astype(str))
            if field == 'names' else values.astype(float))
    for field, values in flat.items():
        if values.dtype.kind != 'f':
            continue
        finite = np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise ValueError(f'{kind} annotations of image '
                             f'{flat["image"][row]}: non-finite {field!r} '
                             f'{values[row]}')
    return flat


def _as_boxes(value, image: int, kind: str) -> np.ndarray:
    """``(n, 4)`` float boxes of one image (an empty value gives n = 0)."""
    boxes = np.asarray(value, dtype=float)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{kind} annotations of image {image}: bboxes must '
                         f'have shape (n, 4), got {boxes.shape}')
    return boxes


@dataclass
class _Candidates:
    """For the k-th ground truth of each image, the detections overlapping
    it by more than the minimum overlap, in detection order.

    ``index``, ``valid``, ``overlap``: ``(G, C)`` detection slots, whether
    the entry is a real candidate, its IoU.
    """
    index: np.ndarray
    valid: np.ndarray
    overlap: np.ndarray


def _evaluate_class(gt: Dict[str, np.ndarray], det: Dict[str, np.ndarray],
                    name: str, min_overlap: float,
                    num_images: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(3, 41)`` precision and ``(3,)`` ground-truth counts of a class
    (lower-case ``name``) for the three difficulties."""
    # Only the class, its neighbour and, for detections, boxes too small for
    # some difficulty take part; the others the devkit skips.
    gt_keep = (gt['names'] == name) | (
        gt['names'] == NEIGHBOUR_TYPES.get(name, name))
    det_height = np.abs(det['bboxes'][:, 3] - det['bboxes'][:, 1])
    det_keep = (det['names'] == name) | (det_height < max(MIN_HEIGHT))

    def pad_gt(values, fill):
        return pad_by_image(gt['image'][gt_keep], values[gt_keep], num_images,
                            fill)

    def pad_det(values, fill):
        return pad_by_image(det['image'][det_keep], values[det_keep],
                            num_images, fill)

    gt_boxes = pad_gt(gt['bboxes'], 0.)  # (G, Mg, 4)
    gt_valid = pad_gt(np.ones(len(gt_keep), bool), False)
    gt_same = pad_gt(gt['names'] == name, False)
    gt_height = gt_boxes[..., 3] - gt_boxes[..., 1]
    gt_truncated = pad_gt(gt['truncated'], 0.)
    gt_occluded = pad_gt(gt['occluded'], 0.)
    det_boxes = pad_det(det['bboxes'], 0.)  # (G, Md, 4)
    det_valid = pad_det(np.ones(len(det_keep), bool), False)
    det_same = pad_det(det['names'] == name, False)
    det_scores = pad_det(det['scores'], -np.inf)
    det_height = pad_det(det_height, 0.)

    dont_care = gt['names'] == DONT_CARE
    dc_boxes = pad_by_image(gt['image'][dont_care], gt['bboxes'][dont_care],
                            num_images, 0.)  # (G, Mdc, 4)
    dc_valid = pad_by_image(gt['image'][dont_care],
                            np.ones(dont_care.sum(), bool), num_images, False)
    in_dont_care = ((box_overlaps(det_boxes[:, :, None], dc_boxes[:, None],
                                  'iof') > min_overlap)
                    & dc_valid[:, None]).any(-1)  # (G, Md)

    candidates = _find_candidates(det_boxes, det_valid, gt_boxes, gt_valid,
                                  min_overlap)
    precision = np.zeros((len(DIFFICULTIES), NUM_SAMPLE_POINTS))
    num_gt = np.zeros(len(DIFFICULTIES), int)
    for d in range(len(DIFFICULTIES)):
        too_hard = ((gt_occluded > MAX_OCCLUSION[d])
                    | (gt_truncated > MAX_TRUNCATION[d])
                    | (gt_height <= MIN_HEIGHT[d]))
        # -1: not evaluated, 0: counts, 1: ignored (may absorb a detection).
        gt_state = np.where(gt_valid, np.where(gt_same & ~too_hard, 0, 1), -1)
        det_state = np.where(det_valid & (det_height < MIN_HEIGHT[d]), 1,
                             np.where(det_valid & det_same, 0, -1))
        num_gt[d] = (gt_state == 0).sum()
        thresholds = _score_thresholds(
            _true_positive_scores(candidates, gt_state, det_state, det_scores),
            num_gt[d])
        true_pos, false_pos = _counts_at_thresholds(thresholds, candidates,
                                                    gt_state, det_state,
                                                    det_scores, in_dont_care)
        sampled = np.divide(
            true_pos,
            true_pos + false_pos,
            out=np.zeros(len(thresholds)),
            where=true_pos + false_pos > 0)[:NUM_SAMPLE_POINTS]
        precision[d, :len(sampled)] = sampled
    # Precision at recall r: the best precision at any recall >= r.
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    return precision, num_gt


def _find_candidates(det_boxes: np.ndarray, det_valid: np.ndarray,
                     gt_boxes: np.ndarray, gt_valid: np.ndarray,
                     min_overlap: float) -> List[_Candidates]:
    """Candidate detections of the k-th ground truth, for each k."""
    candidates = []
    for k in range(gt_boxes.shape[1]):
        overlap = box_overlaps(det_boxes, gt_boxes[:, k, None])  # (G, Md)
        is_candidate = ((overlap > min_overlap) & det_valid
                        & gt_valid[:, k, None])
        width = max(int(is_candidate.sum(1).max()), 1)
        # Candidates first, each group in detection order.
        index = np.argsort(~is_candidate, axis=1, kind='stable')[:, :width]
        candidates.append(
            _Candidates(index, np.take_along_axis(is_candidate, index, 1),
                        np.take_along_axis(overlap, index, 1)))
    return candidates


def _true_positive_scores(candidates: List[_Candidates], gt_state: np.ndarray,
                          det_state: np.ndarray,
                          det_scores: np.ndarray) -> np.ndarray:
    """First pass: each ground truth takes the highest-scoring free
    candidate; returns the scores of the true positives."""
    num_images = det_state.shape[0]
    rows = np.arange(num_images)
    assigned = np.zeros(det_state.shape, bool)  # (G, Md)
    scores = []
    for k, cand in enumerate(candidates):
        state = gt_state[:, k]  # (G,)
        cand_state = np.take_along_axis(det_state, cand.index, 1)  # (G, C)
        free = (
            cand.valid & (cand_state != -1)
            & ~np.take_along_axis(assigned, cand.index, 1))
        best = np.where(free, np.take_along_axis(det_scores, cand.index, 1),
                        -np.inf).argmax(1)  # first of equal scores
        matched = free.any(1) & (state != -1)
        chosen = cand.index[rows, best]
        assigned[rows[matched], chosen[matched]] = True
        true_positive = matched & (state == 0) & (cand_state[rows, best] == 0)
        scores.append(det_scores[rows[true_positive], chosen[true_positive]])
    return np.concatenate(scores)


def _score_thresholds(scores: np.ndarray, num_gt: int) -> np.ndarray:
    """The devkit's ``getThresholds``: walking down the sorted scores, keep
    a score when its recall is at least as close to the next recall step
    (0, 1/40, 2/40, ...) as the following score's; the last always."""
    scores = np.sort(scores)[::-1]
    count = len(scores)
    if count == 0:
        return scores
    rank = np.arange(count)
    left = (rank + 1) / num_gt  # recall when keeping this score
    right = np.append((rank[:-1] + 2) / num_gt, left[-1])
    # Recall step after m kept scores, summed as the devkit does.
    step = np.concatenate([[0.],
                           np.cumsum(
                               np.full(NUM_SAMPLE_POINTS,
                                       1 / (NUM_SAMPLE_POINTS - 1.)))])
    skip = (right[None] - step[:, None]) < (step[:, None] - left[None])
    skip[:, -1] = False
    # skip[m] is True up to some rank, then False: its first keepable rank.
    first_keepable = np.argmin(skip, axis=1)
    kept, position = [], 0
    for m in range(NUM_SAMPLE_POINTS):  # at most 41 thresholds
        if position >= count:
            break
        position = max(position, int(first_keepable[m]))
        kept.append(position)
        position += 1
    return scores[kept]


def _counts_at_thresholds(
        thresholds: np.ndarray, candidates: List[_Candidates],
        gt_state: np.ndarray, det_state: np.ndarray, det_scores: np.ndarray,
        in_dont_care: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Second pass, at every threshold at once: each ground truth takes the
    free candidate of greatest overlap (else the first ignored one);
    returns ``(T,)`` true and false positives."""
    rows = np.arange(det_state.shape[0])[:, None]
    above = det_scores[None] >= thresholds[:, None, None]  # (T, G, Md)
    assigned = np.zeros(above.shape, bool)
    true_pos = np.zeros(len(thresholds), int)
    for k, cand in enumerate(candidates):
        state = gt_state[:, k]  # (G,)
        cand_state = np.take_along_axis(det_state, cand.index, 1)  # (G, C)
        free = ((cand.valid & (cand_state != -1))[None]
                & above[:, rows, cand.index]
                & ~assigned[:, rows, cand.index])  # (T, G, C)
        free_valid = free & (cand_state == 0)
        free_small = free & (cand_state == 1)
        has_valid = free_valid.any(-1)  # (T, G)
        pick = np.where(has_valid,
                        np.where(free_valid, cand.overlap, -1.).argmax(-1),
                        free_small.argmax(-1))
        matched = (has_valid | free_small.any(-1)) & (state != -1)
        true_pos += (has_valid & (state == 0)).sum(1)
        t, g = np.nonzero(matched)
        assigned[t, g, cand.index[g, pick[t, g]]] = True
    false_pos = (above & ~assigned & (det_state == 0)
                 & ~in_dont_care).sum((1, 2))
    return true_pos, false_pos
