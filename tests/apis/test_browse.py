"""The drawing of a data set's ground truth after its pipeline: ignored
boxes grey and dashed, instances in their class colour."""
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from yolo_plugin.apis.browse import IGNORED_COLOUR, draw_ground_truth


def test_ignored_boxes_are_drawn_grey_and_instances_in_class_colour():
    sample = DetDataSample(metainfo=dict(img_path='x.png'))
    sample.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor([[10., 10., 60., 50.]])),
        labels=torch.tensor([0]))
    sample.ignored_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor([[100., 20., 180., 70.]])),
        labels=torch.tensor([-1]))
    item = dict(
        inputs=torch.zeros(3, 96, 200, dtype=torch.uint8),
        data_samples=sample)
    visualizer = DetLocalVisualizer.get_instance('test_browse_colours')
    visualizer.dataset_meta = dict(
        classes=('Car', ), palette=[(0, 0, 142)])
    drawn = draw_ground_truth(visualizer, item)
    assert drawn.shape == (96, 200, 3)
    # Lines are blended (alpha 0.8) over the black image.
    top_edge = drawn[18:23, 100:181].reshape(-1, 3).astype(int)
    grey = (top_edge == top_edge[:, :1]).all(1) & (
        top_edge[:, 0] >= 0.75 * IGNORED_COLOUR[0])
    assert 0.3 < grey.mean() < 0.9  # dashed
    left_edge = drawn[10:51, 8:13].reshape(-1, 3).astype(int)
    class_colour = (left_edge[:, :2] == 0).all(1) & (left_edge[:, 2] >= 100)
    assert class_colour.any()
    assert not (drawn[30:40, 120:160] > 0).any()  # inside stays black
