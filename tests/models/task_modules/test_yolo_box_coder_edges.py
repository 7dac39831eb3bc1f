"""YOLOBoxCoder at its edges: the default variant, each coordinate decoded
on its own (loop reference of tests/models/yolo_reference.py), degenerate
sizes and centres outside their cell in the targets."""
import math
import re

import pytest
import torch

from tests.models.yolo_reference import ANCHORS, decode, level_sizes
from yolo_plugin.models.task_modules import YOLOBoxCoder, YOLOPriorGenerator

STRIDES = (32, 16, 8)


@pytest.fixture
def priors():
    return YOLOPriorGenerator(ANCHORS, STRIDES).grid_priors(level_sizes(), torch.device('cpu'))


def test_default_variant_is_the_papers():
    coder = YOLOBoxCoder()
    assert coder.variant == 'v3'
    assert coder.max_log_ratio == pytest.approx(math.log(1000 / 16))


@pytest.mark.parametrize('variant', ['v3', 'v5'])
def test_each_coordinate_decodes_from_its_own_output(priors, variant):
    """Different raw outputs at every coordinate, so that a coordinate read
    from its neighbour's output shows."""
    generator = torch.Generator().manual_seed(3)
    deltas = torch.randn(len(priors.cells), 4, generator=generator)
    boxes = YOLOBoxCoder(variant).decode(deltas, priors.cells, priors.anchors, priors.strides)
    expected = [
        decode(deltas[index].tolist(), level, x, y, a, variant)
        for index, (level, x, y, a) in enumerate(prior_layout(priors))
    ]
    assert torch.allclose(boxes, torch.tensor(expected), atol=1e-3)


def prior_layout(priors):
    """(level, cell x, cell y, anchor index) of each prior."""
    for level, cell, anchor in zip(priors.levels.tolist(), priors.cells.long().tolist(),
                                   priors.anchors.tolist()):
        yield level, cell[0], cell[1], ANCHORS[level].index(tuple(anchor))


def test_sizes_below_a_hundredth_of_a_pixel_count_as_one_hundredth():
    widths_heights = [(0.0, 0.5), (0.004, 2.0), (0.3, 0.01)]
    boxes = torch.tensor([[50.0, 40.0, 50.0 + w, 40.0 + h] for w, h in widths_heights])
    anchors = torch.tensor([[10.0, 13.0]] * 3)
    cells = torch.tensor([[6.0, 5.0]] * 3)
    _, log_wh = YOLOBoxCoder().encode(boxes, cells, anchors, torch.full((3, ), 8.0))
    expected = [[math.log(max(w, 0.01) / 10), math.log(max(h, 0.01) / 13)]
                for w, h in widths_heights]
    assert torch.allclose(log_wh, torch.tensor(expected), atol=1e-5)


def test_centre_offsets_outside_the_cell_are_clamped_to_it():
    """A ground truth centred outside the grid is matched to the nearest
    edge cell; its offset target saturates at the cell's border."""
    centres = [(-12.0, 3.0), (4.0, 36.0), (20.0, 11.0), (-1.0, 50.0)]
    cells = torch.tensor([[0.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.0, 4.0]])
    boxes = torch.tensor([[x - 2, y - 2, x + 2, y + 2] for x, y in centres])
    xy, _ = YOLOBoxCoder().encode(boxes, cells, torch.ones(4, 2), torch.full((4, ), 8.0))
    expected = [[min(max(c / 8 - cell, 0.0), 1.0) for c, cell in zip(centre, cell_xy)]
                for centre, cell_xy in zip(centres, cells.tolist())]
    assert torch.allclose(xy, torch.tensor(expected))
    assert xy.min() == 0 and xy.max() == 1 and ((xy > 0) & (xy < 1)).any()


def test_v5_targets_error_names_the_fix():
    message = ("YOLOBoxCoder: x/y and w/h targets exist for the 'v3' parametrisation only; "
               "use an IoU box loss with variant='v5'")
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        YOLOBoxCoder('v5').encode(torch.zeros(1, 4), torch.zeros(1, 2), torch.ones(1, 2),
                                  torch.ones(1))
