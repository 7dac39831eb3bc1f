"""Label files as people have them: empty files are background frames,
ignored regions of zero area are dropped and counted, objects of the
classes with such boxes stay errors; all of it through packing, the
training pipeline and the loss."""
import json
import logging
import os.path as osp
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from yolo_plugin.datasets import (BadSampleError, CityscapesGtFineDataset,
                                  KittiDataset, PackedImageFile, write_pack)
from yolo_plugin.datasets import base_driving_dataset
from yolo_plugin.datasets import packed as packed_module
from yolo_plugin.evaluation.functional.kitti_files import read_kitti_file

CONFIGS = Path(__file__).parents[2] / 'configs'
CAR = ('Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 -16.53 '
       '2.39 58.49 1.57')
DONT_CARE = 'DontCare -1 -1 -10 {} -1 -1 -1 -1000 -1000 -1000 -10'
# Boxes (left top right bottom) of zero or negative area.
RIGHT_BEFORE_LEFT = '590.61 169.71 503.89 190.13'  # older KITTI releases
ZERO_WIDTH = '503.89 169.71 503.89 190.13'
ZERO_HEIGHT = '503.89 169.71 590.61 169.71'
KITTI_NAME = "KittiDataset({'split': 'val', 'folder': 'training'})"
CITYSCAPES_NAME = "CityscapesGtFineDataset({'split': 'train'})"


@pytest.fixture
def logged(monkeypatch):
    """(level, message) of each line the datasets log."""
    lines = []
    monkeypatch.setattr(
        base_driving_dataset, 'print_log',
        lambda msg, logger=None, level=logging.INFO: lines.append(
            (level, msg)))
    return lines


def _kitti_label(root, frame='000001'):
    return osp.join(root, 'training/label_2', f'{frame}.txt')


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def _kitti_val(root, **kwargs):
    """Frames 000001 and 000003."""
    return KittiDataset(data_root=root, split='val', **kwargs)


# KITTI.
@pytest.mark.parametrize(
    'text', ['', '\n', ' \n\t\n\r\n'],
    ids=['no line', 'one blank line', 'blank lines'])
def test_empty_kitti_label_file_is_a_frame_without_objects(
        kitti_root, logged, text):
    _write(_kitti_label(kitti_root), text)
    dataset = _kitti_val(kitti_root)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert (info['img_id'], info['instances']) == (1, [])
    assert info['num_dropped_ignored_regions'] == 0
    assert dataset.get_data_info(1)['instances'] != []
    assert (dataset.num_empty_frames, dataset.num_dropped_ignored_regions,
            dataset.skipped_samples) == (1, 0, [])
    assert logged == [(logging.INFO, f'{KITTI_NAME}: 1 of 2 frames have no '
                       'objects (kept as background frames)')]


def test_frames_with_objects_log_nothing(kitti_root, logged):
    dataset = _kitti_val(kitti_root)
    assert (dataset.num_empty_frames,
            dataset.num_dropped_ignored_regions) == (0, 0)
    assert logged == []


def test_frames_without_annotations_are_not_counted(kitti_root, logged):
    dataset = KittiDataset(data_root=kitti_root, split='test')
    assert dataset.get_data_info(0)['instances'] == []
    assert dataset.num_empty_frames == 0 and logged == []


def test_filter_empty_gt_still_leaves_empty_frames_out(kitti_root):
    _write(_kitti_label(kitti_root), '')
    kwargs = dict(filter_cfg=dict(filter_empty_gt=True))
    assert len(_kitti_val(kitti_root, **kwargs)) == 1
    assert len(_kitti_val(kitti_root, test_mode=True, **kwargs)) == 2
    assert len(_kitti_val(kitti_root)) == 2


@pytest.mark.parametrize(
    'line', [
        DONT_CARE.format(RIGHT_BEFORE_LEFT),
        DONT_CARE.format(ZERO_WIDTH),
        DONT_CARE.format(ZERO_HEIGHT),
        CAR.replace('Car', 'Van').replace('423.81', '300.00'),
    ],
    ids=['DontCare right < left', 'DontCare zero width',
         'DontCare zero height', 'Van outside the classes'])
