"""mmdet's PhotoMetricDistortion split in two: the draws stay in the data
pipeline (numpy's global random state, as mmdet's, so a seed gives mmdet's
parameters), the pixel work moves to the data preprocessor, which applies
it to the whole batch on the model's device
(``PhotometricDetDataPreprocessor``)."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from yolo_plugin.registry import TRANSFORMS

# The results key, and data sample meta key, of the drawn parameters.
PHOTOMETRIC_PARAMS_KEY = 'photometric_distortion'


@TRANSFORMS.register_module()
class DeferredPhotoMetricDistortion(BaseTransform):
    """Draw mmdet ``PhotoMetricDistortion``'s random parameters (same
    arguments, defaults, numpy calls and order) and leave the image as it
    is; ``PhotometricDetDataPreprocessor`` applies them in training.

    Added key ``photometric_distortion``, a dict of the effective values
    (each step is on with probability 0.5; an off step gets its identity
    value, which leaves mmdet's float32 arithmetic unchanged):

    - ``brightness_delta``: added to every channel (0.0 when off).
    - ``contrast_factor``: multiplies every channel (1.0 when off).
    - ``contrast_first``: contrast before the HSV steps, else after.
    - ``saturation_factor``: multiplies HSV saturation (1.0 when off);
      above 1 the saturation is then clipped to [0, 1], as mmdet does.
    - ``hue_shift``: degrees added to the hue (0.0 when off).
    - ``channel_order``: the output's channels as indices of the input's
      ((0, 1, 2) when off).

    ``PackDetInputsChannelsLast`` carries the key into the data sample's
    metainfo by default (add it to ``meta_keys`` of mmdet's PackDetInputs).

    Args:
        brightness_delta: brightness delta drawn in [-delta, delta].
        contrast_range: contrast factor range.
        saturation_range: saturation factor range.
        hue_delta: hue shift drawn in [-delta, delta] degrees.
    """

    def __init__(self,
                 brightness_delta: float = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: float = 18) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_range = tuple(contrast_range)
        self.saturation_range = tuple(saturation_range)
        self.hue_delta = hue_delta

    def transform(self, results: dict) -> dict:
        results[PHOTOMETRIC_PARAMS_KEY] = self.sample_params()
        return results

    def sample_params(self) -> dict:
        """The parameters of one image (keys as the class says)."""
        contrast_mode = np.random.randint(2)
        brightness_on, contrast_on, saturation_on, hue_on, swap_on = (
            np.random.randint(2) for _ in range(5))
        brightness = np.random.uniform(-self.brightness_delta,
                                       self.brightness_delta)
        contrast = np.random.uniform(*self.contrast_range)
        saturation = np.random.uniform(*self.saturation_range)
        hue = np.random.uniform(-self.hue_delta, self.hue_delta)
        channel_order = np.random.permutation(3)
        return dict(
            brightness_delta=brightness if brightness_on else 0.0,
            contrast_factor=contrast if contrast_on else 1.0,
            contrast_first=bool(contrast_mode == 1),
            saturation_factor=saturation if saturation_on else 1.0,
            hue_shift=hue if hue_on else 0.0,
            channel_order=tuple(int(c) for c in channel_order)
            if swap_on else (0, 1, 2))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}('
                f'brightness_delta={self.brightness_delta}, '
                f'contrast_range={self.contrast_range}, '
                f'saturation_range={self.saturation_range}, '
                f'hue_delta={self.hue_delta})')
