"""Small helpers shared by the models."""
import math
from typing import List, Optional, Tuple

import torch
from mmengine.structures import InstanceData
from torch.nn.utils.rnn import pad_sequence

# Darknet's conv block: conv, BN, then LeakyReLU(0.1); He init for that
# slope.
DARKNET_NORM = dict(type='BN', requires_grad=True)
DARKNET_ACT = dict(type='LeakyReLU', negative_slope=0.1)
DARKNET_INIT = dict(type='Kaiming', layer='Conv2d', a=0.1, nonlinearity='leaky_relu')


def pad_instances(instances: Optional[List[InstanceData]], num_imgs: int,
                  device: torch.device
                  ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack per-image boxes into padded batch tensors.

    Args:
        instances: one ``InstanceData`` an image with ``bboxes (n_i, 4)``
            and, where present, ``labels (n_i,)``; ``None`` for none at all.
        num_imgs: batch size ``B``.

    Returns:
        ``boxes (B, G, 4)``, ``labels (B, G)`` (``-1`` where an image has no
        labels) and ``valid (B, G)`` bool, ``G = max n_i``; padding is zero
        and not valid.
    """
    if instances is None:
        instances = [InstanceData() for _ in range(num_imgs)]
    boxes = [_as_tensor(inst.bboxes if 'bboxes' in inst else None, (0, 4), torch.float32, device)
             for inst in instances]
    labels = [
        _as_tensor(inst.labels, (len(b), ), torch.long, device)
        if 'labels' in inst else torch.full((len(b), ), -1, dtype=torch.long, device=device)
        for inst, b in zip(instances, boxes)
    ]
    valid = [torch.ones(len(b), dtype=torch.bool, device=device) for b in boxes]
    return (pad_sequence(boxes, batch_first=True), pad_sequence(labels, batch_first=True, padding_value=-1),
            pad_sequence(valid, batch_first=True))


def _as_tensor(value, empty_shape, dtype, device) -> torch.Tensor:
    """``value`` (a tensor or an mmdet box structure) as a plain tensor."""
    if value is None:
        return torch.zeros(empty_shape, dtype=dtype, device=device)
    value = getattr(value, 'tensor', value)
    return value.to(device=device, dtype=dtype).reshape(-1, *empty_shape[1:])


def scale_channels(channels: int, widen_factor: float, divisor: int = 8) -> int:
    """Channels times ``widen_factor``, rounded up to a multiple of
    ``divisor`` (unchanged at 1.0)."""
    if widen_factor == 1.0:
        return channels
    return max(divisor, int(math.ceil(channels * widen_factor / divisor)) * divisor)


def scale_depth(num_blocks: int, deepen_factor: float) -> int:
    """Blocks times ``deepen_factor``, rounded, and at least one."""
    return max(round(num_blocks * deepen_factor), 1)


def prior_prob_logit(prob: float) -> float:
    """The logit whose sigmoid is ``prob``."""
    return math.log(prob / (1 - prob))
