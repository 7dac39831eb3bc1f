"""Anchor sizes by k-means with the ``1 - IoU`` distance (YOLOv2 / YOLOv3),
from the boxes of a data set at a config's input scale
(``tools/kmeans_anchors.py``)."""
from typing import List, NamedTuple, Sequence, Tuple

import numpy as np
import torch

from yolo_plugin.models.task_modules.assigners.yolo_anchor_assigner import wh_iou
from .config import build_split_dataset

RESIZE_TYPES = ('Resize', 'mmdet.Resize', 'RandomResize', 'mmdet.RandomResize')


class AnchorClusters(NamedTuple):
    """Result of :func:`kmeans_anchors`."""
    anchors: np.ndarray  # (K, 2) (w, h) pixels, by increasing area
    mean_iou: float  # mean over the boxes of their best IoU with an anchor
    iterations: int


def find_input_scale(pipeline: Sequence[dict]) -> Tuple[Tuple[int, int], bool]:
    """``((w, h), keep_ratio)`` of the first resize step of a (test)
    pipeline: the network's input scale.

    Raises:
        ValueError: when the pipeline has no resize step with a ``scale``.
    """
    for step in pipeline:
        if step.get('type') in RESIZE_TYPES and 'scale' in step:
            scale = step['scale']
            if isinstance(scale, (list, tuple)) and len(scale) == 2 and all(
                    isinstance(s, (int, float)) for s in scale):
                return (int(scale[0]), int(scale[1])), bool(step.get('keep_ratio', False))
    raise ValueError('the pipeline has no Resize step with a (w, h) scale: '
                     f'{[step.get("type") for step in pipeline]}')


def resize_factors(img_wh: np.ndarray, scale: Tuple[int, int],
                   keep_ratio: bool) -> np.ndarray:
    """Per image ``(fx, fy)`` factors of mmcv's resize to ``scale``.

    Args:
        img_wh: ``(N, 2)`` image widths and heights, pixels.
        scale: ``(w, h)`` target; with ``keep_ratio`` the largest size whose
            long side fits ``max(scale)`` and short side ``min(scale)``
            (``mmcv.rescale_size``).

    Returns:
        ``(N, 2)`` factors.
    """
    img_wh = np.asarray(img_wh, dtype=np.float64).reshape(-1, 2)
    if not keep_ratio:
        return np.asarray(scale, dtype=np.float64) / img_wh
    factor = np.minimum(max(scale) / img_wh.max(1), min(scale) / img_wh.min(1))
    return np.repeat(factor[:, None], 2, axis=1)


def dataset_box_sizes(dataset, scale: Tuple[int, int], keep_ratio: bool) -> np.ndarray:
    """``(M, 2)`` (w, h) of the labelled, not ignored boxes of an mmdet-style
    dataset, in input pixels after resizing each image to ``scale``."""
    widths_heights, img_sizes = [], []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        boxes = [inst['bbox'] for inst in info.get('instances', [])
                 if not inst.get('ignore_flag', 0) and inst.get('bbox_label', -1) >= 0]
        if not boxes:
            continue
        boxes = np.asarray(boxes, dtype=np.float64)
        widths_heights.append(boxes[:, 2:] - boxes[:, :2])
        img_sizes.append(np.repeat([[info['width'], info['height']]], len(boxes), axis=0))
    if not widths_heights:
        return np.zeros((0, 2))
    wh = np.concatenate(widths_heights)
    return wh * resize_factors(np.concatenate(img_sizes), scale, keep_ratio)


def _anchor_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """:func:`wh_iou` (boxes and anchors sharing one centre) of numpy
    arrays: ``(N, 2)`` and ``(K, 2)`` -> ``(N, K)``."""
    return wh_iou(torch.from_numpy(wh), torch.from_numpy(anchors)).numpy()


