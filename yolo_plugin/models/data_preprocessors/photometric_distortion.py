"""mmdet's PhotoMetricDistortion on a batch of float32 BGR images: per
image the parameters ``DeferredPhotoMetricDistortion`` drew, the arithmetic
of mmdet's transform (float32; HSV as OpenCV's float conversion computes
it: hue in degrees, saturation and value unclipped).

Two implementations of the same steps: on a CPU, OpenCV's SIMD colour
conversions image by image (mmdet's own calls, so its output exactly, and
some 20 times faster there than the ~50 full-batch tensor passes); on any
other device, the whole batch at once in tensor operations (equal to
mmdet's output to float rounding, 1e-3 of 255)."""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

# OpenCV's denominator floor of its float HSV conversion (FLT_EPSILON).
HSV_EPS = torch.finfo(torch.float32).eps
# The hue offsets, in 60-degree sectors, of the B, G and R channels in the
# closed form of OpenCV's float HSV -> BGR conversion.
CHANNEL_SECTOR_OFFSETS = (1.0, 3.0, 5.0)


def params_to_tensors(params: Sequence[dict],
                      device: torch.device,
                      reverse_channels: bool = False) -> Dict[str, Tensor]:
    """Stack the per-image parameter dicts into (N,) float32 tensors
    (``brightness_delta``, ``saturation_factor``, ``hue_shift``), the
    contrast split by position (``contrast_before`` / ``contrast_after``:
    the factor, or 1.0) and ``channel_order`` ((N, 3) int64, the input
    channel of each output channel, see :func:`output_channel_order`)."""
    def column(values) -> Tensor:
        return torch.tensor(values, dtype=torch.float32, device=device)

    contrast = [p['contrast_factor'] for p in params]
    first = [p['contrast_first'] for p in params]
    return dict(
        brightness_delta=column([p['brightness_delta'] for p in params]),
        contrast_before=column(
            [c if f else 1.0 for c, f in zip(contrast, first)]),
        contrast_after=column(
            [1.0 if f else c for c, f in zip(contrast, first)]),
        saturation_factor=column([p['saturation_factor'] for p in params]),
        hue_shift=column([p['hue_shift'] for p in params]),
        channel_order=torch.tensor(
            [output_channel_order(p['channel_order'], reverse_channels)
             for p in params],
            dtype=torch.int64,
            device=device))


