"""Per-class NMS of a whole batch in one kernel call."""
from typing import NamedTuple, Optional

import torch
from mmcv.ops import nms


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
                           nms_pre: int = -1) -> BatchedDetections:
    """Per-image, per-class greedy NMS of a batch, without a loop over
    images or classes.

    Each (image, class) pair is moved to its own region of the plane (images
    along y, classes along x) so boxes of different pairs never overlap, and
    one NMS runs over all candidates.

    Args:
        boxes: ``(B, N, 4)`` xyxy, any unit.
        scores: ``(B, N, K)`` class scores.
        score_thr: candidates need a score above this.
        iou_threshold: NMS IoU; ``None`` skips NMS (candidates as they are).
        max_per_img: detections kept an image, best first.
        nms_pre: candidates (box, class) kept an image before NMS, best
            first; ``-1`` keeps all.

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
    labels = cand_idx % num_classes
    cand_boxes = boxes[batch_idx, cand_idx // num_classes].float()

    if iou_threshold is not None and cand_boxes.numel():
        low = cand_boxes.min()
        span = cand_boxes.max() - low + 1
        shift = torch.stack((labels, batch_idx), -1).to(cand_boxes) * span - low
        _, keep = nms(cand_boxes + shift.repeat(1, 2), cand_scores, iou_threshold)
    else:
        keep = cand_scores.argsort(descending=True)

    # ``keep`` is in descending score; group it by image, stably.
    keep = keep[torch.sort(batch_idx[keep], stable=True).indices]
    kept_imgs = batch_idx[keep]
    first_of_img = torch.searchsorted(kept_imgs, kept_imgs)  # index of the image's first
    rank = torch.arange(len(keep), device=keep.device) - first_of_img
    keep = keep[rank < max_per_img]
    return BatchedDetections(batch_idx[keep], cand_boxes[keep], cand_scores[keep], labels[keep])
