"""Per-class NMS of a whole batch in one kernel call."""
from typing import NamedTuple, Optional

import torch
from mmcv.ops import nms


# Above this many candidates NMS runs once a class: the kernel's cost grows
# with (kept boxes) x (candidates), whichever group they belong to.
SPLIT_THR = 10000


class BatchedDetections(NamedTuple):
    """Detections of a batch, ``D`` in all, sorted by image then score."""
    batch_idx: torch.Tensor  # (D,) image of each detection
    boxes: torch.Tensor  # (D, 4) xyxy
    scores: torch.Tensor  # (D,)
    labels: torch.Tensor  # (D,) class index


def batched_multiclass_nms(boxes: torch.Tensor,
                           scores: torch.Tensor,
                           score_thr: float,
                           iou_threshold: Optional[float],
                           max_per_img: int,
                           nms_pre: int = -1,
                           score_factors: Optional[torch.Tensor] = None,
                           min_bbox_size: float = -1) -> BatchedDetections:
    """Per-image, per-class greedy NMS of a batch, without a loop over
    images: mmdet's ``filter_scores_and_topk`` + ``_bbox_post_process``
    (with mmcv's ``batched_nms``) applied to every image at once.

    Each (image, class) pair is moved to its own region of the plane (images
    along y, classes along x) so boxes of different pairs never overlap, and
    one NMS (mmcv's kernel) runs over all candidates; above ``SPLIT_THR``
    candidates, one NMS a class. mmcv's ``batched_nms`` shifts a class by
    ``label * (max coordinate + 1)``, which lets a box at negative
    coordinates meet one of another class; these regions never overlap.
    For boxes centred in the image, as YOLOv3 decodes them, both agree.

    Args:
        boxes: ``(B, N, 4)`` xyxy, any unit.
        scores: ``(B, N, K)`` scores that select the candidates: a (box,
            class) pair is one when its score is above ``score_thr`` and
            among the ``nms_pre`` best of its image.
        score_thr: candidates need a score above this.
        iou_threshold: NMS IoU; ``None`` skips NMS (candidates as they are).
        max_per_img: detections kept an image, best first; ``-1`` keeps all.
        nms_pre: candidates (box, class) kept an image before NMS, best
            first; ``-1`` keeps all.
        score_factors: ``(B, N)`` factors of each box (mmdet's
            ``score_factors``, YOLO's objectness): a candidate's detection
            score is its score times its box's factor. ``None``: the score.
        min_bbox_size: candidates need a width and a height above this
            (unit of ``boxes``); negative: no size check.

    Returns:
        The kept detections, grouped by image, best first within each.
    """
    num_imgs, num_boxes, num_classes = scores.shape
    flat_scores = scores.reshape(num_imgs, num_boxes * num_classes)
    if 0 < nms_pre < flat_scores.shape[1]:
        flat_scores, flat_idx = flat_scores.topk(nms_pre, dim=1)
    else:
        flat_idx = torch.arange(flat_scores.shape[1], device=scores.device).expand_as(flat_scores)
    batch_idx, column = (flat_scores > score_thr).nonzero(as_tuple=True)
    cand_idx = flat_idx[batch_idx, column]
    cand_scores = flat_scores[batch_idx, column]
    box_idx, labels = cand_idx // num_classes, cand_idx % num_classes
    cand_boxes = boxes[batch_idx, box_idx].float()
    if score_factors is not None:
        cand_scores = cand_scores * score_factors[batch_idx, box_idx]
    if min_bbox_size >= 0:
        large = (cand_boxes[:, 2:] - cand_boxes[:, :2] > min_bbox_size).all(dim=1)
        batch_idx, cand_boxes, cand_scores, labels = (
            batch_idx[large], cand_boxes[large], cand_scores[large], labels[large])

    if iou_threshold is None or not len(cand_scores):
        keep = cand_scores.argsort(descending=True)
    elif len(cand_scores) <= SPLIT_THR:
        keep = _separated_nms(cand_boxes, cand_scores, labels, batch_idx, iou_threshold)
    else:
        by_class = labels.argsort(stable=True)
        keep = torch.cat([
            members[_separated_nms(cand_boxes[members], cand_scores[members], labels[members],
                                   batch_idx[members], iou_threshold)]
            for members in by_class.split(torch.bincount(labels).tolist()) if len(members)
        ])
        keep = keep[cand_scores[keep].argsort(descending=True, stable=True)]

    # ``keep`` is in descending score; group it by image, stably.
    keep = keep[torch.sort(batch_idx[keep], stable=True).indices]
    kept_imgs = batch_idx[keep]
    first_of_img = torch.searchsorted(kept_imgs, kept_imgs)  # index of the image's first
    rank = torch.arange(len(keep), device=keep.device) - first_of_img
    if max_per_img >= 0:
        keep = keep[rank < max_per_img]
    return BatchedDetections(batch_idx[keep], cand_boxes[keep], cand_scores[keep], labels[keep])


def _separated_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                   batch_idx: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """One NMS over ``(D, 4)`` boxes shifted so that each (image, class)
    group has a region of its own: returns kept indices, best first."""
    low = boxes.min()
    span = boxes.max() - low + 1
    shift = torch.stack((labels, batch_idx), -1).to(boxes) * span - low
    return nms(boxes + shift.repeat(1, 2), scores, iou_threshold)[1]
