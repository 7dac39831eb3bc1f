"""Every kind of bad input: a clear error naming the file (and line), or
with ``on_bad_sample='skip'`` a logged skip counted in the summary."""
import json
import os
import os.path as osp

import pytest

from yolo_plugin.datasets import BadSampleError, CityscapesGtFineDataset, KittiDataset
from yolo_plugin.datasets.bad_samples import summarize_skips

GOOD_CAR = ('Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 3.69 '
            '-16.53 2.39 58.49 1.57')


def _label(root, frame='000001'):
    return osp.join(root, 'training/label_2', f'{frame}.txt')


def _image(root, frame='000001'):
    return osp.join(root, 'training/image_2', f'{frame}.png')


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def _second_line(root, line):
    _write(_label(root), GOOD_CAR + '\n' + line + '\n')


def _replace_car(old, new):
    return lambda root: _second_line(root, GOOD_CAR.replace(old, new))


# name -> (damage(root), offending place, kind, text in the message); the
# place is the damaged file of frame 000001 (with ':2' the label's line 2).
KITTI_CASES = {
    'missing image': (lambda r: os.remove(_image(r)), 'image',
                      'missing image', 'image file not found'),
    'corrupt image': (lambda r: _write(_image(r), 'not a png'), 'image',
                      'corrupt image', 'not a readable image'),
    'missing label file': (lambda r: os.remove(_label(r)), 'label',
                           'missing label file', 'label file not found'),
    'wrong field count':
    (lambda r: _second_line(r, 'Car 0.00 0 1.85 387.63'), 'label:2',
     'bad label line', 'expected 15 fields (16 with a score), got 5'),
    'non-numeric value':
    (_replace_car('1.85', 'abc'), 'label:2', 'bad label line',
     "field 'alpha' is not a finite number: 'abc'"),
    'non-integer occluded':
    (_replace_car('0.00 0 ', '0.00 0.5 '), 'label:2', 'bad label line',
     "field 'occluded' is not an integer: '0.5'"),
    'box outside the image':
    (_replace_car('387.63 181.54 423.81', '1300.00 181.54 1400.00'),
     'label:2', 'bad box', 'lies outside the image (1242x375)'),
    'zero area box': (_replace_car('423.81', '387.63'), 'label:2', 'bad box',
                      'has zero or negative area'),
    'unknown class name': (_replace_car('Car', 'Bus'), 'label:2',
                           'unknown class', "unknown KITTI type 'Bus'"),
}


def _place(root, place):
    path = _image(root) if place == 'image' else _label(root)
    return path + place[len('label'):] if place.startswith('label') else path


@pytest.mark.parametrize('case', list(KITTI_CASES))
def test_kitti_bad_sample_raises_naming_file_and_line(kitti_root, case):
    damage, place, kind, text = KITTI_CASES[case]
    damage(kitti_root)
    with pytest.raises(BadSampleError) as info:
        KittiDataset(data_root=kitti_root, split='val')
    assert str(info.value).startswith(_place(kitti_root, place) + ': ')
    assert text in str(info.value)
    assert info.value.kind == kind


@pytest.mark.parametrize('case', list(KITTI_CASES))
def test_kitti_bad_sample_is_skipped_and_counted(kitti_root, case):
    damage, _, kind, _ = KITTI_CASES[case]
    damage(kitti_root)
    dataset = KittiDataset(
        data_root=kitti_root, split='val', on_bad_sample='skip')
    assert [dataset.get_data_info(i)['img_id']
            for i in range(len(dataset))] == [3]
    assert [err.kind for err in dataset.skipped_samples] == [kind]
    assert summarize_skips('KittiDataset', dataset.skipped_samples, 2) == (
        f'KittiDataset: skipped 1 of 2 samples: 1 {kind}')


def test_summary_counts_each_kind():
    errors = [
        BadSampleError.at('a', 'x', 'missing image'),
        BadSampleError.at('b', 'x', 'bad box', line=3),
        BadSampleError.at('c', 'x', 'missing image')
    ]
    assert summarize_skips('D', errors, 10) == (
        'D: skipped 3 of 10 samples: 1 bad box, 2 missing image')
    assert str(errors[1]) == 'b:3: x'


def test_missing_split_file_raises_even_when_skipping(kitti_root):
    path = osp.join(kitti_root, 'ImageSets', 'val.txt')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=f'{path}: split file not'):
        KittiDataset(data_root=kitti_root, split='val', on_bad_sample='skip')


def test_bad_split_file_line_names_the_line(kitti_root):
    path = osp.join(kitti_root, 'ImageSets', 'val.txt')
    _write(path, '000001\n\n00000x\n')
    with pytest.raises(ValueError, match=f"{path}:3: a frame id must be "
                       "digits, got '00000x'"):
        KittiDataset(data_root=kitti_root, split='val')
    _write(path, '000001\n000001\n')
    with pytest.raises(ValueError, match=f'{path}:2: frame 000001 listed '
                       'twice'):
        KittiDataset(data_root=kitti_root, split='val')


