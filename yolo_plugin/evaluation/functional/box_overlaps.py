"""Overlap of axis-aligned boxes with numpy broadcasting."""
import numpy as np


def box_overlaps(boxes: np.ndarray,
                 others: np.ndarray,
                 mode: str = 'iou') -> np.ndarray:
    """Overlap of ``boxes`` with ``others``, element-wise after broadcasting.

    Continuous coordinates (no +1), as KITTI's devkit and COCO measure.

    Args:
        boxes: ``(..., 4)`` xyxy, pixels.
        others: ``(..., 4)`` xyxy, pixels, broadcastable with ``boxes``.
        mode: ``'iou'`` intersection over union, or ``'iof'`` intersection
            over the area of ``boxes`` (the "foreground").

    Returns:
        ``(...)`` overlaps in [0, 1]; 0 where the boxes do not intersect.
    """
    if mode not in ('iou', 'iof'):
        raise ValueError(f"mode must be 'iou' or 'iof', got {mode!r}")
    width = (
        np.minimum(boxes[..., 2], others[..., 2]) -
        np.maximum(boxes[..., 0], others[..., 0]))
    height = (
        np.minimum(boxes[..., 3], others[..., 3]) -
        np.maximum(boxes[..., 1], others[..., 1]))
    intersects = (width > 0) & (height > 0)
    inter = np.where(intersects, width * height, 0.0)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    if mode == 'iof':
        denominator = area
    else:
        other_area = ((others[..., 2] - others[..., 0]) *
                      (others[..., 3] - others[..., 1]))
        denominator = area + other_area - inter
    return np.divide(
        inter, denominator, out=np.zeros(inter.shape), where=intersects)
