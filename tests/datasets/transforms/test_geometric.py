"""RandomExpandCropResizeFlip against mmdet's Expand, MinIoURandomCrop,
RandomResize and RandomFlip: for the same numpy seed both draw the same
parameters (the test checks that they leave numpy's random state at the
same point), and then image, boxes, labels, ignore flags and meta keys
must be equal, the image exactly and the boxes to the bit."""
import copy

import numpy as np
import pytest
import torch

from yolo_plugin.datasets.transforms.geometric import (
    GeometricParams, RandomExpandCropResizeFlip)
from .mmdet_reference import (CITYSCAPES_RECIPE, DEMO_RECIPE, KITTI_RECIPE,
                              OPTIONS_RECIPE, frame, fused_transform,
                              mmdet_chain, reference_frames, run_chain)

META_KEYS = ('img_shape', 'scale', 'scale_factor', 'keep_ratio', 'flip',
             'flip_direction')


@pytest.fixture(scope='module')
def frames():
    return reference_frames()


def run_both(steps, results: dict, seed: int):
    """(mmdet's results, ours) for ``results`` and numpy seed ``seed``."""
    np.random.seed(seed)
    theirs = run_chain(mmdet_chain(steps), copy.deepcopy(results))
    after_theirs = np.random.random_sample()
    np.random.seed(seed)
    ours = fused_transform(steps)(copy.deepcopy(results))
    after_ours = np.random.random_sample()
    assert after_ours == after_theirs, \
        f'seed {seed}: the two drew a different number of random values'
    return theirs, ours


def assert_same(theirs: dict, ours: dict, context: str) -> None:
    assert ours['img'].dtype == np.uint8, context
    np.testing.assert_array_equal(ours['img'], theirs['img'], context)
    assert torch.equal(ours['gt_bboxes'].tensor,
                       theirs['gt_bboxes'].tensor), context
    for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
        assert ours[key].dtype == theirs[key].dtype, (context, key)
        np.testing.assert_array_equal(ours[key], theirs[key],
                                      f'{context} {key}')
    for key in META_KEYS:
        assert ours[key] == theirs[key], (context, key)


def categories(params: GeometricParams, img_shape) -> set:
    """The branches of the transform one draw went through."""
    height, width = img_shape[:2]
    x0, y0, x1, y1 = params.crop_window
    left, top = params.image_offset
    found = {'flip' if params.flip else 'no flip'}
    if params.canvas_size != (width, height):
        found.add('expanded')
    if x0 < left or y0 < top or x1 > left + width or y1 > top + height:
        found.add('fill in crop')
    if params.crop_min_iou is None:
        found.add('no crop')
    elif params.crop_min_iou == 0:
        found.add('crop, any IoU')
    elif len(params.kept_boxes):
        found.add('crop, min IoU met')
    if not params.kept_boxes.all():
        found.add('boxes dropped')
    return found


def test_kitti_recipe_matches_mmdet(frames):
    """kitti.py's recipe on every frame for 25 seeds; together the draws
    take every branch (also checked)."""
    seen = set()
    for name, results in frames.items():
        for seed in range(25):
            theirs, ours = run_both(KITTI_RECIPE, results, seed)
            assert_same(theirs, ours, f'{name}, seed {seed}')
            seen |= categories(ours['geometric_params'], results['img_shape'])
    assert seen == {
        'flip', 'no flip', 'expanded', 'fill in crop', 'no crop',
        'crop, any IoU', 'crop, min IoU met', 'boxes dropped'
    }


@pytest.mark.parametrize('steps', [CITYSCAPES_RECIPE, DEMO_RECIPE,
                                   OPTIONS_RECIPE],
                         ids=['cityscapes', 'demo', 'options'])
def test_other_settings_match_mmdet(frames, steps):
    for name, results in frames.items():
        for seed in range(10):
            theirs, ours = run_both(steps, results, seed)
            assert_same(theirs, ours, f'{name}, seed {seed}')


