"""Box parametrisations of YOLOv3 (the paper) and YOLOv5."""
import math
from typing import Tuple

import torch

from yolo_plugin.registry import TASK_UTILS


@TASK_UTILS.register_module()
class YOLOBoxCoder:
    """Turns raw head outputs ``(tx, ty, tw, th)`` into boxes and back.

    ``variant='v3'`` (the paper): centre ``(sigmoid(t_xy) + cell) * stride``,
    size ``exp(t_wh) * anchor``, with ``t_wh`` clamped at ``max_log_ratio`` so
    that sizes stay finite in fp16 (``exp(log(1000 / 16)) * 373 px`` is far
    below fp16's 65504).

    ``variant='v5'``: centre ``(2 * sigmoid(t_xy) - 0.5 + cell) * stride``,
    size ``(2 * sigmoid(t_wh))**2 * anchor``, at most four anchors.
    """

    variants = ('v3', 'v5')

    def __init__(self, variant: str = 'v3',
                 max_log_ratio: float = math.log(1000. / 16)) -> None:
        if variant not in self.variants:
            raise ValueError(f'YOLOBoxCoder: variant must be one of '
                             f'{self.variants}, got {variant!r}')
        self.variant = variant
        self.max_log_ratio = max_log_ratio

    def decode(self, deltas: torch.Tensor, cells: torch.Tensor,
               anchors: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
        """Decode raw outputs to boxes.

        Args:
            deltas: ``(..., N, 4)`` raw ``(tx, ty, tw, th)``; computed in fp32.
            cells: ``(N, 2)`` cell (x, y), grid units.
            anchors: ``(N, 2)`` anchor (w, h), pixels.
            strides: ``(N,)`` pixels a cell.

        Returns:
            ``(..., N, 4)`` boxes ``(x1, y1, x2, y2)`` in input pixels, fp32,
            a view of coordinate-major ``(4, ..., N)`` memory.
        """
        # Coordinate planes (4, ..., N): contiguous when ``deltas`` is a view
        # of attribute-major memory (the loss), where every op vectorises.
        planes = deltas.float().movedim(-1, 0)
        batch_dims = (1, ) * (planes.dim() - 2)
        cells = cells.t().reshape(2, *batch_dims, -1)  # (2, 1..., N)
        anchors = anchors.t().reshape(2, *batch_dims, -1)
        if self.variant == 'v3':
            centre = (planes[:2].sigmoid() + cells) * strides
            size = planes[2:].clamp(max=self.max_log_ratio).exp() * anchors
        else:
            centre = (planes[:2].sigmoid() * 2 - 0.5 + cells) * strides
            size = (planes[2:].sigmoid() * 2).square() * anchors
        half = size / 2
        return torch.cat((centre - half, centre + half)).movedim(0, -1)

    def encode(self, boxes: torch.Tensor, cells: torch.Tensor,
               anchors: torch.Tensor,
               strides: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Targets of the paper's x/y and w/h losses (``variant='v3'`` only).

        Args:
            boxes: ``(P, 4)`` xyxy pixels; cells ``(P, 2)``; anchors
                ``(P, 2)`` pixels; strides ``(P,)``.

        Returns:
            ``(P, 2)`` centre offsets in the cell, in ``[0, 1]`` (targets of
            ``sigmoid(t_xy)``), and ``(P, 2)`` ``log(size / anchor)``
            (targets of ``t_wh``; sizes below 0.01 px count as 0.01 px).
        """
        if self.variant != 'v3':
            raise ValueError('YOLOBoxCoder: x/y and w/h targets exist for the '
                             "'v3' parametrisation only; use an IoU box loss "
                             "with variant='v5'")
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0.01)
        xy = (centre / strides[:, None] - cells).clamp(0, 1)
        return xy, torch.log(size / anchors)
