"""Packing a split of a config: the pack holds the samples the raw files
give, and pre-resized packs are refused for evaluation splits."""
from pathlib import Path

import pytest
from mmengine.config import Config

from tests.datasets.test_packed_dataset import assert_same_samples
from yolo_plugin.apis.packing import pack_split
from yolo_plugin.datasets import CityscapesGtFineDataset

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets'


def test_pack_split_from_a_config(demo_cityscapes_root, tmp_path):
    cfg = Config.fromfile(str(CONFIGS / 'cityscapes.py'))
    for split in ('train', 'val'):
        cfg[f'{split}_dataloader']['dataset']['data_root'] = (
            demo_cityscapes_root)
    with pytest.raises(ValueError, match='serve training only'):
        pack_split(cfg, 'val', str(tmp_path / 'v.pack'), resize=(64, 32))
    out = str(tmp_path / 'val.pack')
    assert pack_split(cfg, 'val', out, show_progress=False) == out
    cfg.val_dataloader.dataset.packed_file = out
    packed = CityscapesGtFineDataset(**{
        k: v
        for k, v in cfg.val_dataloader.dataset.items() if k != 'type'
    })
    raw = CityscapesGtFineDataset(**{
        k: v
        for k, v in cfg.val_dataloader.dataset.items()
        if k not in ('type', 'packed_file')
    })
    assert_same_samples(raw, packed)
