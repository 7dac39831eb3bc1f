"""Demo data sets (from tests/conftest.py) as datasets without pipeline,
and the ``yolo_plugin`` scope for building metrics by name."""
import pytest
from mmengine.registry import init_default_scope

from yolo_plugin.datasets import CityscapesGtFineDataset, KittiDataset


@pytest.fixture(scope='session', autouse=True)
def yolo_plugin_scope():
    init_default_scope('yolo_plugin')


@pytest.fixture(scope='session')
def kitti_trainval(demo_kitti_root):
    """All 12 labelled demo KITTI frames."""
    return KittiDataset(
        data_root=demo_kitti_root,
        split='trainval',
        test_mode=True,
        pipeline=[])


@pytest.fixture(scope='session')
def cityscapes_val(demo_cityscapes_root):
    return CityscapesGtFineDataset(
        data_root=demo_cityscapes_root,
        split='val',
        test_mode=True,
        pipeline=[])
