"""DeferredPhotoMetricDistortion draws mmdet PhotoMetricDistortion's
parameters: for the same numpy seed, the same values, as effective values
(an off step gets its identity value)."""
import numpy as np
from mmdet.datasets.transforms import PhotoMetricDistortion

from yolo_plugin.datasets.transforms.photometric import (
    PHOTOMETRIC_PARAMS_KEY, DeferredPhotoMetricDistortion)

from .mmdet_reference import photometric_params

SETTINGS = dict(
    brightness_delta=20,
    contrast_range=(0.7, 1.2),
    saturation_range=(0.6, 1.8),
    hue_delta=10)


def test_same_draws_as_mmdet():
    for settings in ({}, SETTINGS):
        theirs = PhotoMetricDistortion(**settings)
        ours = DeferredPhotoMetricDistortion(**settings)
        for seed in range(200):
            np.random.seed(seed)
            expected = photometric_params(theirs._random_flags())
            after_theirs = np.random.random_sample()
            np.random.seed(seed)
            results = ours(dict(img=np.zeros((2, 2, 3), np.uint8)))
            assert np.random.random_sample() == after_theirs
            assert results[PHOTOMETRIC_PARAMS_KEY] == expected, seed


def test_image_untouched_and_types_plain():
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    results = DeferredPhotoMetricDistortion()(dict(img=img))
    assert results['img'] is img
    params = results[PHOTOMETRIC_PARAMS_KEY]
    assert type(params['contrast_first']) is bool
    assert all(type(c) is int for c in params['channel_order'])


def test_repr_names_the_class_and_settings():
    assert repr(DeferredPhotoMetricDistortion(**SETTINGS)) == (
        'DeferredPhotoMetricDistortion(brightness_delta=20, contrast_range=(0.7, 1.2), '
        'saturation_range=(0.6, 1.8), hue_delta=10)')
