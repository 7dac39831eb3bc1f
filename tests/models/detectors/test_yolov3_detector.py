"""The whole YOLOv3 built from the config through the registries: shapes at
several input sizes, gradient flow, and learning one image."""
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from yolo_plugin.models.backbones import Darknet53
from yolo_plugin.models.dense_heads import YOLOAnchorHead
from yolo_plugin.models.necks import YOLOFPNNeck

BASE = 'configs/_base_/models/yolov3_d53.py'


def build(widen_factor=1.0, deepen_factor=1.0, num_classes=80, **head_overrides):
    """The detector of the base config, optionally narrowed / shortened."""
    cfg = Config.fromfile(BASE)
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg.model[part]['widen_factor'] = widen_factor
    cfg.model.backbone.deepen_factor = deepen_factor
    cfg.model.bbox_head.num_classes = num_classes
    cfg.model.bbox_head.update(head_overrides)
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        model = ROOT_MODELS.build(cfg.model)
    model.init_weights()
    return model


def sample(height, width, boxes, labels):
    data = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                       pad_shape=(height, width),
                                       batch_input_shape=(height, width),
                                       scale_factor=(1.0, 1.0)))
    data.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                     labels=torch.tensor(labels))
    data.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
    return data


@pytest.fixture(scope='module')
def model():
    return build().eval()


def test_built_from_config_with_default_scope(model):
    assert isinstance(model.backbone, Darknet53)
    assert isinstance(model.neck, YOLOFPNNeck)
    assert isinstance(model.bbox_head, YOLOAnchorHead)
    # The base config's preprocessor: mmdet's DetDataPreprocessor plus the
    # batched photometric distortion of the fast pipeline.
    assert type(model.data_preprocessor).__name__ == 'PhotometricDetDataPreprocessor'
    assert isinstance(model.data_preprocessor, DetDataPreprocessor)
    assert sum(p.numel() for p in model.parameters()) == 61949149


@pytest.mark.parametrize('height, width', [(320, 320), (416, 416), (608, 608), (384, 640)])
def test_module_shapes(model, height, width):
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, height, width))
        assert [tuple(f.shape[1:]) for f in feats] == [
            (c, height // s, width // s) for c, s in ((256, 8), (512, 16), (1024, 32))]
        necks = model.neck(feats)
        assert [tuple(f.shape[1:]) for f in necks] == [
            (c, height // s, width // s) for c, s in ((512, 32), (256, 16), (128, 8))]
        (maps, ) = model.bbox_head(necks)
    assert [tuple(m.shape[1:]) for m in maps] == [
        (255, height // s, width // s) for s in (32, 16, 8)]


def test_gradient_reaches_every_parameter():
    model = build().train()
    anchors = [a for level in model.bbox_head.prior_generator.base_anchors.tolist()
               for a in level]
    # One box the size of each of the nine anchors, so every anchor row of
    # every prediction conv gets box gradients.
    boxes = [[208 - w / 2, 208 - h / 2, 208 + w / 2, 208 + h / 2] for w, h in anchors]
    data = sample(416, 416, boxes, list(range(9)))
    losses = model.loss(torch.rand(1, 3, 416, 416), [data])
    model.parse_losses(losses)[0].backward()
    missing = [name for name, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert missing == []


@pytest.mark.parametrize('head_cfg', [{}, dict(
    bbox_coder=dict(type='YOLOBoxCoder', variant='v5'), loss_xy=None, loss_wh=None,
    loss_box=dict(type='YOLOIoULoss', mode='ciou', loss_weight=5.0), obj_target='iou')],
                         ids=['v3', 'v5'])
def test_loss_falls_when_overfitting_one_image(head_cfg):
    torch.manual_seed(0)
    model = build(widen_factor=0.25, deepen_factor=0.33, num_classes=3, **head_cfg).train()
    image = torch.rand(2, 3, 96, 160)
    boxes, labels = [[10., 20., 50., 90.], [70., 30., 150., 80.]], [1, 0]
    batch = [sample(96, 160, boxes, labels) for _ in range(2)]
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(40):
        losses = model.loss(image, batch)
        loss = model.parse_losses(losses)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.25 * history[0]
    assert all(torch.isfinite(torch.tensor(history)))
