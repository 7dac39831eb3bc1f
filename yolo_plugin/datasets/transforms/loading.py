"""Image loading that reads the packed cache or decodes the file."""
from typing import Optional

from mmcv.transforms import BaseTransform

from yolo_plugin.registry import TRANSFORMS
from ..image_io import decode_image
from ..packed import read_packed_image


@TRANSFORMS.register_module()
class LoadImageFromPackOrFile(BaseTransform):
    """Load the image of a sample: from the pack file when the dataset was
    built with ``packed_file`` (key ``packed_image``), else by decoding
    ``img_path``, as mmcv's ``LoadImageFromFile`` with its defaults.

    Unlike that one, a missing or undecodable file raises
    :class:`BadSampleError` naming the file, which the dataset skips with
    ``on_bad_sample='skip'`` (the training pipelines' loader). A dataset
    built with ``packed_file`` puts this loader in place of mmcv's
    ``LoadImageFromFile`` (the test pipelines' loader).

    Required keys: ``img_path``, or ``packed_image`` (``file``, ``offset``,
    ``shape``). Added keys: ``img`` ((H, W, 3) uint8 BGR), ``img_shape``,
    ``ori_shape`` ((H, W) pixels).

    Args:
        backend_args: mmengine file backend arguments for ``img_path``.
    """

    def __init__(self, backend_args: Optional[dict] = None) -> None:
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        packed = results.get('packed_image')
        if packed is not None:
            img = read_packed_image(**packed)
        else:
            img = decode_image(results['img_path'], self.backend_args)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend_args={self.backend_args})'
