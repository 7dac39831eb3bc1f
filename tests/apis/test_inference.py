"""Inference helpers: image listing and the classes of a model (the
pipeline and detections: test_mmdet_apis.py)."""
import pytest
from mmengine.config import Config

from yolo_plugin.apis.inference import dataset_meta_of, list_images


def test_list_images(tmp_path):
    (tmp_path / 'sub').mkdir()
    for name in ('b.png', 'a.JPG', 'sub/c.jpeg', 'notes.txt'):
        (tmp_path / name).write_bytes(b'')
    expected = [str(tmp_path / n) for n in ('a.JPG', 'b.png', 'sub/c.jpeg')]
    assert list_images(str(tmp_path)) == expected
    assert list_images(str(tmp_path / 'b.png')) == [str(tmp_path / 'b.png')]
    with pytest.raises(FileNotFoundError, match='no such image or folder'):
        list_images(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_images(str(tmp_path / 'empty'))


def test_classes_from_the_checkpoint_else_the_config():
    cfg = Config.fromfile('configs/yolov3_cityscapes.py')
    saved = dict(meta=dict(dataset_meta=dict(CLASSES=('a', 'b'))))
    assert dataset_meta_of(cfg, saved) == dict(classes=('a', 'b'))
    # weights without meta (converted ones): the test dataset's classes
    assert dataset_meta_of(cfg, {})['classes'] == (
        'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
    cfg.test_dataloader.dataset.metainfo = dict(classes=('car', ))
    assert dataset_meta_of(cfg, {})['classes'] == ('car', )
