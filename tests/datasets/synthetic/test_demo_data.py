"""The synthetic demo data: labels exactly as drawn, KITTI fields that
follow the drawing, the intended variety, determinism by seed."""
import filecmp
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from yolo_plugin.datasets.synthetic import (KITTI_DEMO_SIZE, cityscapes_objects,
                                            kitti_label_lines, make_demo_data,
                                            make_demo_kitti, render_scene)

WIDTH, HEIGHT = KITTI_DEMO_SIZE


@pytest.fixture(scope='module')
def scenes():
    return [
        render_scene(np.random.default_rng(seed), WIDTH, HEIGHT)
        for seed in range(40)
    ]


def _in_image(mask, x0, y0, width=WIDTH, height=HEIGHT):
    """The object's mask placed on a padded canvas, cut to the image."""
    pad = max(mask.shape) + 1
    canvas = np.zeros((height + 2 * pad, width + 2 * pad), bool)
    canvas[y0 + pad:y0 + pad + mask.shape[0],
           x0 + pad:x0 + pad + mask.shape[1]] = mask
    return canvas[pad:pad + height, pad:pad + width]


def _extent(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_boxes_are_the_pixel_extent_inside_the_image(scenes):
    for scene in scenes:
        for obj in scene.objects:
            inside = _in_image(obj.mask, obj.x0, obj.y0)
            assert obj.bbox == _extent(inside)
            assert obj.truncated == pytest.approx(1 -
                                                  inside.sum() / obj.mask.sum())


def test_hidden_fraction_is_what_later_objects_cover(scenes):
    for scene in scenes:
        placed = [_in_image(o.mask, o.x0, o.y0) for o in scene.objects]
        for i, obj in enumerate(scene.objects):
            later = np.logical_or.reduce(placed[i + 1:] + [np.zeros_like(
                placed[i])])
            expected = (placed[i] & later).sum() / placed[i].sum()
            assert obj.hidden == pytest.approx(expected)


def test_kitti_lines_follow_the_scene(scenes):
    for seed, scene in enumerate(scenes[:10]):
        lines = kitti_label_lines(scene, np.random.default_rng(seed))
        assert len(lines) == len(scene.objects)
        for line, obj in zip(lines, scene.objects):
            fields = line.split()
            assert len(fields) == 15
            box = [float(v) for v in fields[4:8]]
            if obj.is_group:
                assert fields[0] == 'DontCare'
                x1, y1, x2, y2 = obj.bbox  # covered with a 1 px margin
                assert box[0] <= x1 and box[1] <= y1
                assert box[2] >= x2 and box[3] >= y2
                continue
            assert fields[0] == obj.kind and box == obj.bbox
            assert float(fields[1]) == pytest.approx(obj.truncated, abs=0.006)
            occluded = int(fields[2])
            assert occluded == (0 if obj.hidden < 0.08 else
                                1 if obj.hidden < 0.4 else 2)
            alpha, dims, depth = float(fields[3]), fields[8:11], float(
                fields[13])
            assert -math.pi <= alpha <= math.pi
            assert all(float(d) > 0 for d in dims) and depth > 0


def test_variety_of_the_scenes(scenes):
    labelled = [o for s in scenes for o in s.objects if not o.is_group]
    heights = np.array([o.bbox[3] - o.bbox[1] for o in labelled])
    truncated = np.array([o.truncated > 0.01 for o in labelled])
    kinds = {o.kind for o in labelled}
    levels = {(0 if o.hidden < 0.08 else 1 if o.hidden < 0.4 else 2)
              for o in labelled}
    assert kinds == {'Car', 'Pedestrian', 'Cyclist', 'Van'}
    assert 0.15 <= truncated.mean() <= 0.4
    assert (heights < 25).any() and (heights >= 25).mean() > 0.4
    assert heights.max() <= 0.62 * HEIGHT + 1
    assert levels == {0, 1, 2}
    assert sum(any(o.is_group for o in s.objects) for s in scenes) > 12
    counts = [sum(not o.is_group for o in s.objects) for s in scenes]
    assert min(counts) >= 1 and max(counts) <= 8


def test_cityscapes_polygons_outline_the_drawn_parts(scenes):
    for scene in scenes[:10]:
        objects = cityscapes_objects(scene)
        assert [o['label'] for o in objects[:2]] == ['sky', 'road']
        parts = [(obj, mask) for obj in scene.objects
                 for mask in obj.parts.values()
                 if _in_image(mask, obj.x0, obj.y0).any()]
        assert len(objects) - 2 == len(parts)
        for ann, (obj, mask) in zip(objects[2:], parts):
            xs, ys = np.array(ann['polygon']).T
            assert [xs.min(), ys.min(), xs.max() + 1,
                    ys.max() + 1] == _extent(_in_image(mask, obj.x0, obj.y0))


def test_same_seed_same_files_other_seed_other_images(tmp_path):
    roots = [
        make_demo_kitti(str(tmp_path / name), 2, 1, seed=seed)
        for name, seed in (('a', 1), ('b', 1), ('c', 2))
    ]
    files = [
        osp.join(folder, name)
        for folder in ('training/image_2', 'training/label_2', 'ImageSets')
        for name in os.listdir(osp.join(roots[0], folder))
    ]
    assert len(files) == 3 + 3 + 3
    match, mismatch, errors = filecmp.cmpfiles(
        roots[0], roots[1], files, shallow=False)
    assert len(match) == len(files)
    image = 'training/image_2/000000.png'
    assert not filecmp.cmp(
        osp.join(roots[0], image), osp.join(roots[2], image), shallow=False)
    assert cv2.imread(osp.join(roots[0], image)).shape == (HEIGHT, WIDTH, 3)


def test_refuses_to_replace_other_folders(tmp_path):
    (tmp_path / 'kitti').mkdir()
    (tmp_path / 'kitti' / 'mine.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='is not empty'):
        make_demo_data(str(tmp_path), 'kitti', 1, 1)
    with pytest.raises(FileExistsError, match='not demo data'):
        make_demo_data(str(tmp_path), 'kitti', 1, 1, overwrite=True)
    assert (tmp_path / 'kitti' / 'mine.txt').exists()
    root = make_demo_data(str(tmp_path), 'cityscapes', 1, 1)
    make_demo_data(str(tmp_path), 'cityscapes', 2, 1, overwrite=True)
    assert len(os.listdir(osp.join(root, 'leftImg8bit/train/aachen'))) == 1
    assert len(os.listdir(osp.join(root, 'leftImg8bit/train/bremen'))) == 1
    with pytest.raises(ValueError, match='format must be one of'):
        make_demo_data(str(tmp_path), 'coco', 1, 1)
