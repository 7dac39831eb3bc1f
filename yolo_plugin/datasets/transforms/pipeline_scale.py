"""Pipelines of a config at another input scale, for configs that inherit a
pipeline and change only its scale (an ablation at 320 px, Cityscapes'
frames in KITTI's recipe)::

    _base_ = '../yolov3_kitti.py'
    # after ``_base_``: mmengine treats a config importing first as a
    # lazy-import (new-style) config
    from yolo_plugin.datasets.transforms.pipeline_scale import rescale_pipeline

    img_scale = (1060, 320)
    test_pipeline = rescale_pipeline(_base_.test_pipeline, img_scale, _base_.img_scale)

The function itself does not enter the config (mmengine drops functions).
"""
from typing import List, Sequence, Tuple, Union

Scale = Tuple[int, int]  # (w, h) pixels


def _fit(scale: Union[Scale, Sequence[Scale]], new_scale: Scale,
         old_scale: Scale) -> Union[Scale, List[Scale]]:
    """``scale`` (one ``(w, h)`` or a list of them) times ``new_scale /
    old_scale``, per axis, rounded down."""
    if isinstance(scale[0], (int, float)):
        return (int(scale[0] * new_scale[0] // old_scale[0]),
                int(scale[1] * new_scale[1] // old_scale[1]))
    return [_fit(each, new_scale, old_scale) for each in scale]


def rescale_pipeline(pipeline: Sequence[dict], new_scale: Scale,
                     old_scale: Scale) -> List[dict]:
    """A copy of ``pipeline`` whose resize scales are multiplied by
    ``new_scale / old_scale`` (each ``(w, h)``): ``Resize`` and
    ``RandomResize``'s ``scale``, ``RandomExpandCropResizeFlip``'s
    ``resize.scale``; ratio ranges and every other step stay as they are.
    A pipeline resized to ``old_scale`` is resized to ``new_scale``."""
    steps = []
    for step in pipeline:
        if step['type'] in ('Resize', 'RandomResize'):
            step = dict(step, scale=_fit(step['scale'], new_scale, old_scale))
        elif step['type'] == 'RandomExpandCropResizeFlip':
            resize = step['resize']
            step = dict(step, resize=dict(resize,
                                          scale=_fit(resize['scale'], new_scale, old_scale)))
        steps.append(step)
    return steps
