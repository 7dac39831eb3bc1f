"""How many instances of each class a parsed data set holds (read from its
annotations; no image is read)."""
from typing import Dict

import numpy as np


def count_instances(dataset) -> Dict[str, int]:
    """Non-ignored instances of each class of ``dataset.metainfo['classes']``
    in a built mmdet-style data set (``get_data_info(i)['instances']`` with
    ``bbox_label`` and ``ignore_flag``).

    Returns:
        class name -> count, every class present (0 for one without
        instances), in the order of the classes.
    """
    classes = dataset.metainfo['classes']
    labels = [
        inst['bbox_label'] for index in range(len(dataset))
        for inst in dataset.get_data_info(index)['instances']
        if inst['ignore_flag'] == 0
    ]
    counts = np.bincount(
        np.asarray(labels, dtype=np.int64), minlength=len(classes))
    return dict(zip(classes, counts.tolist()))
