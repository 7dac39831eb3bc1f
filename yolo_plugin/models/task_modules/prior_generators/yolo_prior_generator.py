"""Anchor priors of the YOLO heads, laid out like the flattened head output."""
from typing import List, NamedTuple, Sequence, Tuple

import torch

from yolo_plugin.registry import TASK_UTILS


class YOLOPriors(NamedTuple):
    """Priors of all levels, flattened level by level in ``(y, x, anchor)``
    order, the order of ``(B, A*(5+K), H, W) -> (B, H*W*A, 5+K)``.

    ``N = sum_l H_l * W_l * A``.
    """
    cells: torch.Tensor  # (N, 2) cell column and row (x, y), grid units
    anchors: torch.Tensor  # (N, 2) anchor width and height, pixels
    strides: torch.Tensor  # (N,) pixels per cell
    levels: torch.Tensor  # (N,) level index, long
    level_sizes: Tuple[Tuple[int, int], ...]  # (H_l, W_l) of each level
    level_offsets: torch.Tensor  # (L,) index of each level's first prior
    level_anchors: torch.Tensor  # (L, A, 2) anchor (w, h) of each level, pixels
    level_strides: torch.Tensor  # (L,) pixels a cell of each level
    level_grid_wh: torch.Tensor  # (L, 2) cells across and down (W_l, H_l), long

    def prior_index(self, level: torch.Tensor, cells: torch.Tensor,
                    anchor: torch.Tensor) -> torch.Tensor:
        """Index in ``[0, N)`` of the prior of anchor ``anchor`` (of its
        level's ``A``) at cell ``cells`` (``(..., 2)`` long (x, y)) of level
        ``level``; ``level`` and ``anchor`` are long of shape ``(...)``."""
        num_anchors = self.level_anchors.shape[1]
        grid_w = self.level_grid_wh[level, 0]
        return self.level_offsets[level] + (
            cells[..., 1] * grid_w + cells[..., 0]) * num_anchors + anchor

    def locate(self, prior_idx: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """``(level, cell_y, cell_x, anchor)`` of prior indices, each of
        their shape: the inverse of :meth:`prior_index`."""
        num_anchors = self.level_anchors.shape[1]
        level = self.levels[prior_idx]
        local = prior_idx - self.level_offsets[level]  # (y * W + x) * A + a
        cell = local // num_anchors
        grid_w = self.level_grid_wh[level, 0]
        return level, cell // grid_w, cell % grid_w, local % num_anchors


@TASK_UTILS.register_module()
class YOLOPriorGenerator:
    """Anchors of a YOLO head: ``A`` (width, height) pairs in pixels at each
    cell of each level.

    Args:
        anchors: one list a level of ``(w, h)`` pairs in input pixels, levels
            in the head's order (YOLOv3: stride 32 first).
        strides: input pixels per cell of each level.
    """

    def __init__(self, anchors: Sequence[Sequence[Sequence[float]]],
                 strides: Sequence[int]) -> None:
        sizes = {len(level) for level in anchors}
        if len(anchors) != len(strides) or len(sizes) != 1:
            raise ValueError(
                'YOLOPriorGenerator: need the same number of anchors at every '
                f'level and one stride a level, got anchors={anchors}, '
                f'strides={strides}')
        self.base_anchors = torch.tensor(anchors, dtype=torch.float32)  # (L, A, 2)
        if self.base_anchors.shape[-1] != 2 or (self.base_anchors <= 0).any():
            raise ValueError('YOLOPriorGenerator: anchors must be positive '
                             f'(w, h) pairs, got {anchors}')
        self.strides = tuple(int(s) for s in strides)
        self._cache = {}

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> int:
        """Anchors a cell (``A``)."""
        return self.base_anchors.shape[1]

    def grid_priors(self, featmap_sizes: Sequence[Tuple[int, int]],
                    device: torch.device) -> YOLOPriors:
        """Priors for feature maps of ``featmap_sizes`` ``[(H_l, W_l), ...]``
        (cached per sizes and device)."""
        key = (tuple(tuple(int(v) for v in s) for s in featmap_sizes), str(device))
        if key not in self._cache:
            self._cache[key] = self._make_priors(key[0], device)
        return self._cache[key]

    def _make_priors(self, sizes: Tuple[Tuple[int, int], ...],
                     device: torch.device) -> YOLOPriors:
        num_anchors = self.num_base_priors
        cells, anchors, strides, levels, counts = [], [], [], [], []
        for level, ((height, width), stride) in enumerate(zip(sizes, self.strides)):
            ys, xs = torch.meshgrid(
                torch.arange(height, device=device, dtype=torch.float32),
                torch.arange(width, device=device, dtype=torch.float32),
                indexing='ij')
            grid = torch.stack((xs, ys), dim=-1).reshape(-1, 1, 2)  # (H*W, 1, 2)
            count = height * width * num_anchors
            cells.append(grid.expand(-1, num_anchors, 2).reshape(-1, 2))
            anchors.append(self.base_anchors[level].to(device).repeat(height * width, 1))
            strides.append(torch.full((count, ), float(stride), device=device))
            levels.append(torch.full((count, ), level, dtype=torch.long, device=device))
            counts.append(count)
        offsets = torch.tensor([0] + counts[:-1], device=device).cumsum(0)
        return YOLOPriors(
            cells=torch.cat(cells),
            anchors=torch.cat(anchors),
            strides=torch.cat(strides),
            levels=torch.cat(levels),
            level_sizes=sizes,
            level_offsets=offsets,
            level_anchors=self.base_anchors.to(device),
            level_strides=torch.tensor(
                self.strides, dtype=torch.float32, device=device),
            level_grid_wh=torch.tensor([(w, h) for h, w in sizes], device=device))
