"""mmdet's augmentation chains (the references) and the frames they run
on, shared by the tests of our fused transforms and preprocessor."""
import copy
from typing import Dict, List

import numpy as np
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmengine.registry import DefaultScope

from yolo_plugin.datasets.transforms.geometric import \
    RandomExpandCropResizeFlip

# configs/_base_/datasets/kitti.py's recipe between loading and Pad (its
# img_scale (1248, 384)); Cityscapes' is the same at (1024, 512).
KITTI_RECIPE = [
    dict(type='Expand', mean=[0, 0, 0], to_rgb=True, ratio_range=(1, 2)),
    dict(type='MinIoURandomCrop',
         min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
         min_crop_size=0.3),
    dict(type='RandomResize',
         scale=[(780, 240), (1248, 384)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
CITYSCAPES_RECIPE = [
    dict(step, scale=[(640, 320), (1024, 512)])
    if step['type'] == 'RandomResize' else step for step in KITTI_RECIPE
]
# configs/yolov3_s_kitti_demo.py's mild augmentation.
DEMO_RECIPE = [
    dict(type='RandomResize',
         scale=(416, 128),
         ratio_range=(0.8, 1.25),
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
# Every option away from the recipes' values: a coloured canvas (RGB
# mean, reversed to BGR), ratios up to 4, mmdet's default min IoUs, no
# clipping, a fixed-ratio resize, another flip probability.
OPTIONS_RECIPE = [
    dict(type='Expand',
         mean=[123.675, 116.28, 103.53],
         to_rgb=True,
         ratio_range=(1, 4),
         prob=0.7),
    dict(type='MinIoURandomCrop', bbox_clip_border=False),
    dict(type='RandomResize',
         scale=[(300, 200), (600, 400)],
         keep_ratio=False,
         clip_object_border=False),
    dict(type='RandomFlip', prob=0.3),
]
# Our transform's argument for each mmdet step.
ARGUMENT_OF_STEP = dict(
    Expand='expand',
    MinIoURandomCrop='min_iou_crop',
    RandomResize='resize',
    RandomFlip='flip')


def mmdet_chain(steps: List[dict]) -> list:
    """mmdet's transforms for ``steps`` (mmdet's Resize inside
    RandomResize, whatever the caller's default scope)."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        return [MMDET_TRANSFORMS.build(copy.deepcopy(s)) for s in steps]


def run_chain(chain: list, results: dict) -> dict:
    for transform in chain:
        results = transform(results)
    return results


def fused_transform(steps: List[dict]) -> RandomExpandCropResizeFlip:
    """Our transform with the settings of mmdet's ``steps``."""
    kwargs = {}
    for step in copy.deepcopy(steps):
        kwargs[ARGUMENT_OF_STEP[step.pop('type')]] = step
    return RandomExpandCropResizeFlip(**kwargs)


def frame(width: int, height: int, instances: List[dict],
          seed: int = 0) -> dict:
    """Results of mmdet's LoadAnnotations for a (height, width) noise
    image (values 1..255, so that 0 marks the canvas fill) and
    ``instances`` (dicts with ``bbox`` x1 y1 x2 y2 px, ``bbox_label``,
    ``ignore_flag``)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(1, 256, (height, width, 3), dtype=np.uint8)
    results = dict(
        img=img,
        img_shape=(height, width),
        ori_shape=(height, width),
        instances=copy.deepcopy(instances))
    return LoadAnnotations(with_bbox=True)(results)


def box(x1, y1, x2, y2, label=0, ignored=False) -> dict:
    return dict(bbox=[x1, y1, x2, y2], bbox_label=label,
                ignore_flag=int(ignored))


def reference_frames() -> Dict[str, dict]:
    """Frames of several sizes: objects with ignored regions among them,
    on the borders, nearly filling the image; ignored regions only;
    none."""
    return dict(
        kitti=frame(1242, 375, [
            box(0.0, 150.5, 120.25, 300.0, label=0),
            box(600.4, 160.0, 680.9, 230.3, label=1),
            box(503.89, 169.71, 590.61, 190.13, label=-1, ignored=True),
            box(1100.0, 120.0, 1242.0, 375.0, label=2),
            box(80.0, 20.0, 1150.0, 360.0, label=0),
        ], seed=1),
        kitti_ignored_only=frame(1224, 370, [
            box(10.0, 10.0, 300.0, 200.0, label=-1, ignored=True),
            box(700.5, 100.5, 1224.0, 370.0, label=-1, ignored=True),
        ], seed=2),
        empty=frame(621, 188, [], seed=3),
        cityscapes=frame(512, 256, [
            box(100.0, 40.0, 160.0, 130.0, label=3),
            box(300.0, 100.0, 400.0, 160.0, label=2, ignored=True),
            box(0.0, 0.0, 512.0, 256.0, label=5),
        ], seed=4),
        # Two large, nearly coincident boxes: the min-IoU modes are met
        # (or just missed) often, so the exact IoU decides.
        large_objects=frame(800, 400, [
            box(100.0, 50.0, 700.0, 380.0, label=1),
            box(120.5, 60.25, 690.0, 370.0, label=-1, ignored=True),
        ], seed=6),
        portrait=frame(300, 500, [
            box(20.0, 30.0, 280.0, 480.0, label=1),
            box(0.0, 400.0, 50.0, 500.0, label=0),
        ], seed=5),
    )


def photometric_params(flags: tuple) -> dict:
    """mmdet's ``PhotoMetricDistortion._random_flags()`` tuple as the
    parameter dict of our deferred distortion (the identity for a step that
    is off)."""
    (mode, brightness_on, contrast_on, saturation_on, hue_on, swap_on,
     delta, alpha, saturation, hue, order) = flags
    return dict(
        brightness_delta=delta if brightness_on else 0.0,
        contrast_factor=alpha if contrast_on else 1.0,
        contrast_first=mode == 1,
        saturation_factor=saturation if saturation_on else 1.0,
        hue_shift=hue if hue_on else 0.0,
        channel_order=tuple(int(c) for c in order) if swap_on else (0, 1, 2))
