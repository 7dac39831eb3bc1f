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


def test_an_mmdet_detector_loads_with_conv_and_bn_folded(tmp_path):
    """mmdet's own YOLOv3 config and weights: load_detector folds every
    BatchNorm into its conv (mmcv's fusion) and predicts as the unfused
    model does."""
    import os.path as osp

    import mmdet
    import torch
    from mmengine.registry import init_default_scope
    from torch.nn.modules.batchnorm import _BatchNorm

    from yolo_plugin.apis import load_detector
    from yolo_plugin.registry import MODELS

    config = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'yolo',
                      'yolov3_d53_8xb8-320-273e_coco.py')
    init_default_scope('mmdet')
    torch.manual_seed(0)
    reference = MODELS.build(Config.fromfile(config).model)
    for module in reference.modules():  # BN statistics of a trained model
        if isinstance(module, _BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    torch.save(dict(state_dict=reference.state_dict()), tmp_path / 'mmdet_yolov3.pth')
    model = load_detector(config, str(tmp_path / 'mmdet_yolov3.pth'))
    assert type(model).__name__ == 'YOLOV3'
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    inputs = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        ours, theirs = model(inputs, mode='tensor'), reference.eval()(inputs, mode='tensor')
    for our_maps, their_maps in zip(ours, theirs):
        for our_map, their_map in zip(our_maps, their_maps):
            # 75 folded layers reorder the float arithmetic (outputs up to ~600
            # here differ by ~2e-3): within 1e-5 of the map's scale
            scale = their_map.abs().max().item()
            torch.testing.assert_close(our_map, their_map, rtol=0, atol=1e-5 * scale)
