"""Demo helpers: the data set is made once and remade when its counts or
seed change; the summary states the target. (The whole demo pipeline runs
in tests/tools/test_train.py.)"""
import json
import os.path as osp

from yolo_plugin.apis.demo import (MAP_KEY, DemoResult, DemoSettings, demo_config,
                                   ensure_demo_data, val_images)
from yolo_plugin.datasets.synthetic import MARKER_FILE


def test_demo_data_made_once_and_remade_on_change(tmp_path):
    root = str(tmp_path / 'kitti')
    assert ensure_demo_data(root, num_train=2, num_val=1, seed=0) is True
    assert ensure_demo_data(root, num_train=2, num_val=1, seed=0) is False
    assert ensure_demo_data(root, num_train=3, num_val=1, seed=0) is True
    with open(osp.join(root, MARKER_FILE)) as f:
        assert json.load(f)['num_train'] == 3
    assert val_images(root, 5) == [osp.join(root, 'training', 'image_2', '000003.png')]


def test_demo_config_points_at_the_settings():
    cfg = demo_config(DemoSettings(data_root='somewhere/kitti', work_dir='w',
                                   cfg_options={'train_cfg.max_epochs': 1}))
    assert cfg.work_dir == 'w' and cfg.train_cfg.max_epochs == 1
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == 'somewhere/kitti/'


def test_summary_and_target():
    result = DemoResult({MAP_KEY: 61.25, 'coco/bbox_mAP': 0.41}, 300.0, {'curves': 'c.png'})
    assert result.target_met
    text = result.summary()
    assert '61.25 %' in text and 'reached' in text and '5.0 min' in text and 'c.png' in text
    assert not DemoResult({MAP_KEY: 49.9}, 1.0).target_met
    assert 'NOT reached' in DemoResult({}, 1.0).summary()
