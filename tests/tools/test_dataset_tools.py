"""tools/make_demo_data.py, pack_dataset.py and browse_dataset.py, run as
scripts in-process."""
import os
import os.path as osp
import runpy
import sys
from pathlib import Path

import mmcv

from yolo_plugin.datasets import KittiDataset, PackedImageFile

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
