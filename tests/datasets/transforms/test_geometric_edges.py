"""Edges of RandomExpandCropResizeFlip found by mutation testing
(docs/testing.md): MinIoURandomCrop's decisions at their boundaries,
frames too small for some crop windows, settings away from the recipes'
(Expand's BGR mean, nearest-neighbour resizing), windows wholly in the
canvas fill, and the full error messages."""
import copy

import numpy as np
import pytest
from mmdet.evaluation.functional import bbox_overlaps

from yolo_plugin.datasets.transforms.geometric import (
    GeometricParams, RandomExpandCropResizeFlip, _CropCheck)
from .mmdet_reference import KITTI_RECIPE, OPTIONS_RECIPE, box, frame, fused_transform
from .test_geometric import assert_same, run_both

NAME = 'RandomExpandCropResizeFlip'
# Every setting the recipes of mmdet_reference leave at one value: Expand's
# mean given BGR (to_rgb=False) and always firing, nearest-neighbour
# resizing, keep_ratio with two bounds.
BGR_NEAREST_RECIPE = [
    dict(type='Expand', mean=[10, 20, 30], to_rgb=False, ratio_range=(1, 3), prob=1.0),
    dict(type='MinIoURandomCrop'),
    dict(type='RandomResize', scale=[(300, 200), (600, 400)], keep_ratio=True,
         interpolation='nearest'),
    dict(type='RandomFlip', prob=0.5),
]


def test_box_centre_on_a_window_edge_is_dropped():
    """mmdet keeps a box whose centre is strictly inside the window."""
    centres = [(10, 15), (15, 10), (20, 15), (15, 20), (15, 15), (10.5, 19.5)]
    boxes = np.array([(x - 1, y - 1, x + 1, y + 1) for x, y in centres], np.float32)
    kept = _CropCheck(boxes).kept_boxes((10, 10, 20, 20), min_iou=0)
    np.testing.assert_array_equal(kept, [False, False, False, False, True, True])


def test_min_iou_decisions_at_their_boundary():
    check = _CropCheck(np.array([[0, 0, 10, 5]], np.float32))
    # IoU exactly 0.5 meets a min IoU of 0.5 (mmdet rejects below it).
    assert check.kept_boxes((0, 0, 10, 10), min_iou=0.5) is not None
    assert check.kept_boxes((0, 0, 10, 10), min_iou=0.5000001) is None


@pytest.mark.parametrize('far_box', [(3, 0, 5, 2), (0, 3, 2, 5)], ids=['beside', 'below'])
def test_a_box_outside_the_window_rejects_it(far_box):
    """IoU 0 for a box beside or below the window (the overlap of each
    side clamped at 0), below any min IoU, although the other box fits."""
    check = _CropCheck(np.array([(0, 0, 2, 2), far_box], np.float32))
    assert check.kept_boxes((0, 0, 2, 2), min_iou=0.3) is None


def test_min_iou_is_decided_in_float32_as_mmdet():
    """A box whose IoU with the window is 0.6000000072 exactly, and
    0.59999996 in mmdet's float32 bbox_overlaps: mmdet rejects the window
    for a min IoU of 0.6, so must we."""
    window = (0, 0, 340, 256)
    boxes = np.array([[4.1792994, 1.2693224, 340., 421.36517]], np.float32)
    theirs = bbox_overlaps(np.array([window], np.float32), boxes).min()
    assert theirs < 0.6
    assert _CropCheck(boxes).kept_boxes(window, min_iou=0.6) is None


def test_frames_too_small_for_some_windows_match_mmdet():
    """On 3 x 3 px frames a window of at most 3 px may round to no width or
    no height, which mmdet skips (with boxes and without)."""
    frames = dict(empty=frame(3, 3, []), boxed=frame(3, 3, [box(0., 0., 3., 2.)]),
                  wide=frame(3, 2, []))
    steps = [dict(type='MinIoURandomCrop', min_crop_size=0.1)] + KITTI_RECIPE[2:]
    for name, results in frames.items():
        for seed in range(60):
            theirs, ours = run_both(steps, results, seed)
            assert_same(theirs, ours, f'{name}, seed {seed}')


def test_bgr_mean_and_nearest_resize_match_mmdet():
    results = frame(320, 160, [box(20., 30., 120., 150.), box(200., 10., 300., 60., label=2)])
    for seed in range(20):
        theirs, ours = run_both(BGR_NEAREST_RECIPE, results, seed)
        assert_same(theirs, ours, f'seed {seed}')


def test_window_left_of_and_across_the_top_of_the_image_is_fill():
    """A crop window wholly outside the image (x -10..-2, y -3..3 in image
    pixels) renders the fill colour, given BGR (to_rgb=False)."""
    transform = fused_transform(BGR_NEAREST_RECIPE)
    results = frame(20, 10, [])
    params = GeometricParams(canvas_size=(40, 20), image_offset=(10, 3), crop_min_iou=0.0,
                             crop_window=(0, 0, 8, 6), kept_boxes=np.ones(0, bool),
                             scale=(16, 12), output_size=(16, 12), flip=False)
    out = transform.apply(copy.deepcopy(results), params)
    assert out['img'].shape == (12, 16, 3)
    assert (out['img'] == [10, 20, 30]).all()


