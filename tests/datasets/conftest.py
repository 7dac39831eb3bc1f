"""Small real-layout KITTI and Cityscapes trees written by hand, fresh for
every test (tests may damage them), and the ``yolo_plugin`` scope."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

# Label lines in KITTI's format (values as in KITTI's own files).
KITTI_LABELS = {
    '000000': [
        'Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 '
        '1.84 1.47 8.41 0.01'
    ],
    '000001': [
        'Truck 0.00 0 -1.57 599.41 156.40 629.75 189.25 2.85 2.63 12.34 0.47 '
        '1.49 69.44 -1.56',
        'Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 '
        '2.39 58.49 1.57',
        'Cyclist 0.00 3 -1.65 676.60 163.95 688.98 193.93 1.86 0.60 2.02 4.59 '
        '1.32 45.84 -1.55',
        'DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 '
        '-1000 -10',
    ],
    '000002': [
        'Van 0.00 1 -1.59 300.00 170.00 380.50 230.00 2.10 1.90 4.90 -5.10 '
        '1.70 25.00 -1.79',
        'Car 0.88 3 -0.69 0.00 192.37 402.31 369.00 1.60 1.57 3.23 -2.70 '
        '1.74 3.68 -1.29',
    ],
    # A 16th field (score) as in result files; the image is 1224 x 370.
    '000003': [
        'Car 0.12 1 2.00 1100.00 150.50 1224.00 260.00 1.50 1.60 3.90 7.00 '
        '1.65 12.00 2.50 0.95'
    ],
}
KITTI_SIZES = {'000003': (1224, 370)}  # (w, h); the others 1242 x 375
KITTI_SPLITS = {
    'train': ['000000', '000002'],
    'val': ['000001', '000003'],
    'trainval': ['000000', '000001', '000002', '000003'],
    'test': ['000000', '000001'],
}

CITYSCAPES_OBJECTS = [
    {'label': 'road', 'polygon': [[0, 500], [2047, 500], [2047, 1023],
                                  [0, 1023]]},
    {'label': 'car', 'polygon': [[100, 400], [300, 390], [320, 520],
                                 [110, 530]]},
    {'label': 'cargroup', 'polygon': [[600, 420], [800, 420], [800, 470],
                                      [600, 470]]},
    {'label': 'person', 'polygon': [[2000, 300], [2060, 300], [2060, 600],
                                    [2000, 600]]},
    {'label': 'rider', 'polygon': [[900, 350], [940, 340], [950, 480],
                                   [905, 470]]},
    {'label': 'bicycle', 'polygon': [[880, 430], [970, 430], [975, 520],
                                     [885, 525]]},
    {'label': 'caravan', 'polygon': [[1200, 380], [1400, 380], [1400, 520],
                                     [1200, 520]]},
    {'label': 'persongroup', 'polygon': [[1500, 400], [1560, 400],
                                         [1560, 470], [1500, 470]]},
    {'label': 'car', 'deleted': 1, 'polygon': [[10, 10], [20, 10], [20, 20]]},
    {'label': 'license plate', 'polygon': [[150, 480], [180, 480],
                                           [180, 490]]},
]


def write_png(path: str, width: int, height: int, value: int = 0) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((height, width, 3), value, np.uint8))


@pytest.fixture(scope='session', autouse=True)
def yolo_plugin_scope():
    """Types in configs resolve in yolo_plugin's registries first."""
    init_default_scope('yolo_plugin')


@pytest.fixture
def kitti_root(tmp_path) -> str:
    """A KITTI tree: 4 labelled training frames, 2 testing frames, the
    four split files."""
    root = tmp_path / 'kitti'
    for frame, lines in KITTI_LABELS.items():
        width, height = KITTI_SIZES.get(frame, (1242, 375))
        write_png(str(root / 'training/image_2' / f'{frame}.png'), width,
                  height, value=int(frame) * 40)
        label = root / 'training/label_2' / f'{frame}.txt'
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text('\n'.join(lines) + '\n')
    for frame in KITTI_SPLITS['test']:
        write_png(str(root / 'testing/image_2' / f'{frame}.png'), 1242, 375)
    (root / 'ImageSets').mkdir()
    for split, frames in KITTI_SPLITS.items():
        (root / 'ImageSets' / f'{split}.txt').write_text('\n'.join(frames) +
                                                         '\n')
    return str(root)


@pytest.fixture
def cityscapes_root(tmp_path) -> str:
    """A Cityscapes tree: train/aachen with two 2048 x 1024 frames (the
    first with ``CITYSCAPES_OBJECTS``), val/frankfurt with one."""
    root = tmp_path / 'cityscapes'
    frames = [('train', 'aachen', 'aachen_000000_000019', CITYSCAPES_OBJECTS),
              ('train', 'aachen', 'aachen_000001_000019',
               CITYSCAPES_OBJECTS[:2]),
              ('val', 'frankfurt', 'frankfurt_000000_000294',
               CITYSCAPES_OBJECTS[1:3])]
    for split, city, stem, objects in frames:
        write_png(
            str(root / 'leftImg8bit' / split / city /
                f'{stem}_leftImg8bit.png'), 2048, 1024)
        ann = root / 'gtFine' / split / city / f'{stem}_gtFine_polygons.json'
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text(
            json.dumps(dict(imgHeight=1024, imgWidth=2048, objects=objects)))
    return str(root)
