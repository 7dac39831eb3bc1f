"""Loading a checkpoint trained for another class set into a YOLOv3 head.

Every prediction conv outputs ``A * (5 + K)`` channels, per anchor
``(tx, ty, tw, th, objectness, class_1..K)``. Moving from ``K_src`` to ``K``
classes keeps each anchor's first five rows (box and objectness, which do
not depend on the class set) and re-initialises its ``K`` class rows as
``YOLOAnchorHead.init_weights`` does: weights Normal(0, 0.01), bias the logit
of ``1 / K``. Everything else in the checkpoint loads unchanged.
"""
import logging
from typing import List, MutableMapping

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ..utils import prior_prob_logit

BOX_AND_OBJECTNESS = 5  # rows of each anchor kept: tx, ty, tw, th, objectness


def adapt_class_outputs(head: nn.Module, state_dict: MutableMapping[str, torch.Tensor],
                        prefix: str) -> List[str]:
    """Fit the prediction convs of ``state_dict`` to ``head``'s class count,
    in place, before ``head`` loads them.

    Called from ``YOLOAnchorHead._load_from_state_dict``, so it applies to every
    way of loading (``load_from``, ``init_cfg=dict(type='Pretrained')``,
    ``mmengine.runner.load_checkpoint``, ``Module.load_state_dict``). A
    prediction conv is adapted when its anchors and input channels match
    and only the class count differs; any other mismatch is left to the
    usual size-mismatch report (the checkpoint must have the model's number
    of anchors a level). One log line names what was re-initialised.

    Args:
        head: a ``YOLOAnchorHead`` (``pred_convs``, ``num_base_priors``,
            ``num_classes``, ``num_attrib``).
        state_dict: the checkpoint's tensors (the loader's own copy).
        prefix: the head's key prefix, e.g. ``'bbox_head.'``.

    Returns:
        The prefixes of the adapted prediction convs.
    """
    num_anchors, num_classes = head.num_base_priors, head.num_classes
    adapted, source_classes = [], set()
    for level, conv in enumerate(head.pred_convs):
        name = f'{prefix}pred_convs.{level}'
        weight, bias = state_dict.get(f'{name}.weight'), state_dict.get(f'{name}.bias')
        if weight is None or bias is None or weight.shape == conv.weight.shape:
            continue
        rows = weight.shape[0]
        if (weight.shape[1:] != conv.weight.shape[1:] or rows % num_anchors
                or rows // num_anchors <= BOX_AND_OBJECTNESS):
            continue
        channels = weight[0].numel()
        source_weight = weight.reshape(num_anchors, -1, channels)  # (A, 5 + K_src, C)
        source_bias = bias.reshape(num_anchors, -1)  # (A, 5 + K_src)
        new_weight = weight.new_empty(num_anchors, head.num_attrib, channels)
        new_bias = bias.new_empty(num_anchors, head.num_attrib)
        new_weight[:, :BOX_AND_OBJECTNESS] = source_weight[:, :BOX_AND_OBJECTNESS]
        new_bias[:, :BOX_AND_OBJECTNESS] = source_bias[:, :BOX_AND_OBJECTNESS]
        nn.init.normal_(new_weight[:, BOX_AND_OBJECTNESS:], mean=0, std=0.01)
        new_bias[:, BOX_AND_OBJECTNESS:] = prior_prob_logit(1 / num_classes)
        state_dict[f'{name}.weight'] = new_weight.view(conv.weight.shape)
        state_dict[f'{name}.bias'] = new_bias.view(conv.bias.shape)
        adapted.append(name)
        source_classes.add(rows // num_anchors - BOX_AND_OBJECTNESS)
    if adapted:
        print_log(
            f'Class transfer ({"/".join(map(str, sorted(source_classes)))} -> {num_classes} '
            f'classes): re-initialised the class rows ({num_anchors} anchors x {num_classes}) '
            f'of {", ".join(f"{name}.weight/.bias" for name in adapted)}; kept their box and '
            'objectness rows and every other tensor.',
            logger='current', level=logging.INFO)
    return adapted
