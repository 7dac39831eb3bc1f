"""Reading images of the raw data sets: the size from the file header at
dataset build time, the pixels at load time, both with errors naming the
file."""
import os.path as osp
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmengine import fileio
from PIL import Image

from .bad_samples import BadSampleError


def read_image_size(path: str) -> Tuple[int, int]:
    """(width, height) in pixels from the image header, without decoding.

    Raises:
        BadSampleError: the file is missing or its header is not an image.
            Damaged pixel data behind a valid header shows up only when
            :func:`decode_image` reads the file.
    """
    if not osp.isfile(path):
        raise BadSampleError.at(path, 'image file not found', 'missing image')
    try:
        with Image.open(path) as img:
            width, height = img.size
    except (OSError, SyntaxError, ValueError) as err:
        raise BadSampleError.at(path, f'not a readable image ({err})',
                                'corrupt image') from err
    return width, height


def decode_image(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 BGR, as mmcv's
    ``LoadImageFromFile`` does with its defaults.

    Raises:
        BadSampleError: the file is missing or cannot be decoded.
    """
    try:
        img_bytes = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as err:
        raise BadSampleError.at(path, 'image file not found',
                                'missing image') from err
    img = mmcv.imfrombytes(img_bytes, flag='color', backend='cv2')
    if img is None:
        raise BadSampleError.at(
            path, 'cannot decode the image (corrupt or truncated file)',
            'corrupt image')
    return img
