"""Cityscapes polygon files at their edges (cases found by mutation
testing, docs/testing.md): the test split without labels, the ``deleted``
flag, labels and polygons that are not what the format says, flat polygons
after repeated points, boxes clipped at any distance, malformed JSON."""
import json
import shutil

import pytest

from yolo_plugin.datasets import BadSampleError, CityscapesGtFineDataset
from .conftest import write_png


def test_test_split_reads_images_only(cityscapes_root):
    """Cityscapes withholds the test labels: by default the test split needs
    no gtFine folder and gives frames without instances."""
    write_png(f'{cityscapes_root}/leftImg8bit/test/berlin/berlin_000000_000019_leftImg8bit.png',
              2048, 1024)
    dataset = CityscapesGtFineDataset(data_root=cityscapes_root, split='test', test_mode=True)
    assert not dataset.with_annotations
    assert [info['instances'] for info in dataset.load_data_list()] == [[]]


def test_other_splits_need_their_labels(cityscapes_root):
    shutil.rmtree(f'{cityscapes_root}/gtFine/val')
    with pytest.raises(FileNotFoundError, match='gtFine/val: Cityscapes folder not found'):
        CityscapesGtFineDataset(data_root=cityscapes_root, split='val')


def _train_frame_0(root, objects=None, text=None, **kwargs):
    """The instances of aachen_000000_000019 (train) with ``objects`` (or
    the file ``text``) as its polygon file."""
    path = f'{root}/gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json'
    with open(path, 'w') as f:
        f.write(text if text is not None else
                json.dumps(dict(imgHeight=1024, imgWidth=2048, objects=objects)))
    return CityscapesGtFineDataset(data_root=root, split='train', **kwargs).get_data_info(0)[
        'instances']


SQUARE = [[10, 20], [30, 20], [30, 40], [10, 40]]


def _error(root, objects=None, text=None):
    with pytest.raises(BadSampleError) as error:
        _train_frame_0(root, objects, text)
    return error.value.kind, str(error.value).split('_gtFine_polygons.json', 1)[1]


@pytest.mark.parametrize('deleted, kept', [(0, True), (False, True), (1, False), (True, False)])
def test_deleted_flag_of_zero_or_one(cityscapes_root, deleted, kept):
    instances = _train_frame_0(cityscapes_root, [dict(label='car', polygon=SQUARE,
                                                      deleted=deleted)])
    assert [i['bbox'] for i in instances] == ([[10.0, 20.0, 31.0, 41.0]] if kept else [])


@pytest.mark.parametrize('deleted', [2, -1, 'yes', None, 0.5])
def test_other_deleted_values_are_malformed(cityscapes_root, deleted):
    assert _error(cityscapes_root, [dict(label='car', polygon=SQUARE, deleted=deleted)]) == (
        'malformed json', f": object #0 (label 'car'): deleted must be 0 or 1 (or false, true), "
        f'got {deleted!r}')


@pytest.mark.parametrize('obj', [dict(polygon=SQUARE), dict(label=7, polygon=SQUARE), 'car'])
def test_object_without_a_label_string_is_malformed(cityscapes_root, obj):
    label = obj.get('label') if isinstance(obj, dict) else None
    assert _error(cityscapes_root, [dict(label='road', polygon=SQUARE), obj]) == (
        'malformed json', f': object #1 (label {label!r}): no label string')


@pytest.mark.parametrize('polygon', [
    [[10, 20], [30, 20], [True, 40]], [[10, 20], [30, 20], [30, 40, 1]], [[10, 20], [30, 20], 3],
    [[10, 20], [30, 20], [30, float('inf')]], [[10, 20], [30, 20], [30, 10 ** 400]], None,
    {'points': SQUARE}])
def test_polygon_that_is_not_three_finite_points_is_malformed(cityscapes_root, polygon):
    text = json.dumps(dict(imgHeight=1024, imgWidth=2048,
                           objects=[dict(label='car', polygon=polygon)]))
    kind, message = _error(cityscapes_root, text=text)
    assert kind == 'malformed json'
    assert message.startswith(": object #0 (label 'car'): polygon must be a list of at least 3 "
                              '[x, y] finite numbers, got ')


def test_float_coordinates_and_a_crowd_of_a_stuff_label(cityscapes_root):
    """Coordinates may be floats; ``polegroup`` is a label of its own
    (stuff), not a crowd of poles."""
    instances = _train_frame_0(cityscapes_root, [
        dict(label='polegroup', polygon=SQUARE),
        dict(label='bicyclegroup', polygon=[[10.5, 20], [30, 20.25], [30, 40]])])
    assert [(i['cityscapes_label'], i['bbox'], i['bbox_label'], i['ignore_flag'])
            for i in instances] == [('bicyclegroup', [10.5, 20.0, 31.0, 41.0], 7, 1)]


