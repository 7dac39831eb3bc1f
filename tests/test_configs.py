"""Every config builds: its model runs a loss and a prediction on a tiny
batch; its pipelines (train, test, TTA), optimizer and schedulers build.
The networks are narrowed (``widen_factor`` 1/8, a third of the blocks) to
keep this fast; every other model setting is the config's. The full-size
network is built once on its own."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from yolo_plugin.apis.testing import tta_pipeline_from_test
from yolo_plugin.registry import MODELS, PARAM_SCHEDULERS

CONFIGS = sorted(p for p in glob.glob('configs/**/*.py', recursive=True)
                 if '_base_' not in p)


def tiny_batch(num_classes: int, height: int = 64, width: int = 96) -> dict:
    """Two images with two ground truths and one ignored region each."""
    samples = []
    for i in range(2):
        sample = DetDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width), scale_factor=(1.0, 1.0),
            pad_shape=(height, width)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 6., 40., 30.], [50., 10., 90., 60.]]),
            labels=torch.tensor([0, (i + 1) % num_classes]))
        sample.ignored_instances = InstanceData(bboxes=torch.tensor([[60., 2., 70., 12.]]))
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, height, width), dtype=torch.uint8) for _ in range(2)]
    return dict(inputs=inputs, data_samples=samples)


def narrowed(model_cfg):
    """The model config at 1/8 of its width and a third of its depth."""
    model_cfg = model_cfg.copy()
    for part in ('backbone', 'neck', 'bbox_head'):
        model_cfg[part] = dict(model_cfg[part], widen_factor=0.125)
    model_cfg.backbone.deepen_factor = 0.33
    return model_cfg


def build_schedule(cfg, model) -> None:
    """The optimizer wrapper and parameter schedulers of the config, as the
    Runner builds them (10 iterations an epoch), stepped once."""
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    for scheduler_cfg in cfg.param_scheduler:
        scheduler_cfg = dict(scheduler_cfg)
        scheduler_type = PARAM_SCHEDULERS.get(scheduler_cfg.pop('type'))
        if scheduler_cfg.pop('convert_to_iter_based', False):
            scheduler = scheduler_type.build_iter_from_epoch(
                optim_wrapper, **scheduler_cfg, epoch_length=10)
        else:
            scheduler = scheduler_type(optim_wrapper, **scheduler_cfg)
        optim_wrapper.step()
        scheduler.step()
    assert optim_wrapper.get_lr()['lr'][0] > 0


def test_full_size_yolov3_builds():
    """Darknet-53 YOLOv3 at full size: 61,949,149 parameters with COCO's 80
    classes (the count ultralytics' and mmdet's YOLOv3 report), less the
    output channels of the 77 classes fewer."""
    cfg = Config.fromfile('configs/yolov3_kitti.py')
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    num_params = sum(p.numel() for p in model.parameters())
    # each of the 3 x 77 dropped outputs a level had C_l weights and a bias
    dropped = 3 * 77 * sum(c + 1 for c in model.bbox_head.out_channels)
    assert num_params == 61949149 - dropped
    with torch.no_grad():
        maps, = model.eval()(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert [m.shape[1:] for m in maps] == [(24, 2, 2), (24, 4, 4), (24, 8, 8)]


def test_every_leaf_config_is_listed():
    names = {osp.relpath(p, 'configs') for p in CONFIGS}
    assert {'yolov3_kitti.py', 'yolov3_cityscapes.py', 'yolov3_s_kitti_demo.py',
            'ablations/yolov3_kitti_v5_loss.py', 'ablations/yolov3_kitti_608.py'} <= names


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'yolo_plugin'
    assert cfg.custom_imports == dict(imports=['yolo_plugin'], allow_failed_imports=False)
    init_default_scope(cfg.default_scope)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        Compose(cfg[key].dataset.pipeline)
    Compose(cfg.get('tta_pipeline') or tta_pipeline_from_test(
        cfg.test_dataloader.dataset.pipeline, cfg.tta_scale_ratios))
    assert MODELS.get(cfg.tta_model.type) is not None
    torch.manual_seed(0)
    model = MODELS.build(narrowed(cfg.model))
    num_classes = cfg.model.bbox_head.num_classes
    model.train()
    data = model.data_preprocessor(tiny_batch(num_classes), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    build_schedule(cfg, model)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(tiny_batch(num_classes), False)
        results = model(**data, mode='predict')
    assert len(results) == 2
    for result in results:
        pred = result.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels)
        assert ((pred.labels >= 0) & (pred.labels < num_classes)).all()