def test_window_outside_the_image_shows_only_fill():
    """An empty frame may get a crop window wholly in Expand's canvas
    fill: a fill-coloured output, as mmdet's."""
    results = frame(200, 100, [])
    transform = fused_transform(OPTIONS_RECIPE)
    for seed in range(500):
        np.random.seed(seed)
        params = transform.sample_params((100, 200), np.zeros((0, 4),
                                                              np.float32))
        x0, y0, x1, y1 = params.crop_window
        left, top = params.image_offset
        if x1 <= left or y1 <= top or x0 >= left + 200 or y0 >= top + 100:
            break
    else:
        pytest.fail('no seed below 500 puts the window outside the image')
    theirs, ours = run_both(OPTIONS_RECIPE, results, seed)
    assert_same(theirs, ours, f'seed {seed}')
    # (123.675, 116.28, 103.53) RGB, reversed and cast to uint8.
    assert (ours['img'] == [103, 116, 123]).all()


def test_params_describe_the_output(frames):
    results = frames['kitti']
    transform = fused_transform(KITTI_RECIPE)
    np.random.seed(3)
    out = transform(copy.deepcopy(results))
    params = out['geometric_params']
    assert params.output_size == out['img'].shape[1::-1]
    assert params.scale_factor == out['scale_factor']
    assert params.kept_boxes.sum() == len(out['gt_bboxes'])
    # Applying the same parameters again gives the same output.
    again = transform.apply(copy.deepcopy(results), params)
    np.testing.assert_array_equal(again['img'], out['img'])
    assert torch.equal(again['gt_bboxes'].tensor, out['gt_bboxes'].tensor)


def test_output_is_a_new_array_and_the_input_stays(frames):
    """A read-only input (a view into the packed cache's memory map) is
    read, never written; the output owns its C-contiguous memory."""
    results = copy.deepcopy(frames['kitti'])
    source = results['img']
    source.flags.writeable = False
    before = source.copy()
    transform = fused_transform(KITTI_RECIPE)
    for seed in range(20):
        np.random.seed(seed)
        out = transform(dict(results, gt_bboxes=results['gt_bboxes'].clone()))
        img = out['img']
        assert img.flags.c_contiguous and img.flags.writeable
        assert not np.shares_memory(img, source)
    np.testing.assert_array_equal(source, before)


def test_boxes_as_arrays(frames):
    """LoadAnnotations(box_type=None) gives an (N, 4) array: kept so."""
    results = copy.deepcopy(frames['kitti'])
    np.random.seed(1)
    boxed = fused_transform(KITTI_RECIPE)(copy.deepcopy(results))
    results['gt_bboxes'] = results['gt_bboxes'].numpy()
    np.random.seed(1)
    plain = fused_transform(KITTI_RECIPE)(results)
    assert isinstance(plain['gt_bboxes'], np.ndarray)
    np.testing.assert_array_equal(plain['gt_bboxes'],
                                  boxed['gt_bboxes'].numpy())


def test_errors_name_the_key(frames):
    with pytest.raises(TypeError, match='expand.*colour'):
        RandomExpandCropResizeFlip(
            resize=dict(scale=[(1, 1), (2, 2)]), expand=dict(colour=0))
    with pytest.raises(ValueError, match="resize\\['scale'\\]"):
        RandomExpandCropResizeFlip(resize=dict(scale=(416, 128)))
    with pytest.raises(ValueError, match="resize\\['scale'\\]"):
        RandomExpandCropResizeFlip(
            resize=dict(scale=[(1, 1), (2, 2)], ratio_range=(0.5, 2)))
    with pytest.raises(ValueError, match="flip\\['direction'\\]"):
        RandomExpandCropResizeFlip(
            resize=dict(scale=[(1, 1), (2, 2)]),
            flip=dict(prob=0.5, direction='vertical'))
    transform = fused_transform(KITTI_RECIPE)
    results = copy.deepcopy(frames['kitti'])
    with pytest.raises(ValueError, match='gt_seg_map'):
        transform(dict(results, gt_seg_map=np.zeros((375, 1242), np.uint8)))
    del results['gt_bboxes']
    with pytest.raises(KeyError, match='gt_bboxes'):
        transform(results)
