"""PhotometricDetDataPreprocessor against mmdet: without distortion the
batch of mmdet's DetDataPreprocessor for the same images (which mmdet's
chain gives it padded by the Pad transform); in training the whole of
mmdet's chain (geometric recipe, PhotoMetricDistortion, Pad, PackDetInputs,
DetDataPreprocessor) for the same seeds: the same batch and ground truth."""
import copy

import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import Pad, PackDetInputs
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS

from tests.datasets.transforms.mmdet_reference import (
    KITTI_RECIPE, fused_transform, mmdet_chain, reference_frames, run_chain)
from yolo_plugin.datasets.transforms.formatting import \
    PackDetInputsChannelsLast
from yolo_plugin.datasets.transforms.photometric import (
    PHOTOMETRIC_PARAMS_KEY, DeferredPhotoMetricDistortion)
from yolo_plugin.models.data_preprocessors import \
    PhotometricDetDataPreprocessor
from yolo_plugin.registry import MODELS

# configs/_base_/models/yolov3_d53.py's preprocessor, and one with every
# normalisation and padding value away from zero.
RECIPE_SETTINGS = dict(
    mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=True,
    pad_size_divisor=32)
OTHER_SETTINGS = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_size_divisor=32, pad_value=3)
SETTINGS = pytest.mark.parametrize('settings',
                                   [RECIPE_SETTINGS, OTHER_SETTINGS],
                                   ids=['recipe', 'other'])
# Largest difference of the tensor path (GPU) from mmdet's batch, in
# normalised units of the recipe (1e-3 of 255 pixel units).
TENSOR_PATH_TOLERANCE = 1e-3 / 255


def geometric_results(seeds) -> list:
    """A batch worth of frames of several sizes after kitti.py's
    geometric recipe, seeded one by one."""
    frames = list(reference_frames().values())
    results = []
    for seed, frame in zip(seeds, frames * len(seeds)):
        np.random.seed(seed)
        results.append(run_chain(mmdet_chain(KITTI_RECIPE), copy.deepcopy(
            frame)))
    return results


def mmdet_batch(samples: list, settings: dict, training: bool) -> dict:
    padded = [Pad(size_divisor=32)(copy.deepcopy(s)) for s in samples]
    data = pseudo_batch([PackDetInputs()(s) for s in padded])
    return DetDataPreprocessor(**settings)(data, training=training)


def our_batch(samples: list, settings: dict, training: bool,
              device: str = 'cpu') -> dict:
    data = pseudo_batch(
        [PackDetInputsChannelsLast()(copy.deepcopy(s)) for s in samples])
    preprocessor = PhotometricDetDataPreprocessor(**settings).to(device)
    return preprocessor(data, training=training)


def pseudo_batch(packed: list) -> dict:
    return dict(inputs=[p['inputs'] for p in packed],
                data_samples=[p['data_samples'] for p in packed])


def assert_same_batch(ours: dict, theirs: dict, atol: float = 0) -> None:
    assert ours['inputs'].is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(ours['inputs'].cpu(), theirs['inputs'],
                               rtol=0, atol=atol)
    for mine, reference in zip(ours['data_samples'], theirs['data_samples']):
        for key in ('batch_input_shape', 'pad_shape'):
            assert mine.metainfo[key] == reference.metainfo[key], key
        for field in ('gt_instances', 'ignored_instances'):
            expected = getattr(reference, field)
            actual = getattr(mine, field)
            assert torch.equal(actual.bboxes.cpu(), expected.bboxes)
            assert torch.equal(actual.labels.cpu(), expected.labels)


@SETTINGS
@pytest.mark.parametrize('training', [False, True])
def test_without_distortion_same_as_mmdet(settings, training):
    """No photometric parameters in the data samples: mmdet's batch,
    training or not."""
    samples = geometric_results(range(7))
    assert_same_batch(
        our_batch(samples, settings, training),
        mmdet_batch(samples, settings, training))


def test_img_shape_stays_the_images_own():
    samples = geometric_results(range(3))
    out = our_batch(samples, RECIPE_SETTINGS, training=True)
    for sample, results in zip(out['data_samples'], samples):
        assert sample.img_shape == results['img_shape']


