"""mmdet's PackDetInputs without the HWC -> CHW copy of the image."""
import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs

from yolo_plugin.registry import TRANSFORMS
from .photometric import PHOTOMETRIC_PARAMS_KEY

DEFAULT_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                     'scale_factor', 'flip', 'flip_direction',
                     PHOTOMETRIC_PARAMS_KEY)


@TRANSFORMS.register_module()
class PackDetInputsChannelsLast(PackDetInputs):
    """mmdet's ``PackDetInputs``, but ``inputs`` is a (C, H, W) view of the
    (H, W, C) image, with channels-last strides (1, W*C, C): no copy. Made
    for channels-last models and ``PhotometricDetDataPreprocessor``, which
    stacks such views into a channels-last batch; mmdet's
    ``DetDataPreprocessor`` accepts them too.

    The image is copied only when it is not C-contiguous or not writable
    (a view into a read-only memory map), so that the tensor never aliases
    memory torch may not own. The meta keys default to mmdet's plus
    ``photometric_distortion`` (:class:`DeferredPhotoMetricDistortion`);
    a key missing from the results is skipped, as in mmdet.

    Args:
        meta_keys: the results keys copied into the data sample's
            metainfo.
    """

    def __init__(self, meta_keys=DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(
            {key: value
             for key, value in results.items() if key != 'img'})
        if 'img' in results:
            packed['inputs'] = self.channels_last_view(results['img'])
        return packed

    @staticmethod
    def channels_last_view(img: np.ndarray) -> torch.Tensor:
        """(C, H, W) tensor sharing the memory of the (H, W, C) or (H, W)
        array ``img`` (copied first when not C-contiguous and writable)."""
        if img.ndim == 2:
            img = img[..., None]
        if not (img.flags.c_contiguous and img.flags.writeable):
            img = np.array(img, order='C')
        return torch.from_numpy(img).permute(2, 0, 1)