def test_box_reaching_out_of_the_image_is_clipped_whatever_the_distance(cityscapes_root):
    car, = _train_frame_0(cityscapes_root, [
        dict(label='car', polygon=[[-500, -30], [3000, -30], [3000, 1500]])])
    assert car['bbox'] == [0.0, 0.0, 2048.0, 1024.0]


@pytest.mark.parametrize('polygon', [
    [[5, 5], [5, 5], [5, 5]], [[5, 5], [7, 9], [5, 5]], [[5, 5], [5, 5], [7, 9], [9, 13]],
    [[0, 0], [4, 0], [-4, 0]]])
def test_points_on_one_line_after_repeated_points(cityscapes_root, polygon):
    assert _train_frame_0(cityscapes_root, [dict(label='cargroup', polygon=polygon)]) == []
    kind, message = _error(cityscapes_root, [dict(label='car', polygon=polygon)])
    assert kind == 'bad polygon'
    assert message == (f": object #0 (label 'car'): polygon {polygon!r} encloses no area "
                       '(its points lie on one line)')


def test_repeated_first_point_then_a_triangle_is_not_flat(cityscapes_root):
    car, = _train_frame_0(cityscapes_root, [
        dict(label='car', polygon=[[5, 5], [5, 5], [9, 5], [5, 8]])])
    assert car['bbox'] == [5.0, 5.0, 10.0, 9.0]


@pytest.mark.parametrize('text, message', [
    ('{"imgHeight": 1024,\n\n "objects": [}', ':3: malformed JSON: Expecting value'),
    ('[' * 100000, ': malformed JSON: nested too deeply'),
    ('[]', ': expected a JSON object with imgHeight, imgWidth and a list objects'),
    ('{"imgHeight": 1024, "imgWidth": 2048, "objects": {}}',
     ': expected a JSON object with imgHeight, imgWidth and a list objects'),
    ('{"imgWidth": 2048, "objects": []}',
     ': expected a JSON object with imgHeight, imgWidth and a list objects'),
])
def test_malformed_json_names_the_line_where_there_is_one(cityscapes_root, text, message):
    assert _error(cityscapes_root, text=text) == ('malformed json', message)


def test_polygon_wholly_outside_the_image_names_the_object(cityscapes_root):
    kind, message = _error(cityscapes_root, [
        dict(label='road', polygon=SQUARE),
        dict(label='car', polygon=[[3000, 1], [3010, 1], [3010, 9]])])
    assert (kind, message) == ('bad box', ": object #1 (label 'car'): box [3000, 1, 3011, 10] lies "
                                          'outside the image (2048x1024)')


def test_short_polygon_is_shown_in_the_message(cityscapes_root):
    assert _error(cityscapes_root, [dict(label='car', polygon=[[1, 2], [3, 4]])]) == (
        'malformed json', ": object #0 (label 'car'): polygon must be a list of at least 3 "
        '[x, y] finite numbers, got [[1, 2], [3, 4]]')


def test_objects_after_a_deleted_one_are_read(cityscapes_root):
    instances = _train_frame_0(cityscapes_root, [
        dict(label='car', polygon=SQUARE, deleted=1), dict(label='person', polygon=SQUARE)])
    assert [i['cityscapes_label'] for i in instances] == ['person']


@pytest.mark.parametrize('label', ['carriage', 'persons', 'group'])
def test_unknown_label_is_not_read_as_a_crowd(cityscapes_root, label):
    """Only a known label followed by ``group`` is a crowd: ``carriage`` is
    no car, whatever its first letters."""
    assert _error(cityscapes_root, [dict(label=label, polygon=SQUARE)]) == (
        'unknown class', f': object #0 (label {label!r}): unknown Cityscapes label')


def test_options_of_mmengine_may_be_given_by_position(cityscapes_root):
    """``CityscapesGtFineDataset(ann_file, metainfo, data_root, ...)`` as
    mmengine's ``BaseDataset`` takes them."""
    dataset = CityscapesGtFineDataset('', dict(classes=('car', )), cityscapes_root, split='val')
    assert dataset.metainfo['classes'] == ('car', )
    assert [(i['bbox_label'], i['ignore_flag']) for i in dataset.get_data_info(0)['instances']] == [
        (0, 0), (0, 1)]
