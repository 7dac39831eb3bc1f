"""YOLOPriors' index of a (level, cell, anchor) and its inverse, against
the flattened order of the loop reference."""
import itertools

import torch

from tests.models.yolo_reference import ANCHORS, STRIDES, level_sizes, prior_index
from yolo_plugin.models.task_modules import YOLOPriorGenerator


def test_prior_index_and_locate_follow_the_flattened_order():
    sizes = level_sizes()
    priors = YOLOPriorGenerator(ANCHORS, STRIDES).grid_priors(sizes, torch.device('cpu'))
    keys = [(level, x, y, a) for level, (height, width) in enumerate(sizes)
            for y, x, a in itertools.product(range(height), range(width), range(len(ANCHORS[0])))]
    level, x, y, anchor = torch.tensor(keys).unbind(1)
    index = priors.prior_index(level, torch.stack((x, y), 1), anchor)
    assert index.tolist() == [prior_index(*key, sizes) for key in keys]
    assert index.tolist() == list(range(len(priors.levels)))
    located = priors.locate(index)
    assert [t.tolist() for t in located] == [level.tolist(), y.tolist(), x.tolist(),
                                             anchor.tolist()]