@SETTINGS
def test_training_chain_same_as_mmdet(settings):
    """Per sample the same seed through mmdet's chain and ours (geometric
    stage, deferred photometric draw, channels-last packing, distortion in
    the preprocessor): the same training batch, on the CPU exactly."""
    photometric = MMDET_TRANSFORMS.build(dict(type='PhotoMetricDistortion'))
    frames = list(reference_frames().values())
    theirs, ours = [], []
    for seed, frame in enumerate(frames * 2):
        np.random.seed(seed)
        theirs.append(photometric(run_chain(mmdet_chain(KITTI_RECIPE),
                                            copy.deepcopy(frame))))
        np.random.seed(seed)
        ours.append(DeferredPhotoMetricDistortion()(
            fused_transform(KITTI_RECIPE)(copy.deepcopy(frame))))
    expected = mmdet_batch(theirs, settings, training=True)
    assert_same_batch(our_batch(ours, settings, training=True), expected)
    if torch.cuda.is_available():
        atol = TENSOR_PATH_TOLERANCE * max(settings['std'])
        assert_same_batch(
            our_batch(ours, settings, training=True, device='cuda'),
            expected, atol=atol)
    # Outside training the parameters are ignored.
    undistorted = our_batch(ours, settings, training=False)
    assert not torch.equal(undistorted['inputs'], expected['inputs'])


def test_some_samples_without_parameters_is_an_error():
    samples = geometric_results(range(2))
    samples[0] = DeferredPhotoMetricDistortion()(samples[0])
    with pytest.raises(KeyError) as error:
        our_batch(samples, RECIPE_SETTINGS, training=True)
    assert error.value.args[0] == (
        f"PhotometricDetDataPreprocessor: {PHOTOMETRIC_PARAMS_KEY!r} is in the metainfo of "
        'some data samples of the batch but not all; every training pipeline needs '
        'DeferredPhotoMetricDistortion, or none')


def test_inputs_must_be_a_list():
    preprocessor = PhotometricDetDataPreprocessor(**RECIPE_SETTINGS)
    with pytest.raises(TypeError) as error:
        preprocessor(dict(inputs=torch.zeros(1, 3, 32, 32)), training=True)
    assert str(error.value) == (
        "PhotometricDetDataPreprocessor: data['inputs'] must be a list of (C, H, W) tensors "
        "(pseudo_collate), got <class 'torch.Tensor'>")


def test_one_image_and_no_data_samples():
    """A batch of one image, and inputs without data samples (as at
    inference on bare images): mmdet's batch, ``data_samples`` None."""
    (sample, ) = geometric_results([4])
    assert_same_batch(our_batch([sample], RECIPE_SETTINGS, training=True),
                      mmdet_batch([sample], RECIPE_SETTINGS, training=True))
    image = PackDetInputsChannelsLast()(copy.deepcopy(sample))['inputs']
    ours = PhotometricDetDataPreprocessor(**RECIPE_SETTINGS)(dict(inputs=[image]))
    padded = Pad(size_divisor=32)(copy.deepcopy(sample))
    theirs = DetDataPreprocessor(**RECIPE_SETTINGS)(
        dict(inputs=[PackDetInputs()(padded)['inputs']]))
    assert ours.keys() == theirs.keys() == {'inputs', 'data_samples'}
    assert ours['data_samples'] is None is theirs['data_samples']
    torch.testing.assert_close(ours['inputs'], theirs['inputs'], rtol=0, atol=0)


def test_registered_under_a_name_of_its_own():
    assert MODELS.get('PhotometricDetDataPreprocessor') is \
        PhotometricDetDataPreprocessor
    mmdet_names = {name.lower() for name in MMDET_MODELS.module_dict}
    assert 'photometricdetdatapreprocessor' not in mmdet_names
    mmdet_transforms = {n.lower() for n in MMDET_TRANSFORMS.module_dict}
    for name in ('RandomExpandCropResizeFlip', 'DeferredPhotoMetricDistortion',
                 'PackDetInputsChannelsLast'):
        assert name.lower() not in mmdet_transforms
