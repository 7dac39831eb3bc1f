"""tools/kmeans_anchors.py on the demo data: anchors of the boxes at the
config's input scale, in config form, checked as a converged k-means with
the 1 - IoU distance."""
import re
import runpy
import sys

import numpy as np
import pytest
from mmengine.config import Config

from yolo_plugin.apis import build_split_dataset

CONFIG = 'configs/yolov3_s_kitti_demo.py'


def _centred_iou(wh, anchors):
    """``(N, K)`` IoU of boxes ``(N, 2)`` and anchors ``(K, 2)`` (w, h)
    sharing one centre."""
    inter = (np.minimum(wh[:, None, 0], anchors[None, :, 0]) *
             np.minimum(wh[:, None, 1], anchors[None, :, 1]))
    areas = wh[:, 0] * wh[:, 1]
    anchor_areas = anchors[:, 0] * anchors[:, 1]
    return inter / (areas[:, None] + anchor_areas[None] - inter)


def test_kmeans_anchors_tool(demo_kitti_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'anchors.py'
    monkeypatch.setattr(sys, 'argv', [
        'tools/kmeans_anchors.py', CONFIG, '--num-anchors', '6', '--num-levels', '3',
        '--out', str(out),
        '--cfg-options', f'train_dataloader.dataset.data_root={demo_kitti_root}/'])
    runpy.run_path('tools/kmeans_anchors.py', run_name='__main__')
    text = out.read_text()
    assert capsys.readouterr().out == text
    anchors = Config.fromfile(str(out)).anchors
    assert [len(level) for level in anchors] == [2, 2, 2]
    # The labelled boxes of the train split scaled by the fit of the
    # 621 x 188 frames into the demo's input scale.
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.data_root = f'{demo_kitti_root}/'
    dataset = build_split_dataset(cfg, 'train', pipeline=[])
    boxes = np.array([inst['bbox'] for i in range(len(dataset))
                      for inst in dataset.get_data_info(i)['instances']
                      if inst['ignore_flag'] == 0])
    width, height = cfg.img_scale
    wh = (boxes[:, 2:] - boxes[:, :2]) * min(width / 621, height / 188)
    assert f'anchors of {len(wh)} boxes' in text
    # Smallest level (stride 8) last in the config: reversed, by increasing area.
    flat = np.array([a for level in anchors[::-1] for a in level], dtype=np.float64)
    assert (np.diff(flat.prod(1)) > 0).all()
    # Converged: every anchor is the mean size of the boxes nearest to it
    # (highest IoU), up to the rounding to whole pixels.
    iou = _centred_iou(wh, flat)
    nearest = iou.argmax(1)
    means = np.array([wh[nearest == k].mean(0) for k in range(len(flat))])
    np.testing.assert_allclose(flat, means, rtol=0, atol=0.5)
    # The printed mean best IoU (3 decimals, of the unrounded anchors; the
    # rounding moves it by 6e-4 here).
    printed = float(re.search(r'mean best IoU (\d\.\d+)\.', text).group(1))
    assert printed == pytest.approx(iou.max(1).mean(), abs=0.002)
    assert printed > 0.5
