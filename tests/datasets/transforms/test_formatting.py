"""PackDetInputsChannelsLast: mmdet's PackDetInputs' data sample, and the
image as a channels-last view of the HWC array (no copy), also after a
DataLoader worker sent it to the main process."""
import copy

import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from yolo_plugin.datasets.transforms.formatting import \
    PackDetInputsChannelsLast
from yolo_plugin.datasets.transforms.photometric import (
    PHOTOMETRIC_PARAMS_KEY, DeferredPhotoMetricDistortion)
from .mmdet_reference import (KITTI_RECIPE, fused_transform,
                              reference_frames)


@pytest.fixture(scope='module')
def augmented() -> dict:
    """The KITTI frame after kitti.py's geometric recipe (ignored regions
    among the boxes) and the deferred photometric draw."""
    np.random.seed(4)
    results = fused_transform(KITTI_RECIPE)(reference_frames()['kitti'])
    assert results['gt_ignore_flags'].any() and \
        not results['gt_ignore_flags'].all()
    return DeferredPhotoMetricDistortion()(results)


def test_same_data_sample_as_mmdet(augmented):
    theirs = PackDetInputs()(copy.deepcopy(augmented))
    ours = PackDetInputsChannelsLast()(copy.deepcopy(augmented))
    assert torch.equal(ours['inputs'], theirs['inputs'])
    for field in ('gt_instances', 'ignored_instances'):
        expected = getattr(theirs['data_samples'], field)
        actual = getattr(ours['data_samples'], field)
        assert torch.equal(actual.bboxes.tensor, expected.bboxes.tensor)
        assert torch.equal(actual.labels, expected.labels)
    metainfo = ours['data_samples'].metainfo
    assert metainfo.pop(PHOTOMETRIC_PARAMS_KEY) == augmented[
        PHOTOMETRIC_PARAMS_KEY]
    assert metainfo == theirs['data_samples'].metainfo


def test_inputs_are_a_channels_last_view(augmented):
    img = augmented['img']
    inputs = PackDetInputsChannelsLast()(dict(img=img))['inputs']
    height, width = img.shape[:2]
    assert inputs.shape == (3, height, width)
    assert inputs.stride() == (1, 3 * width, 3)
    assert inputs.data_ptr() == img.__array_interface__['data'][0]
    assert inputs[None].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('make_awkward', [
    lambda img: np.lib.stride_tricks.as_strided(
        img, strides=img.strides, writeable=False),
    lambda img: img[:, ::-1],
    np.asfortranarray,
], ids=['read-only', 'negative strides', 'Fortran order'])
def test_copies_what_torch_cannot_view(augmented, make_awkward):
    img = make_awkward(augmented['img'])
    inputs = PackDetInputsChannelsLast()(dict(img=img))['inputs']
    assert torch.equal(inputs, torch.from_numpy(img.copy()).permute(2, 0, 1))
    assert not np.shares_memory(inputs.numpy(), augmented['img'])
    height, width, channels = img.shape
    assert inputs.stride() == (1, width * channels, channels)


def test_grey_image_gets_one_channel():
    img = np.arange(35, dtype=np.uint8).reshape(5, 7)
    inputs = PackDetInputsChannelsLast()(dict(img=img))['inputs']
    assert inputs.shape == (1, 5, 7) and torch.equal(inputs[0], torch.from_numpy(img))
    assert np.shares_memory(inputs.numpy(), img)


def test_mmdet_packs_everything_but_the_image(augmented, monkeypatch):
    """The image never reaches mmdet's PackDetInputs (whose CHW copy is
    what this transform saves)."""
    seen = []
    pack = PackDetInputs.transform
    monkeypatch.setattr(PackDetInputs, 'transform',
                        lambda self, results: seen.append(set(results)) or pack(self, results))
    PackDetInputsChannelsLast()(copy.deepcopy(augmented))
    assert seen == [set(augmented) - {'img'}]


class PackedImages(torch.utils.data.Dataset):
    """``count`` packed images (7 x 5 px, channel c of image i = 10 i + c)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        img = (10 * index + np.arange(3, dtype=np.uint8)) * np.ones(
            (5, 7, 1), np.uint8)
        return PackDetInputsChannelsLast()(dict(img=img))


def test_views_survive_a_dataloader_worker():
    loader = DataLoader(
        PackedImages(4), batch_size=2, num_workers=1,
        collate_fn=pseudo_collate)
    images = [img for batch in loader for img in batch['inputs']]
    for index, img in enumerate(images):
        assert img.stride() == (1, 21, 3)
        assert img[:, 2, 3].tolist() == [10 * index, 10 * index + 1,
                                         10 * index + 2]
