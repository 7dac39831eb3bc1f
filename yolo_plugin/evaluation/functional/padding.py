"""Rows of many images as one padded array, for per-image vector work."""
import numpy as np


def pad_by_image(image: np.ndarray, values: np.ndarray, num_images: int,
                 fill) -> np.ndarray:
    """Scatter rows grouped by image into ``(num_images, M, ...)``.

    Args:
        image: ``(N,)`` image index of each row, sorted.
        values: ``(N, ...)``.
        fill: value past each image's rows.

    Returns:
        The rows of image i, in order, at ``[i, :count_i]``; M is the
        largest count, at least 1.
    """
    counts = np.bincount(image, minlength=num_images)
    starts = np.cumsum(counts) - counts
    slot = np.arange(len(image)) - starts[image]
    padded = np.full(
        (num_images, max(counts.max(initial=0), 1)) + values.shape[1:],
        fill,
        dtype=values.dtype)
    padded[image, slot] = values
    return padded
