"""One config loader with overrides, and the data set configs inside
dataset wrappers."""
import pytest
from mmengine.config import Config

from yolo_plugin.apis import load_config, split_dataset_cfg
from yolo_plugin.apis.config import dataset_cfgs

DEMO = 'configs/yolov3_s_kitti_demo.py'


def test_missing_config_named():
    with pytest.raises(FileNotFoundError, match='configs/nope.py'):
        load_config('configs/nope.py')


def test_overrides_merge_into_a_file_or_a_config():
    cfg = load_config(DEMO, {'train_cfg.max_epochs': 3})
    assert cfg.train_cfg.max_epochs == 3
    assert load_config(cfg, {'train_cfg.max_epochs': 4}) is cfg and cfg.train_cfg.max_epochs == 4


def test_wrapped_data_sets_are_found_by_key():
    cfg = load_config(DEMO)
    kitti = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=kitti)
    assert split_dataset_cfg(cfg, 'train') == kitti
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=dict(type='ConcatDataset', datasets=[kitti, kitti]))
    assert [path for path, _ in dataset_cfgs(cfg.train_dataloader.dataset, 'd')] == [
        'd.dataset.datasets[0]', 'd.dataset.datasets[1]']
    with pytest.raises(ValueError, match='concatenates several data sets'):
        split_dataset_cfg(cfg, 'train')
    with pytest.raises(KeyError, match='has no test_dataloader'):
        split_dataset_cfg(Config(dict(train_dataloader=cfg.train_dataloader)), 'test')