def test_degenerate_ignored_region_is_dropped_and_counted(
        kitti_root, logged, line):
    _write(_kitti_label(kitti_root), f'{CAR}\n{line}\n{CAR}\n')
    dataset = _kitti_val(kitti_root)
    info = dataset.get_data_info(0)
    assert [(i['kitti_type'], i['bbox']) for i in info['instances']
            ] == [('Car', [387.63, 181.54, 423.81, 203.12])] * 2
    assert info['num_dropped_ignored_regions'] == 1
    assert dataset.get_data_info(1)['num_dropped_ignored_regions'] == 0
    assert (dataset.num_dropped_ignored_regions,
            dataset.num_empty_frames) == (1, 0)
    assert logged == [(logging.WARNING, f'{KITTI_NAME}: dropped 1 degenerate '
                       'ignored regions (zero or negative area)')]


def test_frame_of_degenerate_dont_cares_only_is_empty(kitti_root, logged):
    _write(
        _kitti_label(kitti_root), DONT_CARE.format(RIGHT_BEFORE_LEFT) +
        '\n' + DONT_CARE.format(ZERO_WIDTH) + '\n')
    _write(_kitti_label(kitti_root, '000003'),
           CAR + '\n' + DONT_CARE.format(ZERO_HEIGHT) + '\n')
    dataset = _kitti_val(kitti_root)
    assert dataset.get_data_info(0)['instances'] == []
    assert (dataset.num_empty_frames,
            dataset.num_dropped_ignored_regions) == (1, 3)
    assert [msg for _, msg in logged] == [
        f'{KITTI_NAME}: 1 of 2 frames have no objects (kept as background '
        'frames)',
        f'{KITTI_NAME}: dropped 3 degenerate ignored regions (zero or '
        'negative area)'
    ]


@pytest.mark.parametrize(
    'line, class_map', [
        (CAR.replace('423.81', '300.00'), None),
        (CAR.replace('203.12', '181.54'), None),
        (CAR.replace('Car', 'Van').replace('423.81', '300.00'), {
            'Van': 'Car'
        }),
    ],
    ids=['right < left', 'zero height', 'Van mapped into Car'])
def test_object_of_the_classes_with_a_degenerate_box_is_an_error(
        kitti_root, line, class_map):
    path = _kitti_label(kitti_root)
    _write(path, f'{CAR}\n{line}\n')
    with pytest.raises(BadSampleError) as info:
        _kitti_val(kitti_root, class_map=class_map)
    assert str(info.value).startswith(f'{path}:2: box [')
    assert str(info.value).endswith('has zero or negative area')
    assert info.value.kind == 'bad box'


def test_ignored_region_outside_the_image_is_still_an_error(kitti_root):
    path = _kitti_label(kitti_root)
    _write(path, DONT_CARE.format('1300.00 169.71 1400.00 190.13') + '\n')
    with pytest.raises(BadSampleError, match=f'{path}:1: box .* lies outside '
                       'the image'):
        _kitti_val(kitti_root)


def test_skipped_frame_adds_no_dropped_region(kitti_root, logged):
    # Line 3 is bad: the frame is left out whole, its line 2 not counted.
    _write(
        _kitti_label(kitti_root),
        f'{CAR}\n{DONT_CARE.format(ZERO_WIDTH)}\nCar 0.00\n')
    dataset = _kitti_val(kitti_root, on_bad_sample='skip')
    assert len(dataset) == 1 and len(dataset.skipped_samples) == 1
    assert dataset.num_dropped_ignored_regions == 0
    assert not any('degenerate' in msg for _, msg in logged)


