"""Variants of an inherited pipeline for configs: the same pipeline at
another input scale (an ablation at 320 px, Cityscapes' frames in KITTI's
recipe), or the same augmentations with mmdet's own transforms::

    _base_ = '../yolov3_kitti.py'
    # after ``_base_``: mmengine treats a config importing first as a
    # lazy-import (new-style) config
    from yolo_plugin.datasets.transforms.pipeline_variants import rescale_pipeline

    img_scale = (1060, 320)
    test_pipeline = rescale_pipeline(_base_.test_pipeline, img_scale, _base_.img_scale)

The functions themselves do not enter the config (mmengine drops them).
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


# mmdet's geometric transforms, in their order, and the argument of
# RandomExpandCropResizeFlip that holds each one's settings.
GEOMETRIC_STEPS = dict(Expand='expand', MinIoURandomCrop='min_iou_crop',
                       RandomResize='resize', RandomFlip='flip')


def with_mmdet_transforms(pipeline: Sequence[dict], pad_size_divisor: int = 32) -> List[dict]:
    """Our training ``pipeline`` with mmdet's transforms and the same
    settings: RandomExpandCropResizeFlip as Expand, MinIoURandomCrop,
    RandomResize and RandomFlip (those it has), DeferredPhotoMetricDistortion
    as PhotoMetricDistortion, PackDetInputsChannelsLast as Pad (to
    ``pad_size_divisor``, the model's) and PackDetInputs; other steps as
    they are. For mmdet's ``DetDataPreprocessor``."""
    steps = []
    for step in pipeline:
        step = dict(step)
        kind = step.pop('type')
        if kind == 'RandomExpandCropResizeFlip':
            steps += [dict(step[key], type=name) for name, key in GEOMETRIC_STEPS.items()
                      if step.get(key) is not None]
        elif kind == 'DeferredPhotoMetricDistortion':
            steps.append(dict(step, type='PhotoMetricDistortion'))
        elif kind == 'PackDetInputsChannelsLast':
            steps += [dict(type='Pad', size_divisor=pad_size_divisor),
                      dict(step, type='PackDetInputs')]
        else:
            steps.append(dict(step, type=kind))
    return steps
