"""The batched photometric distortion against mmdet's PhotoMetricDistortion
on the same images with the same parameters: every combination of steps
forced into both, then mmdet's own draws (same seed); the CPU path (OpenCV,
as mmdet) exactly, the tensor path (any device) to 1e-3 of 255; and the
distributions of colour statistics over many independent draws."""
import itertools

import cv2
import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import PhotoMetricDistortion
from scipy import stats

from yolo_plugin.datasets.transforms.photometric import \
    DeferredPhotoMetricDistortion
from yolo_plugin.models.data_preprocessors.photometric_distortion import (
    apply_photometric_distortion, bgr_to_hsv, distort_batch, hsv_to_bgr,
    params_to_tensors)

from tests.datasets.transforms.mmdet_reference import photometric_params

# Largest difference of the tensor path from mmdet's float32 output, in
# pixel units (0..255 scale); measured up to 4e-4.
TENSOR_PATH_TOLERANCE = 1e-3
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.fixture(scope='module')
def image() -> np.ndarray:
    """(24, 40, 3) uint8 BGR: noise, dark rows (negative after a
    brightness drop: mmdet's HSV round trip reflects them), grey pixels
    (zero saturation), pure colours and hues near 0/360."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    img[:4] = rng.integers(0, 25, (4, 40, 3))
    img[4, :, :] = np.arange(40)[:, None] * 6
    img[5, :10] = [0, 0, 255]
    img[5, 10:20] = [255, 0, 0]
    img[5, 20:30] = [1, 0, 255]
    img[5, 30:] = [0, 1, 255]
    return img


def forced_flags():
    """mmdet ``_random_flags`` tuples: each contrast position and each
    on/off combination of the five steps, with values that reach every
    branch (a brightness drop, saturation above 1 (clipped) and below,
    hue shifts across 0 and 360)."""
    values = [(-30.0, 1.4, 1.3, -17.5, (2, 0, 1)),
              (25.0, 0.6, 0.7, 17.9, (1, 2, 0))]
    for mode, flags, (delta, alpha, saturation, hue,
                      order) in itertools.product(
                          (0, 1), itertools.product((0, 1), repeat=5),
                          values):
        yield (mode, *flags, delta, alpha, saturation, hue, np.array(order))


def mmdet_output(img: np.ndarray, flags=None) -> np.ndarray:
    """mmdet's float32 HWC output; its own draw when ``flags`` is None."""
    transform = PhotoMetricDistortion()
    if flags is not None:
        transform._random_flags = lambda: flags
    return transform(dict(img=img.copy()))['img']


def padded_batch(images, pad: int = 8, device='cpu') -> torch.Tensor:
    """(N, 3, H + pad, W + pad) float32 channels-last batch, the images
    top-left, padding 0."""
    height, width = images[0].shape[:2]
    batch = torch.zeros((len(images), 3, height + pad, width + pad),
                        device=device).contiguous(
                            memory_format=torch.channels_last)
    for slot, img in zip(batch, images):
        slot[:, :height, :width] = torch.from_numpy(img).permute(2, 0, 1)
    return batch


def as_images(batch: torch.Tensor, height: int, width: int) -> np.ndarray:
    """(N, H, W, 3) float32 array of the batch's top-left regions."""
    return batch[:, :, :height, :width].permute(0, 2, 3, 1).cpu().numpy()


def test_hsv_round_trip_matches_opencv(image):
    import cv2
    rng = np.random.default_rng(1)
    bgr = rng.uniform(-40, 300, (2, 16, 20, 3)).astype(np.float32)
    hsv = torch.stack(bgr_to_hsv(torch.from_numpy(bgr).permute(0, 3, 1, 2)),
                      dim=-1).numpy()
    expected = np.stack([cv2.cvtColor(b, cv2.COLOR_BGR2HSV) for b in bgr])
    np.testing.assert_allclose(hsv, expected, rtol=0, atol=1e-4)
    # mmdet's hue stays in [0, 360] (OpenCV's float HSV -> BGR differs on
    # negative hues); saturation may exceed 1.
    hsv[..., 1] *= 1.3
    hsv[..., 0] = (hsv[..., 0] - 17.0) % 360
    hsv[0, 0, :4, 0] = [0.0, 360.0, 359.99997, 1e-6]
    back = hsv_to_bgr(*torch.from_numpy(hsv).unbind(-1)).permute(0, 2, 3, 1)
    expected = np.stack([cv2.cvtColor(h, cv2.COLOR_HSV2BGR) for h in hsv])
    np.testing.assert_allclose(back.numpy(), expected, rtol=0, atol=1e-3)