def test_evaluation_reads_an_empty_label_file(kitti_root):
    path = _kitti_label(kitti_root)
    _write(path, '\n\n')
    gt = read_kitti_file(path, with_score=False)
    assert gt['names'].shape == (0, ) and gt['bboxes'].shape == (0, 4)


# Cityscapes.
CITYSCAPES_CAR = {'label': 'car', 'polygon': [[1, 1], [5, 1], [5, 5]]}
ROAD = {'label': 'road', 'polygon': [[0, 0], [9, 0], [9, 9]]}


def _cityscapes_json(root):
    return osp.join(root, 'gtFine/train/aachen',
                    'aachen_000001_000019_gtFine_polygons.json')


def _write_objects(root, objects):
    _write(
        _cityscapes_json(root),
        json.dumps(dict(imgWidth=2048, imgHeight=1024, objects=objects)))


def _cityscapes_train(root, **kwargs):
    return CityscapesGtFineDataset(data_root=root, split='train', **kwargs)


@pytest.mark.parametrize('objects', [[], [ROAD]], ids=['none', 'stuff only'])
def test_cityscapes_frame_without_objects(cityscapes_root, logged, objects):
    _write_objects(cityscapes_root, objects)
    dataset = _cityscapes_train(cityscapes_root)
    assert len(dataset) == 2
    assert dataset.get_data_info(1)['instances'] == []
    assert dataset.num_empty_frames == 1
    assert logged == [(logging.INFO, f'{CITYSCAPES_NAME}: 1 of 2 frames have '
                       'no objects (kept as background frames)')]


# Polygons whose points lie on one line: [min x, min y, max x + 1, max y + 1]
# still gives them a box of at least one pixel.
FLAT_POLYGONS = {
    'horizontal': [[600, 420], [800, 420], [700, 420]],
    'diagonal': [[600, 420], [610, 430], [620, 440], [605, 425]],
    'one point': [[600, 420]] * 3,
}


@pytest.mark.parametrize('label', ['cargroup', 'caravan'])
@pytest.mark.parametrize('polygon', list(FLAT_POLYGONS))
def test_cityscapes_flat_ignored_polygon_is_dropped(cityscapes_root, logged,
                                                    label, polygon):
    flat = dict(label=label, polygon=FLAT_POLYGONS[polygon])
    _write_objects(cityscapes_root, [CITYSCAPES_CAR, flat, CITYSCAPES_CAR])
    dataset = _cityscapes_train(cityscapes_root)
    info = dataset.get_data_info(1)
    assert [i['cityscapes_label'] for i in info['instances']] == ['car'] * 2
    assert info['num_dropped_ignored_regions'] == 1
    assert dataset.num_dropped_ignored_regions == 1
    assert logged == [(logging.WARNING, f'{CITYSCAPES_NAME}: dropped 1 '
                       'degenerate ignored regions (zero or negative area)')]


def test_cityscapes_crossing_polygon_is_not_flat(cityscapes_root):
    # A bow tie: its signed (shoelace) area is 0, yet it encloses two
    # triangles.
    bow_tie = dict(
        label='cargroup', polygon=[[600, 420], [620, 440], [620, 420],
                                   [600, 440]])
    _write_objects(cityscapes_root, [bow_tie])
    dataset = _cityscapes_train(cityscapes_root)
    (instance, ) = dataset.get_data_info(1)['instances']
    assert instance['bbox'] == [600.0, 420.0, 621.0, 441.0]
    assert dataset.num_dropped_ignored_regions == 0


@pytest.mark.parametrize('polygon', list(FLAT_POLYGONS))
def test_cityscapes_flat_polygon_of_a_class_is_an_error(
        cityscapes_root, polygon):
    _write_objects(cityscapes_root, [
        CITYSCAPES_CAR,
        dict(label='car', polygon=FLAT_POLYGONS[polygon])
    ])
    with pytest.raises(BadSampleError) as info:
        _cityscapes_train(cityscapes_root)
    assert str(info.value).startswith(
        f"{_cityscapes_json(cityscapes_root)}: object #1 (label 'car'): "
        'polygon [[')
    assert str(info.value).endswith(
        'encloses no area (its points lie on one line)')
    assert info.value.kind == 'bad polygon'
    dataset = _cityscapes_train(cityscapes_root, on_bad_sample='skip')
    assert len(dataset) == 1


