"""Shared models of the weight tests: YOLOv3 at full size (built once) and
a narrow variant with the same layer order."""
import os.path as osp

import pytest
from mmengine.config import Config

from yolo_plugin.apis import build_detector

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
BASE_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 'yolov3_d53.py')
NARROW = 0.125  # channels / 8: 8 ... 128, every layer of yolov3.cfg kept


def model_config(widen_factor: float = 1.0, num_classes: int = 80) -> Config:
    """The base model config, narrowed and with ``num_classes``."""
    cfg = Config.fromfile(BASE_CONFIG)
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg.model[part].widen_factor = widen_factor
    cfg.model.bbox_head.num_classes = num_classes
    return cfg


@pytest.fixture(scope='session')
def full_detector():
    """YOLOv3 at 80 classes, as constructed (shared: 62M parameters)."""
    return build_detector(model_config()).eval()