def test_params_of_a_colour_image_shape():
    """``sample_params`` takes ``img.shape`` (H, W, C) as well as (H, W);
    the canvas is Expand's."""
    transform = fused_transform([dict(type='Expand', ratio_range=(2, 2), prob=1.0)]
                                + KITTI_RECIPE[2:])
    boxes = np.array([[1, 2, 30, 40]], np.float32)
    np.random.seed(0)
    colour = transform.sample_params((100, 200, 3), boxes)
    np.random.seed(0)
    plain = transform.sample_params((100, 200), boxes)
    assert colour.canvas_size == plain.canvas_size == (400, 200)
    assert colour.crop_window == plain.crop_window == (0, 0, 400, 200)
    assert colour.output_size == plain.output_size


def test_array_boxes_come_out_float32():
    """Boxes given as a float64 array are computed (and returned) in
    float32, as mmdet's HorizontalBoxes are."""
    results = frame(320, 160, [box(20.3, 30.1, 120.7, 150.9)])
    transform = fused_transform(KITTI_RECIPE)
    np.random.seed(2)
    boxed = transform(copy.deepcopy(results))
    results['gt_bboxes'] = results['gt_bboxes'].numpy().astype(np.float64)
    np.random.seed(2)
    plain = transform(results)
    assert plain['gt_bboxes'].dtype == np.float32
    np.testing.assert_array_equal(plain['gt_bboxes'], boxed['gt_bboxes'].numpy())


@pytest.mark.parametrize('key, settings', [
    ('resize', dict(scale=[(1, 1), (2, 2)], size=3)),
    ('expand', dict(colour=0)),
    ('min_iou_crop', dict(min_iou=0.5)),
    ('flip', dict(prob=0.5, axis=1)),
])
def test_a_wrong_setting_names_its_argument(key, settings):
    kwargs = {'resize': dict(scale=[(1, 1), (2, 2)]), key: settings}
    with pytest.raises(TypeError) as error:
        RandomExpandCropResizeFlip(**kwargs)
    unknown = next(name for name in settings if name not in ('scale', 'prob'))
    assert str(error.value).startswith(f'{NAME}: {key}: ')
    assert f"unexpected keyword argument '{unknown}'" in str(error.value)


def test_refusals_say_what_is_wrong():
    scale = [(1, 1), (2, 2)]
    cases = [
        (dict(resize=dict(scale=scale, interpolation='linear')),
         "resize['interpolation']: 'linear' is not one of "
         "['area', 'bicubic', 'bilinear', 'lanczos', 'nearest']"),
        (dict(resize=dict(scale=scale, ratio_range=(0.5, 2))),
         "resize['scale'] must be one (w, h) with resize['ratio_range'], got "
         '[(1, 1), (2, 2)]'),
        (dict(resize=dict(scale=(416, 128))),
         "resize['scale'] must be two (w, h) bounds without resize['ratio_range'], got "
         '(416, 128)'),
        (dict(resize=dict(scale=scale), flip=dict(prob=0.5, direction='vertical')),
         "flip['direction']: only 'horizontal' is supported, got 'vertical'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as error:
            RandomExpandCropResizeFlip(**kwargs)
        assert str(error.value) == message
    transform = fused_transform(KITTI_RECIPE)
    results = frame(30, 20, [box(1., 1., 10., 10.)])
    with pytest.raises(ValueError) as error:
        transform(dict(results, gt_masks=np.zeros((1, 20, 30), np.uint8)))
    assert str(error.value) == (f"{NAME} does not transform 'gt_masks'; "
                                "use mmdet's four transforms")
    del results['gt_bboxes']
    with pytest.raises(KeyError) as error:
        transform(results)
    assert error.value.args[0] == (f"{NAME} needs 'gt_bboxes' "
                                   '(LoadAnnotations with_bbox=True before it)')


def test_repr_shows_every_setting():
    transform = fused_transform(BGR_NEAREST_RECIPE)
    assert repr(transform) == (
        f'{NAME}(resize={transform.resize}, expand={transform.expand}, '
        f'min_iou_crop={transform.min_iou_crop}, flip={transform.flip})')
    assert 'interpolation=' in repr(transform) and "'nearest'" in repr(transform)


def test_empty_frame_cropped_left_of_or_above_the_image_matches_mmdet():
    """An empty frame (a KITTI background frame) accepts any crop window,
    also one that ends left of or above the image in Expand's canvas: its
    output is fill only, as mmdet's."""
    results = frame(200, 100, [])
    transform = fused_transform(OPTIONS_RECIPE)
    found = {}
    for seed in range(3000):
        np.random.seed(seed)
        params = transform.sample_params((100, 200), np.zeros((0, 4), np.float32))
        x0, y0, x1, y1 = params.crop_window
        left, top = params.image_offset
        if x1 < left and 'left' not in found:
            found['left'] = seed
        if y1 < top and x1 > left and 'above' not in found:
            found['above'] = seed
    assert set(found) == {'left', 'above'}, found
    for side, seed in found.items():
        theirs, ours = run_both(OPTIONS_RECIPE, results, seed)
        assert_same(theirs, ours, f'{side}, seed {seed}')
        assert (ours['img'] == [103, 116, 123]).all(), side