# Packing, the training pipeline and the loss.
def _messy_kitti(root):
    """Frame 000001 empty, 000003 with a car and a degenerate DontCare."""
    _write(_kitti_label(root), '')
    _write(
        _kitti_label(root, '000003'),
        f'{CAR}\n{DONT_CARE.format(RIGHT_BEFORE_LEFT)}\n')


@pytest.mark.parametrize('resize', [None, (320, 96)])
def test_pack_keeps_empty_frames_and_counts(kitti_root, tmp_path, logged,
                                            resize):
    _messy_kitti(kitti_root)
    raw = _kitti_val(kitti_root)
    pack = write_pack(
        raw, str(tmp_path / 'val.pack'), resize=resize, show_progress=False)
    assert [s['data_info']['instances'] == []
            for s in PackedImageFile(pack).samples] == [True, False]
    logged.clear()
    packed = _kitti_val(
        kitti_root,
        packed_file=pack,
        pipeline=[
            dict(type='LoadImageFromPackOrFile'),
            dict(type='LoadAnnotations', with_bbox=True)
        ])
    assert (packed.num_empty_frames,
            packed.num_dropped_ignored_regions) == (1, 1)
    assert [msg for _, msg in logged] == [
        f'{KITTI_NAME}: 2 samples from {pack} (0 skipped when packing)',
        f'{KITTI_NAME}: 1 of 2 frames have no objects (kept as background '
        'frames)',
        f'{KITTI_NAME}: dropped 1 degenerate ignored regions (zero or '
        'negative area)'
    ]
    empty = packed[0]
    assert empty['gt_bboxes'].tensor.shape == (0, 4)
    assert empty['gt_bboxes_labels'].shape == (0, )
    assert empty['img'].shape[:2] == (
        (375, 1242) if resize is None else (96, 318))


def test_pack_of_an_older_format_is_refused(kitti_root, tmp_path,
                                            monkeypatch):
    monkeypatch.setattr(packed_module, 'FORMAT_VERSION', 1)
    pack = write_pack(
        _kitti_val(kitti_root), str(tmp_path / 'old.pack'),
        show_progress=False)
    monkeypatch.undo()
    with pytest.raises(ValueError, match='pack format version 1, this code '
                       'reads version 2; repack it'):
        PackedImageFile(pack)


def _small_detector():
    """The base config's YOLOv3, narrow and shallow, for KITTI's 3
    classes."""
    cfg = Config.fromfile(str(CONFIGS / '_base_/models/yolov3_d53.py'))
    for part in ('backbone', 'neck', 'bbox_head'):
        cfg.model[part]['widen_factor'] = 0.125
    cfg.model.backbone.deepen_factor = 0.33
    cfg.model.bbox_head.num_classes = 3
    with DefaultScope.overwrite_default_scope('yolo_plugin'):
        model = ROOT_MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def test_empty_frame_trains_through_pipeline_and_loss(kitti_root):
    _messy_kitti(kitti_root)
    pipeline = Config.fromfile(
        str(CONFIGS / '_base_/datasets/kitti.py')).train_pipeline
    dataset = _kitti_val(kitti_root, pipeline=pipeline)
    random.seed(0)
    np.random.seed(0)
    empty, with_car = dataset[0], dataset[1]
    assert len(empty['data_samples'].gt_instances) == 0
    assert len(empty['data_samples'].ignored_instances) == 0
    assert len(with_car['data_samples'].gt_instances) == 1
    model = _small_detector()
    batch = model.data_preprocessor(
        pseudo_collate([empty, with_car]), training=True)
    losses = model(**batch, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters()
        if p.grad is not None)
