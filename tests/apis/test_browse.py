"""The drawing of a data set's ground truth after its pipeline: ignored
boxes grey and dashed, instances in their class colour; the deferred
photometric distortion shown as mmdet's."""
import copy

import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs, PhotoMetricDistortion
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from tests.datasets.transforms.mmdet_reference import (KITTI_RECIPE, fused_transform,
                                                       mmdet_chain, reference_frames, run_chain)
from yolo_plugin.apis.browse import IGNORED_COLOUR, draw_ground_truth
from yolo_plugin.datasets.transforms import (DeferredPhotoMetricDistortion,
                                             PackDetInputsChannelsLast)


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


def test_deferred_distortion_is_drawn_as_mmdets():
    """The same seed through mmdet's chain with PhotoMetricDistortion and
    through ours, which only draws the distortion: the same picture."""
    results = reference_frames()['kitti']
    visualizer = DetLocalVisualizer.get_instance('test_browse_distortion')
    visualizer.dataset_meta = dict(classes=('Car', 'Pedestrian', 'Cyclist'))
    for seed in range(4):
        np.random.seed(seed)
        theirs = PackDetInputs()(PhotoMetricDistortion()(
            run_chain(mmdet_chain(KITTI_RECIPE), copy.deepcopy(results))))
        np.random.seed(seed)
        ours = PackDetInputsChannelsLast()(DeferredPhotoMetricDistortion()(
            fused_transform(KITTI_RECIPE)(copy.deepcopy(results))))
        expected = draw_ground_truth(visualizer, theirs)
        drawn = draw_ground_truth(visualizer, ours)
        np.testing.assert_array_equal(drawn, expected, f'seed {seed}')
        undistorted = dict(ours, data_samples=ours['data_samples'].clone())
        undistorted['data_samples'].set_metainfo(dict(photometric_distortion=None))
        assert not np.array_equal(draw_ground_truth(visualizer, undistorted), expected)
