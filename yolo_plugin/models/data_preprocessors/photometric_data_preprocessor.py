"""A DetDataPreprocessor that stacks uint8 images into a channels-last
batch on the model's device and, in training, applies the photometric
distortion the data pipeline drew (``DeferredPhotoMetricDistortion``)."""
import math
from typing import List, Optional, Sequence

import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmengine.model import ImgDataPreprocessor
from mmengine.utils import is_seq_of
from torch import Tensor

from yolo_plugin.datasets.transforms.photometric import \
    PHOTOMETRIC_PARAMS_KEY
from yolo_plugin.registry import MODELS
from .photometric_distortion import apply_photometric_distortion


class _ChannelsLastImageStage(ImgDataPreprocessor):
    """The image work of :class:`PhotometricDetDataPreprocessor`, in
    place of ``ImgDataPreprocessor.forward``, which mmdet's
    ``DetDataPreprocessor.forward`` calls through ``super()``: listed
    between the two in the method resolution order, this stage replaces
    only the image work and keeps mmdet's bookkeeping around it
    (``pad_shape``, ``batch_input_shape``, box types, batch augments)."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        images = data['inputs']
        if not is_seq_of(images, Tensor):
            raise TypeError(
                f"{type(self).__name__}: data['inputs'] must be a list of "
                f'(C, H, W) tensors (pseudo_collate), got {type(images)}')
        samples = data.get('data_samples')
        params = self._photometric_params(samples) if training else None
        # The BGR <-> RGB reversal joins the copy into the batch, or the
        # distortion's channel shuffle (after its BGR steps).
        reverse = self._channel_conversion
        batch = self._stack(images, reverse_channels=reverse and not params)
        if params is not None:
            batch = apply_photometric_distortion(
                batch, params, [img.shape[1:] for img in images],
                reverse_channels=reverse)
        if self._enable_normalize:
            batch.sub_(self.mean).div_(self.std)
        self._fill_padding(batch, images)
        data['inputs'] = batch
        data.setdefault('data_samples', None)
        return data

    def _photometric_params(self, samples) -> Optional[List[dict]]:
        """The samples' photometric parameters, None when none has any."""
        if not samples:
            return None
        params = [sample.metainfo.get(PHOTOMETRIC_PARAMS_KEY)
                  for sample in samples]
        if all(p is None for p in params):
            return None
        if any(p is None for p in params):
            raise KeyError(
                f'{type(self).__name__}: {PHOTOMETRIC_PARAMS_KEY!r} is in '
                'the metainfo of some data samples of the batch but not '
                'all; every training pipeline needs '
                'DeferredPhotoMetricDistortion, or none')
        return params

    def _padded_size(self, images: Sequence[Tensor]) -> List[int]:
        """(H, W) of the batch: the largest sides, rounded up to a multiple
        of ``pad_size_divisor``."""
        return [
            math.ceil(max(img.shape[dim] for img in images) /
                      self.pad_size_divisor) * self.pad_size_divisor
            for dim in (1, 2)
        ]

    def _stack(self, images: Sequence[Tensor],
               reverse_channels: bool) -> Tensor:
        """(N, C, H, W) float32 channels-last batch of the images, top-left
        aligned, their channel order reversed if ``reverse_channels``; the
        padding is left unset (the distortion and the normalisation work
        pixel by pixel, and :meth:`_fill_padding` then writes all of it)."""
        height, width = self._padded_size(images)
        channels = images[0].shape[0]
        batch = torch.empty((len(images), channels, height, width),
                            dtype=torch.float32,
                            device=self.device,
                            memory_format=torch.channels_last)
        for slot, img in zip(batch, images):
            region = slot[:, :img.shape[1], :img.shape[2]]
            if reverse_channels:
                for channel in range(channels):
                    region[channel].copy_(img[channels - 1 - channel])
            else:
                region.copy_(img)
        return batch

    def _fill_padding(self, batch: Tensor, images: Sequence[Tensor]) -> None:
        """Pad the normalised batch as mmdet's chain does: the normalised
        raw ``image_pad_value`` up to each image's size rounded to
        ``pad_size_divisor`` (mmdet's Pad transform), ``pad_value``
        beyond."""
        image_pad = torch.full((batch.shape[1], 1, 1),
                               float(self.image_pad_value),
                               device=batch.device)
        if self._enable_normalize:
            image_pad = (image_pad - self.mean) / self.std
        self._pad(batch, images, image_pad, self.pad_value)

    def _pad(self, batch: Tensor, images: Sequence[Tensor], inner,
             outer) -> None:
        """Write ``inner`` (scalar or (C, 1, 1)) around each image up to its
        size rounded to ``pad_size_divisor``, ``outer`` beyond."""
        divisor = self.pad_size_divisor
        for slot, img in zip(batch, images):
            height, width = img.shape[1:]
            pad_h = math.ceil(height / divisor) * divisor
            pad_w = math.ceil(width / divisor) * divisor
            slot[:, height:pad_h, :pad_w] = inner
            slot[:, :height, width:pad_w] = inner
            slot[:, pad_h:, :] = outer
            slot[:, :pad_h, pad_w:] = outer


@MODELS.register_module()
class PhotometricDetDataPreprocessor(DetDataPreprocessor,
                                     _ChannelsLastImageStage):
    """mmdet's ``DetDataPreprocessor`` for uint8 (C, H, W) images of any
    strides (``PackDetInputsChannelsLast``'s views of HWC arrays), with
    mmdet's photometric distortion moved here from the data pipeline.

    Per batch, on the model's device (the GPU when training there): copy
    the images into one zero-padded float32 channels-last batch (the
    layout of ``YOLODetector(channels_last=True)``); in training, apply
    each image's ``photometric_distortion`` parameters from its data
    sample (drawn by ``DeferredPhotoMetricDistortion``; none: no
    distortion) to the whole batch at once; convert BGR -> RGB and
    normalise; fill the padding. The same inputs without distortion give
    exactly ``DetDataPreprocessor``'s batch and meta keys
    (``batch_input_shape``, ``pad_shape``).

    Padding keeps the semantics of mmdet's chain ``PhotoMetricDistortion``
    -> ``Pad(size_divisor)`` -> ``DetDataPreprocessor``: the distortion
    does not touch the padding; up to each image's size rounded to
    ``pad_size_divisor`` the padding is the normalised raw value
    ``image_pad_value`` (Pad's ``pad_val``), beyond that ``pad_value``.
    ``img_shape`` stays the image's own (H, W) (mmdet's Pad would have
    set it to the padded size).

    Args:
        image_pad_value: raw pixel value of the padding up to each
            image's padded size, as mmdet's ``Pad(pad_val=...)``.
        Others: as ``DetDataPreprocessor`` (``pad_size_divisor``,
            ``pad_value``, ``mean``, ``std``, ``bgr_to_rgb`` ...).
    """

    def __init__(self, image_pad_value: float = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_pad_value = image_pad_value