def kmeans_anchors(wh: np.ndarray, num_anchors: int = 9, max_iter: int = 300,
                   seed: int = 0) -> AnchorClusters:
    """k-means of box sizes with the distance ``1 - IoU`` (boxes and anchors
    centred on one point), centres the mean size of their members.

    Seeded k-means++ style (each further seed drawn with probability growing
    with its distance to the nearest seed); an emptied cluster takes the box
    worst covered by the others.

    Args:
        wh: ``(N, 2)`` box (w, h), pixels; boxes of zero area are left out.
        num_anchors: ``K``.

    Raises:
        ValueError: with fewer usable boxes than anchors.
    """
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    wh = wh[(wh > 0).all(1)]
    if len(wh) < num_anchors:
        raise ValueError(f'k-means of {num_anchors} anchors needs at least as many '
                         f'boxes of positive size, got {len(wh)}')
    rng = np.random.default_rng(seed)
    anchors = wh[rng.integers(len(wh))][None]
    while len(anchors) < num_anchors:
        distance = 1 - _anchor_iou(wh, anchors).max(1)
        weights = distance**2
        pick = rng.choice(len(wh), p=weights / weights.sum()) if weights.sum() > 0 \
            else rng.integers(len(wh))
        anchors = np.vstack([anchors, wh[pick]])

    assignment = np.full(len(wh), -1)
    for iteration in range(1, max_iter + 1):
        iou = _anchor_iou(wh, anchors)
        new_assignment = iou.argmax(1)
        if (new_assignment == assignment).all():
            break
        assignment = new_assignment
        counts = np.bincount(assignment, minlength=num_anchors)
        sums = np.stack([np.bincount(assignment, weights=wh[:, i], minlength=num_anchors)
                         for i in range(2)], axis=1)
        filled = counts > 0
        anchors[filled] = sums[filled] / counts[filled, None]
        if not filled.all():
            worst = np.argsort(iou.max(1))[:int((~filled).sum())]
            anchors[~filled] = wh[worst]
    order = np.argsort(anchors.prod(1))
    anchors = anchors[order]
    return AnchorClusters(anchors, float(_anchor_iou(wh, anchors).max(1).mean()), iteration)


def anchors_per_level(anchors: np.ndarray, num_levels: int = 3) -> List[List[Tuple[int, int]]]:
    """Anchors (by increasing area) split evenly over the levels, rounded to
    whole pixels, largest level first (stride 32 first, as the head's
    ``prior_generator`` wants)."""
    if len(anchors) % num_levels:
        raise ValueError(f'{len(anchors)} anchors do not split evenly over '
                         f'{num_levels} levels')
    rounded = [(max(int(round(w)), 1), max(int(round(h)), 1)) for w, h in anchors]
    per_level = len(rounded) // num_levels
    levels = [rounded[i:i + per_level] for i in range(0, len(rounded), per_level)]
    return levels[::-1]


def format_anchor_config(levels: List[List[Tuple[int, int]]], comment: str) -> str:
    """Config text that sets the head's anchors: ``comment`` lines, then
    ``anchors = [...]`` and the ``model`` override using it."""
    lines = [f'# {line}' for line in comment.splitlines()]
    lines.append('anchors = [')
    lines += [f'    {[tuple(a) for a in level]},' for level in levels]
    lines.append(']')
    lines.append('model = dict(bbox_head=dict(prior_generator=dict(anchors=anchors)))')
    return '\n'.join(lines) + '\n'


def config_anchors(cfg, split: str = 'train', num_anchors: int = 9, num_levels: int = 3,
                   seed: int = 0) -> Tuple[str, AnchorClusters]:
    """k-means anchors of the boxes of a config's ``split`` at the input
    scale of its test pipeline.

    Returns:
        The config text of the anchors (see :func:`format_anchor_config`)
        and the clusters.
    """
    scale, keep_ratio = find_input_scale(cfg.test_dataloader.dataset.pipeline)
    dataset = build_split_dataset(cfg, split, pipeline=[])
    sizes = dataset_box_sizes(dataset, scale, keep_ratio)
    clusters = kmeans_anchors(sizes, num_anchors, seed=seed)
    comment = (f'k-means (1 - IoU) anchors of {len(sizes)} boxes of {len(dataset)} images\n'
               f'({cfg.filename}, split {split!r}) at input scale {scale} '
               f'(keep_ratio={keep_ratio}); mean best IoU {clusters.mean_iou:.3f}.')
    return format_anchor_config(anchors_per_level(clusters.anchors, num_levels), comment), clusters
