"""Session-wide fixtures shared by every test folder: small synthetic demo
data sets in the raw KITTI and Cityscapes layouts, made once per session."""
import pytest

from yolo_plugin.datasets.synthetic import make_demo_cityscapes, make_demo_kitti


@pytest.fixture(scope='session')
def demo_kitti_root(tmp_path_factory) -> str:
    """A KITTI-layout demo set: 8 train + 4 val frames (621 x 188) listed
    in ImageSets/{train,val,trainval}.txt, 2 unlabelled testing frames in
    ImageSets/test.txt. Read-only for tests."""
    root = tmp_path_factory.mktemp('demo') / 'kitti'
    return make_demo_kitti(
        str(root), num_train=8, num_val=4, num_test=2, seed=0)


@pytest.fixture(scope='session')
def demo_cityscapes_root(tmp_path_factory) -> str:
    """A Cityscapes-layout demo set: 8 train + 4 val images (512 x 256)
    with gtFine polygon files, 2 unlabelled test images. Read-only."""
    root = tmp_path_factory.mktemp('demo') / 'cityscapes'
    return make_demo_cityscapes(
        str(root), num_train=8, num_val=4, num_test=2, seed=0)