def bgr_to_hsv(bgr: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """(N, 3, H, W) float32 BGR -> hue (degrees in [0, 360)), saturation,
    value, each (N, H, W), as ``cv2.cvtColor(COLOR_BGR2HSV)`` on float32
    (values outside [0, 1] not clipped: value is the largest channel,
    saturation the channel spread over ``|value|``)."""
    blue, green, red = bgr.unbind(1)
    value = torch.maximum(torch.maximum(red, green), blue)
    spread = value - torch.minimum(torch.minimum(red, green), blue)
    saturation = spread / (value.abs() + HSV_EPS)
    degrees_per_unit = 60.0 / (spread + HSV_EPS)
    hue = torch.where(
        value == red, (green - blue) * degrees_per_unit,
        torch.where(value == green, (blue - red) * degrees_per_unit + 120.0,
                    (red - green) * degrees_per_unit + 240.0))
    hue = torch.where(hue < 0, hue + 360.0, hue)
    return hue, saturation, value


def hsv_to_bgr(hue: Tensor, saturation: Tensor, value: Tensor) -> Tensor:
    """Inverse of :func:`bgr_to_hsv` as ``cv2.cvtColor(COLOR_HSV2BGR)`` on
    float32: hue in degrees (any real), (N, H, W) each -> (N, 3, H, W).
    Each channel is ``value * (1 - saturation * w)`` with ``w`` the
    channel's piecewise-linear weight of the hue sector, OpenCV's
    table of value, p, q and t in closed form."""
    sectors = hue * (6.0 / 360.0)
    channels = []
    for offset in CHANNEL_SECTOR_OFFSETS:
        phase = torch.remainder(sectors + offset, 6.0)
        weight = torch.minimum(phase, 4.0 - phase).clamp_(0.0, 1.0)
        channels.append(value * (1.0 - saturation * weight))
    return torch.stack(channels, dim=1)


def distort_batch(bgr: Tensor, params: Dict[str, Tensor]) -> Tensor:
    """mmdet's PhotoMetricDistortion of each image of the (N, 3, H, W)
    float32 BGR batch with its parameters (:func:`params_to_tensors`), in
    tensor operations on the batch's device:
    brightness, contrast (before or after), HSV saturation (clipped to
    [0, 1] where the factor exceeds 1) and hue, contrast, channel order.
    Returns a new (N, 3, H, W) float32 channels-last tensor (values not
    clipped)."""
    def per_image(values: Tensor) -> Tensor:
        return values.view(-1, 1, 1, 1)

    bgr = (bgr + per_image(params['brightness_delta'])) * per_image(
        params['contrast_before'])
    hue, saturation, value = bgr_to_hsv(bgr)
    saturation_factor = params['saturation_factor'].view(-1, 1, 1)
    saturation = saturation * saturation_factor
    saturation = torch.where(saturation_factor > 1,
                             saturation.clamp(0.0, 1.0), saturation)
    # mmdet wraps the shifted hue into [0, 360]; hsv_to_bgr takes any.
    hue = hue + params['hue_shift'].view(-1, 1, 1)
    bgr = hsv_to_bgr(hue, saturation, value) * per_image(
        params['contrast_after'])
    order = params['channel_order'].view(-1, 3, 1, 1).expand_as(bgr)
    shuffled = torch.empty_like(bgr, memory_format=torch.channels_last)
    return torch.gather(bgr, 1, order, out=shuffled)


def distort_images_cv2(batch: Tensor, params: Sequence[dict],
                       image_sizes: Sequence[Tuple[int, int]],
                       reverse_channels: bool) -> Tensor:
    """mmdet's PhotoMetricDistortion in place on the (h, w) top-left
    region of each image of the (N, 3, H, W) float32 BGR CPU batch, with
    OpenCV and numpy as mmdet calls them (steps with identity parameters
    skipped); the channel order then reversed if ``reverse_channels``.
    Returns ``batch``."""
    for slot, param, (height, width) in zip(batch, params, image_sizes):
        img = slot[:, :height, :width].permute(1, 2, 0).numpy()
        if param['brightness_delta']:
            img += param['brightness_delta']
        if param['contrast_first'] and param['contrast_factor'] != 1:
            img *= param['contrast_factor']
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        saturation = param['saturation_factor']
        if saturation != 1:
            hsv[..., 1] *= saturation
        if saturation > 1:
            np.clip(hsv[..., 1], 0, 1, out=hsv[..., 1])
        if param['hue_shift']:
            hue = hsv[..., 0]
            hue += param['hue_shift']
            hue[hue > 360] -= 360
            hue[hue < 0] += 360
        bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        if not param['contrast_first'] and param['contrast_factor'] != 1:
            bgr *= param['contrast_factor']
        order = output_channel_order(param['channel_order'],
                                     reverse_channels)
        for target, source in enumerate(order):
            img[..., target] = bgr[..., source]
    return batch


def output_channel_order(channel_order: Sequence[int],
                         reverse_channels: bool) -> Sequence[int]:
    """The input channel of each output channel: the distortion's shuffle,
    followed by the BGR <-> RGB reversal if ``reverse_channels``."""
    return channel_order[::-1] if reverse_channels else channel_order


def apply_photometric_distortion(batch: Tensor,
                                 params: Sequence[dict],
                                 image_sizes: Sequence[Tuple[int, int]],
                                 reverse_channels: bool = False) -> Tensor:
    """mmdet's PhotoMetricDistortion of each image of the (N, 3, H, W)
    float32 BGR batch with its parameter dict, on the batch's device:
    :func:`distort_images_cv2` on a CPU (in place, the padding beyond each
    (h, w) of ``image_sizes`` untouched), else :func:`distort_batch`
    (a new tensor, the padding distorted too); then the channel order
    reversed if ``reverse_channels`` (BGR -> RGB, in the same pass as the
    distortion's channel shuffle). Values are not clipped."""
    if batch.device.type == 'cpu':
        return distort_images_cv2(batch, params, image_sizes,
                                  reverse_channels)
    return distort_batch(
        batch,
        params_to_tensors(params, batch.device, reverse_channels))