def test_forced_parameters_match_mmdet(image):
    flags = list(forced_flags())
    expected = np.stack([mmdet_output(image, f) for f in flags])
    params = [photometric_params(f) for f in flags]
    height, width = image.shape[:2]
    cpu = apply_photometric_distortion(
        padded_batch([image] * len(flags)), params, [(height, width)] *
        len(flags))
    np.testing.assert_array_equal(as_images(cpu, height, width), expected)
    assert (cpu[:, :, height:] == 0).all() and (cpu[..., width:] == 0).all()
    reversed_cpu = apply_photometric_distortion(
        padded_batch([image] * len(flags)), params,
        [(height, width)] * len(flags), reverse_channels=True)
    np.testing.assert_array_equal(as_images(reversed_cpu, height, width),
                                  expected[..., ::-1])
    for device, reverse in itertools.product(DEVICES, (False, True)):
        batch = padded_batch([image] * len(flags), device=device)
        tensor = distort_batch(batch,
                               params_to_tensors(params, device, reverse))
        assert tensor.is_contiguous(memory_format=torch.channels_last)
        np.testing.assert_allclose(
            as_images(tensor, height, width),
            expected[..., ::-1] if reverse else expected, rtol=0,
            atol=TENSOR_PATH_TOLERANCE, err_msg=f'{device}, {reverse}')


def test_own_draws_match_mmdet(image):
    """Same seed: mmdet's transform and DeferredPhotoMetricDistortion +
    the batched stage give the same images."""
    seeds = range(100)
    expected = []
    params = []
    for seed in seeds:
        np.random.seed(seed)
        expected.append(mmdet_output(image))
        np.random.seed(seed)
        params.append(DeferredPhotoMetricDistortion().sample_params())
    height, width = image.shape[:2]
    batch = padded_batch([image] * len(params))
    distorted = apply_photometric_distortion(batch, params,
                                             [(height, width)] * len(params))
    np.testing.assert_array_equal(as_images(distorted, height, width),
                                  np.stack(expected))


# Patches of the distribution test's image: two greys, which only
# brightness (delta added) and contrast (times alpha) move, so that each
# draw's delta and alpha follow from them; and orange (BGR; hue 30
# degrees, saturation 0.8), which the HSV steps move.
DARK_ROWS, LIGHT_ROWS, COLOUR_ROWS = slice(6, 8), slice(8, 10), slice(10, 14)
DARK, LIGHT = 64, 192
ORANGE_BGR = (40, 120, 200)


def colour_statistics(images: np.ndarray) -> dict:
    """Per (N, H, W, 3) float32 BGR image: mean of each channel, standard
    deviation, share of values outside [0, 255]; the brightness delta and
    contrast factor the grey patches show; the orange patch's saturation
    and hue offset (degrees from the nearest multiple of 120, which the
    channel shuffle keeps: it rotates hues by 120 or mirrors them)."""
    dark = images[:, DARK_ROWS].mean(axis=(1, 2, 3))
    light = images[:, LIGHT_ROWS].mean(axis=(1, 2, 3))
    contrast = (light - dark) / (LIGHT - DARK)
    patch = np.ascontiguousarray(images[:, COLOUR_ROWS])
    hsv = np.stack([cv2.cvtColor(p, cv2.COLOR_BGR2HSV) for p in patch])
    hue = hsv[..., 0].mean(axis=(1, 2)) % 120
    return dict(
        mean_b=images[..., 0].mean(axis=(1, 2)),
        mean_g=images[..., 1].mean(axis=(1, 2)),
        mean_r=images[..., 2].mean(axis=(1, 2)),
        std=images.std(axis=(1, 2, 3)),
        out_of_range=((images < 0) | (images > 255)).mean(axis=(1, 2, 3)),
        brightness=dark / contrast - DARK,
        contrast=contrast,
        saturation=hsv[..., 1].mean(axis=(1, 2)),
        hue_offset=np.minimum(hue, 120 - hue))


@pytest.mark.parametrize('changed', [
    dict(), dict(brightness_delta=48), dict(contrast_range=(0.5, 1.7)),
    dict(saturation_range=(0.5, 1.7)), dict(hue_delta=24)
], ids=['same', 'brightness', 'contrast', 'saturation', 'hue'])
def test_colour_distributions_match_mmdet(image, changed):
    """2000 draws a side, independent seeds, on an image with a grey and an
    orange patch; two-sample Kolmogorov-Smirnov per statistic, p > 0.001
    each with mmdet's settings. Negative controls: each range widened
    (brightness 32 -> 48, contrast and saturation 1.5 -> 1.7, hue 18 -> 24
    degrees) must give p < 0.001 in some statistic."""
    draws = 2000
    image = image.copy()
    image[DARK_ROWS] = DARK
    image[LIGHT_ROWS] = LIGHT
    image[COLOUR_ROWS] = ORANGE_BGR
    np.random.seed(1)
    theirs = colour_statistics(
        np.stack([mmdet_output(image) for _ in range(draws)]))
    height, width = image.shape[:2]
    np.random.seed(2)
    sampler = DeferredPhotoMetricDistortion(**changed)
    params = [sampler.sample_params() for _ in range(draws)]
    batch = padded_batch([image] * draws, pad=0)
    distorted = distort_batch(batch, params_to_tensors(params, 'cpu'))
    ours = colour_statistics(as_images(distorted, height, width))
    # Rounded: steps left out give the same value (an atom of the
    # distribution) in mmdet's float32 arithmetic, and values within the
    # tensor path's 1e-3 of it in ours, which the test must not see.
    p = {k: stats.ks_2samp(np.round(theirs[k], 2), np.round(v, 2)).pvalue
         for k, v in ours.items()}
    if changed:
        assert min(p.values()) < 1e-3, str(p)
    else:
        assert min(p.values()) > 1e-3, str(p)
