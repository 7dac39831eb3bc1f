"""Synthetic scenes (:mod:`.scene`) written as data sets in the raw KITTI
and Cityscapes layouts: KITTI label lines with plausible 3D fields (groups
as ``DontCare``), Cityscapes polygons a part (groups as ``cargroup`` /
``persongroup``). Images and labels depend only on the seed and the
image's split and index."""
import json
import math
import os
import os.path as osp
import shutil
from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..kitti_format import DONT_CARE, format_kitti_line, write_kitti_file
from .scene import Scene, SceneObject, render_scene

KITTI_DEMO_SIZE = (621, 188)  # (W, H): KITTI's 1242 x 375, halved
CITYSCAPES_DEMO_SIZE = (512, 256)  # (W, H): Cityscapes' 2048 x 1024 / 4
DEMO_FORMATS = ('kitti', 'cityscapes')
MARKER_FILE = 'demo_info.json'
GENERATOR_VERSION = 1

# kind -> (width range, length range) in metres, for the 3D fields
OBJECT_FOOTPRINTS = {
    'Car': ((1.55, 1.80), (3.6, 4.6)),
    'Pedestrian': ((0.50, 0.70), (0.5, 0.9)),
    'Cyclist': ((0.50, 0.70), (1.6, 1.9)),
    'Van': ((1.80, 2.05), (4.5, 5.5)),
}
CITYSCAPES_LABEL_OF_PART = {
    'Car': 'car',
    'Van': 'truck',
    'Pedestrian': 'person',
    'rider': 'rider',
    'bicycle': 'bicycle',
    'CarGroup': 'cargroup',
    'PersonGroup': 'persongroup',
}
CITYSCAPES_CITIES = {
    'train': ('aachen', 'bremen'),
    'val': ('frankfurt', ),
    'test': ('berlin', )
}
SPLIT_CODES = {'train': 0, 'val': 1, 'test': 2}


def _occlusion_level(hidden: float) -> int:
    """KITTI ``occluded``: 0 fully visible, 1 partly, 2 largely."""
    return 0 if hidden < 0.08 else (1 if hidden < 0.4 else 2)


def _wrap_angle(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def kitti_label_lines(scene: Scene, rng: np.random.Generator) -> List[str]:
    """The KITTI label lines (15 fields) of a scene, with plausible 3D
    fields from a pinhole camera at KITTI's height; a group is a
    ``DontCare`` region with the other fields unknown."""
    lines = []
    cx = scene.image.shape[1] / 2
    for obj in scene.objects:
        if obj.is_group:
            lines.append(format_kitti_line(DONT_CARE, _dont_care_box(obj, scene)))
            continue
        h, w = obj.pixels.shape[:2]
        depth = scene.focal * obj.real_height / h
        x = (obj.x0 + w / 2 - cx) * depth / scene.focal
        y = (obj.y0 + h - scene.horizon) * depth / scene.focal
        width_range, length_range = OBJECT_FOOTPRINTS[obj.kind]
        rotation_y = (-math.pi / 2 if obj.view == 'rear' else
                      (0.0 if obj.facing > 0 else math.pi))
        rotation_y = _wrap_angle(rotation_y + rng.normal(0, 0.08))
        alpha = _wrap_angle(rotation_y - math.atan2(x, depth))
        dimensions = (obj.real_height, rng.uniform(*width_range), rng.uniform(*length_range))
        lines.append(format_kitti_line(
            obj.kind, obj.bbox, truncated=obj.truncated, occluded=_occlusion_level(obj.hidden),
            alpha=alpha, dimensions=dimensions, location=(x, y, depth), rotation_y=rotation_y))
    return lines


def _dont_care_box(obj: SceneObject, scene: Scene) -> List[int]:
    """A group's box with a one-pixel margin, inside the image."""
    height, width = scene.image.shape[:2]
    x1, y1, x2, y2 = obj.bbox
    return [max(x1 - 1, 0), max(y1 - 1, 0), min(x2 + 1, width),
            min(y2 + 1, height)]


def cityscapes_objects(scene: Scene) -> List[dict]:
    """The ``objects`` of a Cityscapes polygon json: sky and road first,
    then one polygon per object part (rider and bicycle apart) in drawing
    order, each the outline of the part's pixels inside the image."""
    height, width = scene.image.shape[:2]
    objects = [
        dict(label='sky', polygon=[[0, 0], [width - 1, 0],
                                   [width - 1, scene.horizon - 1],
                                   [0, scene.horizon - 1]]),
        dict(label='road', polygon=[[0, scene.horizon], [width - 1,
                                                          scene.horizon],
                                    [width - 1, height - 1], [0, height - 1]])
    ]
    for obj in scene.objects:
        for part, mask in obj.parts.items():
            label = CITYSCAPES_LABEL_OF_PART.get(
                part if obj.kind == 'Cyclist' else obj.kind)
            polygon = _outline(mask, obj.x0, obj.y0, width, height)
            if polygon:
                objects.append(dict(label=label, polygon=polygon))
    return objects


def _outline(mask: np.ndarray, x0: int, y0: int, width: int,
             height: int) -> List[List[int]]:
    """Polygon (image pixels) around the in-image pixels of a patch mask;
    its vertices' extent equals the pixels' extent."""
    canvas = np.zeros((height, width), np.uint8)
    h, w = mask.shape
    ys = slice(max(y0, 0), min(y0 + h, height))
    xs = slice(max(x0, 0), min(x0 + w, width))
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return []
    canvas[ys, xs] = mask[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop -
                          x0]
    contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    points = contours[0] if len(contours) == 1 else cv2.convexHull(
        np.concatenate(contours))
    points = points.reshape(-1, 2)
    if len(points) < 3:  # a line or a dot: the rectangle around it
        (x1, y1), (x2, y2) = points.min(0), points.max(0)
        points = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    return points.tolist()


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def _prepare_root(root: str, overwrite: bool, info: dict) -> None:
    if osp.isdir(root) and os.listdir(root):
        if not overwrite:
            raise FileExistsError(f'{root} is not empty; pass overwrite=True '
                                  '(--overwrite) to replace the demo data')
        if not osp.isfile(osp.join(root, MARKER_FILE)):
            raise FileExistsError(
                f'{root} holds no {MARKER_FILE}: not demo data, left alone')
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, MARKER_FILE), 'w') as f:
        json.dump(info, f, indent=1)


