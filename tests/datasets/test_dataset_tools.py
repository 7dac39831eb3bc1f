"""tools/make_demo_data.py, pack_dataset.py and browse_dataset.py, run as
scripts in-process, and the drawing of ignored boxes."""
import os
import os.path as osp
import runpy
import sys
from pathlib import Path

import mmcv
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from yolo_plugin.datasets import KittiDataset, PackedImageFile
from yolo_plugin.datasets.browse import IGNORED_COLOUR, draw_ground_truth

REPO = Path(__file__).parents[2]
KITTI_CONFIG = str(REPO / 'configs/_base_/datasets/kitti.py')


def run_tool(name, *args, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [name, *args])
    runpy.run_path(str(REPO / 'tools' / name), run_name='__main__')


def test_make_demo_data_then_pack_then_browse(tmp_path, monkeypatch):
    run_tool('make_demo_data.py', '--out', str(tmp_path), '--format',
             'kitti', '--num-train', '3', '--num-val', '2', '--seed', '5',
             monkeypatch=monkeypatch)
    root = str(tmp_path / 'kitti')
    assert len(KittiDataset(data_root=root, split='train')) == 3
    assert len(KittiDataset(data_root=root, split='val')) == 2

    data_root = f'train_dataloader.dataset.data_root={root}'
    run_tool('pack_dataset.py', KITTI_CONFIG, '--split', 'train',
             '--resize', '320', '96', '--cfg-options', data_root,
             monkeypatch=monkeypatch)
    pack = PackedImageFile(osp.join(root, 'packed', 'train_320x96.pack'))
    assert pack.resize == [320, 96] and len(pack.samples) == 3

    out_dir = str(tmp_path / 'browse')
    run_tool('browse_dataset.py', KITTI_CONFIG, '--out-dir', out_dir,
             '--max-images', '2', '--cfg-options', data_root,
             monkeypatch=monkeypatch)
    assert sorted(os.listdir(out_dir)) == ['000000.png', '000001.png']
    assert mmcv.imread(osp.join(out_dir, '000000.png')).ndim == 3


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
