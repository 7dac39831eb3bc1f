"""Demo data sets (from tests/conftest.py) as datasets without pipeline,
and the ``yolo_plugin`` scope for building metrics by name."""
import pytest

from yolo_plugin.datasets import CityscapesDataset, KittiDataset
from yolo_plugin.utils.setup_env import register_all_modules


@pytest.fixture(scope='session', autouse=True)
def yolo_plugin_scope():
    register_all_modules()


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
    return CityscapesDataset(
        data_root=demo_cityscapes_root,
        split='val',
        test_mode=True,
        pipeline=[])
