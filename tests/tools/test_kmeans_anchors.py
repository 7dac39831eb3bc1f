"""tools/kmeans_anchors.py on the demo data: anchors of the boxes at the
config's input scale, in config form."""
import runpy
import sys

import numpy as np
from mmengine.config import Config

from yolo_plugin.datasets.builder import build_split_dataset
from yolo_plugin.utils.anchors import kmeans_anchors, wh_iou

CONFIG = 'configs/yolov3_s_kitti_demo.py'


def test_kmeans_anchors_tool(demo_kitti_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'anchors.py'
    monkeypatch.setattr(sys, 'argv', [
        'tools/kmeans_anchors.py', CONFIG, '--num-anchors', '6', '--num-levels', '3',
        '--out', str(out),
        '--cfg-options', f'train_dataloader.dataset.data_root={demo_kitti_root}/'])
    runpy.run_path('tools/kmeans_anchors.py', run_name='__main__')
    assert capsys.readouterr().out == out.read_text()
    anchors = Config.fromfile(str(out)).anchors
    assert [len(level) for level in anchors] == [2, 2, 2]
    # Independent reference: the labelled boxes of the train split scaled by
    # the fit of the 621 x 188 frames into the demo's input scale.
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.data_root = f'{demo_kitti_root}/'
    dataset = build_split_dataset(cfg, 'train', pipeline=[])
    boxes = np.array([inst['bbox'] for i in range(len(dataset))
                      for inst in dataset.get_data_info(i)['instances']
                      if inst['ignore_flag'] == 0])
    width, height = cfg.img_scale
    wh = (boxes[:, 2:] - boxes[:, :2]) * min(width / 621, height / 188)
    expected = kmeans_anchors(wh, 6, seed=0).anchors
    flat = np.array([a for level in anchors[::-1] for a in level])
    np.testing.assert_allclose(flat, expected, atol=0.5)
    assert f'anchors of {len(wh)} boxes' in out.read_text()
    mean_iou = wh_iou(wh, flat).max(1).mean()
    assert mean_iou > 0.5