def _write_png(path: str, img: np.ndarray) -> None:
    # Fast Huffman-only compression: noisy images gain little from more.
    params = [
        cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY
    ]
    if not cv2.imwrite(path, img, params):
        raise OSError(f'{path}: cannot write the image')


def make_demo_kitti(root: str,
                    num_train: int = 200,
                    num_val: int = 50,
                    num_test: int = 0,
                    seed: int = 0,
                    size: Tuple[int, int] = KITTI_DEMO_SIZE,
                    overwrite: bool = False) -> str:
    """Write a demo set in the raw KITTI layout under ``root``.

    Frames ``0 .. num_train-1`` are listed in ``ImageSets/train.txt``, the
    next ``num_val`` in ``val.txt`` (both in ``trainval.txt``), all in
    ``training/``; ``num_test`` unlabelled frames go to ``testing/image_2``
    and ``ImageSets/test.txt``. ``size`` is (W, H) pixels. Returns ``root``.
    """
    _prepare_root(root, overwrite, _info('kitti', num_train, num_val,
                                         num_test, seed, size))
    for folder in ('training/image_2', 'training/label_2', 'ImageSets'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    frames = {'train': range(num_train),
              'val': range(num_train, num_train + num_val),
              'test': range(num_test)}
    for split in ('train', 'val'):
        for frame in frames[split]:
            rng = _image_rng(seed, split, frame)
            scene = render_scene(rng, *size)
            _write_png(osp.join(root, 'training/image_2', f'{frame:06d}.png'),
                       scene.image)
            write_kitti_file(osp.join(root, 'training/label_2', f'{frame:06d}.txt'),
                             kitti_label_lines(scene, rng))
    if num_test:
        os.makedirs(osp.join(root, 'testing/image_2'), exist_ok=True)
        for frame in frames['test']:
            scene = render_scene(_image_rng(seed, 'test', frame), *size)
            _write_png(osp.join(root, 'testing/image_2', f'{frame:06d}.png'),
                       scene.image)
    split_files = {'train': frames['train'], 'val': frames['val'],
                   'trainval': range(num_train + num_val)}
    if num_test:
        split_files['test'] = frames['test']
    for name, ids in split_files.items():
        with open(osp.join(root, 'ImageSets', f'{name}.txt'), 'w') as f:
            f.writelines(f'{i:06d}\n' for i in ids)
    return root


def make_demo_cityscapes(root: str,
                         num_train: int = 200,
                         num_val: int = 50,
                         num_test: int = 0,
                         seed: int = 0,
                         size: Tuple[int, int] = CITYSCAPES_DEMO_SIZE,
                         overwrite: bool = False) -> str:
    """Write a demo set in the raw Cityscapes layout under ``root``:
    ``leftImg8bit/{split}/{city}/*_leftImg8bit.png`` and (train, val)
    ``gtFine/{split}/{city}/*_gtFine_polygons.json``. Returns ``root``."""
    _prepare_root(root, overwrite, _info('cityscapes', num_train, num_val,
                                         num_test, seed, size))
    counts = {'train': num_train, 'val': num_val, 'test': num_test}
    for split, count in counts.items():
        cities = CITYSCAPES_CITIES[split]
        for index in range(count):
            city = cities[index % len(cities)]
            stem = f'{city}_{index // len(cities):06d}_000019'
            scene = render_scene(_image_rng(seed, split, index), *size)
            image_dir = osp.join(root, 'leftImg8bit', split, city)
            os.makedirs(image_dir, exist_ok=True)
            _write_png(osp.join(image_dir, f'{stem}_leftImg8bit.png'),
                       scene.image)
            if split == 'test':
                continue
            label_dir = osp.join(root, 'gtFine', split, city)
            os.makedirs(label_dir, exist_ok=True)
            with open(osp.join(label_dir, f'{stem}_gtFine_polygons.json'),
                      'w') as f:
                json.dump(
                    dict(
                        imgHeight=size[1],
                        imgWidth=size[0],
                        objects=cityscapes_objects(scene)), f)
    return root


def _info(fmt, num_train, num_val, num_test, seed, size) -> dict:
    return dict(
        format=fmt,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
        size=list(size),
        generator_version=GENERATOR_VERSION)


def make_demo_data(out_dir: str,
                   fmt: str = 'kitti',
                   num_train: int = 200,
                   num_val: int = 50,
                   num_test: int = 0,
                   seed: int = 0,
                   overwrite: bool = False,
                   size: Optional[Tuple[int, int]] = None) -> str:
    """Write demo data of format ``fmt`` to ``out_dir/fmt``; return that
    folder. ``size`` (W, H) defaults to the format's demo size."""
    if fmt not in DEMO_FORMATS:
        raise ValueError(f'format must be one of {DEMO_FORMATS}, got {fmt!r}')
    make = make_demo_kitti if fmt == 'kitti' else make_demo_cityscapes
    default_size = KITTI_DEMO_SIZE if fmt == 'kitti' else CITYSCAPES_DEMO_SIZE
    return make(
        osp.join(out_dir, fmt),
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
        size=size or default_size,
        overwrite=overwrite)