def test_missing_image_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        KittiDataset(data_root=str(tmp_path), split=None)


def test_bad_option_value_raises(kitti_root):
    with pytest.raises(ValueError, match='on_bad_sample must be one of'):
        KittiDataset(data_root=kitti_root, on_bad_sample='ignore')


def _truncate_png(path):
    with open(path, 'rb') as f:
        data = f.read()
    _write_bytes(path, data[:len(data) // 2])


def _write_bytes(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def test_corrupt_pixels_found_at_load_time_name_the_file(kitti_root):
    # A valid header passes the build; decoding the pixels fails.
    _truncate_png(_image(kitti_root))
    pipeline = [dict(type='LoadImageFromPackOrFile')]
    dataset = KittiDataset(
        data_root=kitti_root, split='val', pipeline=pipeline)
    assert dataset.get_data_info(0)['width'] == 1242
    with pytest.raises(BadSampleError, match=f'{_image(kitti_root)}: cannot '
                       'decode the image'):
        dataset[0]
    skipping = KittiDataset(
        data_root=kitti_root,
        split='val',
        pipeline=pipeline,
        on_bad_sample='skip')
    # mmengine draws other indices at random until one loads.
    assert skipping[0]['img_path'].endswith('000003.png')
    assert skipping.load_time_skips >= 1
    testing = KittiDataset(
        data_root=kitti_root,
        split='val',
        pipeline=pipeline,
        on_bad_sample='skip',
        test_mode=True)
    with pytest.raises(BadSampleError, match='cannot decode'):
        testing[0]


def _json_path(root):
    return osp.join(root, 'gtFine/train/aachen',
                    'aachen_000001_000019_gtFine_polygons.json')


def _write_json_objects(root, objects, size=(2048, 1024)):
    _write(
        _json_path(root),
        json.dumps(dict(imgWidth=size[0], imgHeight=size[1], objects=objects)))


CAR = {'label': 'car', 'polygon': [[1, 1], [5, 1], [5, 5]]}
CITYSCAPES_CASES = {
    'malformed json': (lambda r: _write(_json_path(r), '{"imgHeight": 1024,\n'
                                        '"objects": [}'), ':2: malformed JSON',
                       'malformed json'),
    'missing keys': (lambda r: _write(_json_path(r), '{"objects": []}'),
                     ': expected a JSON object with imgHeight',
                     'malformed json'),
    'missing json': (lambda r: os.remove(_json_path(r)),
                     ': polygon file not found', 'missing label file'),
    'unknown label': (lambda r: _write_json_objects(
        r, [CAR, dict(CAR, label='spaceship')]),
                      ": object #1 (label 'spaceship'): unknown Cityscapes "
                      'label', 'unknown class'),
    'short polygon': (lambda r: _write_json_objects(
        r, [dict(CAR, polygon=[[1, 1], [2, 2]])]),
                      ": object #0 (label 'car'): polygon must be a list of "
                      'at least 3', 'malformed json'),
    'non-numeric polygon': (lambda r: _write_json_objects(
        r, [dict(CAR, polygon=[[1, 1], [2, 'a'], [3, 3]])]),
                            'polygon must be a list', 'malformed json'),
    'polygon outside': (lambda r: _write_json_objects(
        r, [dict(CAR, polygon=[[3000, 1], [3010, 1], [3010, 9]])]),
                        ': box [3000, 1, 3011, 10] lies outside the image',
                        'bad box'),
    'size mismatch': (lambda r: _write_json_objects(r, [CAR], (1024, 512)),
                      ': imgWidth x imgHeight 1024x512 differs from the '
                      'image (2048x1024)', 'size mismatch'),
    'flat car polygon': (lambda r: _write_json_objects(
        r, [dict(CAR, polygon=[[1, 1], [3, 3], [5, 5]])]),
                         ": object #0 (label 'car'): polygon [[1, 1], [3, 3], "
                         '[5, 5]] encloses no area', 'bad polygon'),
    'missing image': (lambda r: os.remove(
        osp.join(r, 'leftImg8bit/train/aachen',
                 'aachen_000001_000019_leftImg8bit.png')),
                      '_leftImg8bit.png: image file not found',
                      'missing image'),
}


@pytest.mark.parametrize('case', list(CITYSCAPES_CASES))
def test_cityscapes_bad_sample(cityscapes_root, case):
    damage, text, kind = CITYSCAPES_CASES[case]
    damage(cityscapes_root)
    with pytest.raises(BadSampleError) as info:
        CityscapesGtFineDataset(data_root=cityscapes_root, split='train')
    assert text in str(info.value) and info.value.kind == kind
    assert 'aachen_000001_000019' in str(info.value)
    dataset = CityscapesGtFineDataset(
        data_root=cityscapes_root, split='train', on_bad_sample='skip')
    assert len(dataset) == 1
    assert [err.kind for err in dataset.skipped_samples] == [kind]
