"""KITTI label files at their edges (cases found by mutation testing,
docs/testing.md): what a bad line's error says and how the skip summary
counts it, the ranges of truncation and occlusion, the one-pixel tolerance
of boxes, the files a folder without a split gives, frame names."""
import os
import os.path as osp

import pytest

from yolo_plugin.datasets import BadSampleError, KittiDataset
from yolo_plugin.datasets.kitti_format import parse_kitti_line
from .conftest import write_png


def test_wrong_field_count_names_the_line_and_counts_as_a_bad_label_line():
    with pytest.raises(BadSampleError) as error:
        parse_kitti_line('  Car 1 2 \n', 'labels.txt', 3)
    assert str(error.value) == (
        "labels.txt:3: expected 15 fields (16 with a score), got 3: 'Car 1 2'")
    assert (error.value.path, error.value.line, error.value.kind) == (
        'labels.txt', 3, 'bad label line')


def test_other_field_counts_are_named_in_the_message():
    with pytest.raises(BadSampleError,
                       match=r"^labels\.txt:3: expected 15 or 17 fields, got 3: 'Car 1 2'$"):
        parse_kitti_line('Car 1 2', 'labels.txt', 3, field_counts=(15, 17))


def test_unknown_type_counts_as_an_unknown_class():
    line = 'Bus ' + ' '.join(['0'] * 14)
    with pytest.raises(BadSampleError) as error:
        parse_kitti_line(line, 'labels.txt', 1, types=('Car', ))
    assert error.value.kind == 'unknown class'
    assert str(error.value) == "labels.txt:1: unknown KITTI type 'Bus' (known: ('Car',))"


@pytest.mark.parametrize('text', ['nan', '1_0', '١'])
def test_non_number_names_field_and_value_and_counts_as_a_bad_label_line(text):
    fields = ['Car'] + ['0'] * 14
    fields[4] = text  # the box's left
    with pytest.raises(BadSampleError) as error:
        parse_kitti_line(' '.join(fields), 'labels.txt', 2)
    assert str(error.value) == (
        f"labels.txt:2: field 'left' is not a finite number: {text!r}")
    assert error.value.kind == 'bad label line'


# KittiDataset (yolo_plugin/datasets/kitti.py) on the hand-written tree of
# conftest.py: frame 000001 is 1242 x 375 and in the 'val' split.
CAR = 'Car {truncated} {occluded} 1.85 {box} 1.67 1.87 3.69 -16.53 2.39 58.49 1.57'
BOX = '387.63 181.54 423.81 203.12'


def _val_frame_1(kitti_root, *lines, **kwargs):
    """The instances of frame 000001 with ``lines`` as its label file."""
    with open(osp.join(kitti_root, 'training/label_2/000001.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return KittiDataset(data_root=kitti_root, split='val', **kwargs).get_data_info(0)['instances']


def _car(truncated='0.00', occluded='0', box=BOX, kitti_type='Car'):
    return CAR.format(truncated=truncated, occluded=occluded, box=box).replace(
        'Car', kitti_type, 1)


@pytest.mark.parametrize('truncated, occluded', [('0', '0'), ('1', '3'), ('1.00', '2.0')])
def test_truncation_and_occlusion_at_the_ends_of_their_ranges(kitti_root, truncated, occluded):
    car, = _val_frame_1(kitti_root, _car(truncated, occluded))
    assert (car['truncated'], car['occluded'], car['alpha']) == (
        float(truncated), int(float(occluded)), 1.85)
    assert type(car['occluded']) is int


@pytest.mark.parametrize('kitti_type', ['Car', 'Van'])
@pytest.mark.parametrize('truncated, occluded', [('-0.01', '0'), ('1.01', '0'), ('0', '4'),
                                                 ('0', '-1')])
def test_truncation_or_occlusion_out_of_range_is_a_bad_line(kitti_root, kitti_type, truncated,
                                                            occluded):
    """Also for a type outside the classes (Van): only DontCare lines carry
    KITTI's unknown values -1."""
    with pytest.raises(BadSampleError) as error:
        _val_frame_1(kitti_root, _car(), _car(truncated, occluded, kitti_type=kitti_type))
    assert str(error.value).endswith(
        f'000001.txt:2: truncated {truncated} must lie in [0, 1] and occluded {occluded} in '
        '{0, 1, 2, 3}')
    assert error.value.kind == 'bad label line'


def test_non_integer_occlusion_names_the_field(kitti_root):
    with pytest.raises(BadSampleError) as error:
        _val_frame_1(kitti_root, _car(occluded='1.5'))
    assert str(error.value).endswith("000001.txt:1: field 'occluded' is not an integer: '1.5'")
    assert error.value.kind == 'bad label line'


@pytest.mark.parametrize('right, clipped', [('1243.00', 1242.0), ('1241.00', 1241.0)])
def test_box_reaching_at_most_one_pixel_out_is_clipped(kitti_root, right, clipped):
    car, = _val_frame_1(kitti_root, _car(box=f'-1.00 181.54 {right} 376.00'))
    assert car['bbox'] == [0.0, 181.54, clipped, 375.0]


@pytest.mark.parametrize('box', ['-1.01 181.54 423.81 203.12', '387.63 181.54 1243.01 203.12',
                                 '387.63 181.54 423.81 376.01'])
def test_box_reaching_further_out_is_a_bad_box(kitti_root, box):
    with pytest.raises(BadSampleError, match=r'lies outside the image \(1242x375\)'):
        _val_frame_1(kitti_root, _car(box=box))


def test_ignored_types_keep_their_fields(kitti_root):
    van, dont_care = _val_frame_1(
        kitti_root, _car('0.50', '2', kitti_type='Van'),
        'DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10')
    assert van == dict(bbox=[387.63, 181.54, 423.81, 203.12], bbox_label=-1, ignore_flag=1,
                       kitti_type='Van', truncated=0.5, occluded=2, alpha=1.85)
    assert (dont_care['bbox_label'], dont_care['ignore_flag'], dont_care['truncated'],
            dont_care['occluded'], dont_care['alpha']) == (-1, 1, -1.0, -1, -10.0)


def test_without_split_every_png_and_label_is_a_frame(kitti_root):
    """Other files of the folders are passed over; a label without its
    image is a frame (a missing image, skipped here), and so is an image
    without its label (a missing label file)."""
    image_dir = osp.join(kitti_root, 'training/image_2')
    os.remove(osp.join(image_dir, '000002.png'))
    os.remove(osp.join(kitti_root, 'training/label_2/000001.txt'))
    for name in ('notes.txt', '000009.jpg', '000009.png.bak'):
        open(osp.join(image_dir, name), 'w').close()
    open(osp.join(kitti_root, 'training/label_2/readme.md'), 'w').close()
    dataset = KittiDataset(data_root=kitti_root, on_bad_sample='skip')
    assert [info['img_id'] for info in dataset.load_data_list()] == [0, 3]
    assert [error.kind for error in dataset.skipped_samples] == ['missing label file',
                                                                 'missing image']
    testing = KittiDataset(data_root=kitti_root, folder='testing', test_mode=True)
    assert [info['img_id'] for info in testing.load_data_list()] == [0, 1]
    # Without annotations a label file alone is no frame.
    images_only = KittiDataset(data_root=kitti_root, with_annotations=False, test_mode=True)
    assert [info['img_id'] for info in images_only.load_data_list()] == [0, 1, 3]


def test_missing_label_file_is_named(kitti_root):
    path = osp.join(kitti_root, 'training/label_2/000001.txt')
    os.remove(path)
    with pytest.raises(BadSampleError) as error:
        KittiDataset(data_root=kitti_root, split='val')
    assert (str(error.value), error.value.kind) == (f'{path}: label file not found',
                                                    'missing label file')


def test_frame_name_that_is_no_number_is_a_bad_sample(kitti_root):
    """``str.isdigit`` takes a superscript two, which ``int`` refuses."""
    for name in ('00000²', '0000a1'):
        write_png(osp.join(kitti_root, 'training/image_2', f'{name}.png'), 10, 10)
    dataset = KittiDataset(data_root=kitti_root, on_bad_sample='skip', with_annotations=False)
    assert [info['img_id'] for info in dataset.load_data_list()] == [0, 1, 2, 3]
    assert [(error.kind, str(error)) for error in dataset.skipped_samples] == [
        ('bad file name', osp.join(kitti_root, 'training/image_2', f'{name}.png') +
         ': file name is not a frame number') for name in ('00000²', '0000a1')]


def test_split_file_ids_are_stripped_and_kept_in_order(kitti_root):
    with open(osp.join(kitti_root, 'ImageSets/val.txt'), 'w') as f:
        f.write(' 000003 \n\n000001\r\n')
    dataset = KittiDataset(data_root=kitti_root, split='val')
    assert [info['img_id'] for info in dataset.load_data_list()] == [3, 1]


def test_split_file_with_a_superscript_digit_is_refused(kitti_root):
    path = osp.join(kitti_root, 'ImageSets/val.txt')
    with open(path, 'w') as f:
        f.write('000001\n00000²\n')
    with pytest.raises(ValueError, match=f"^{path}:2: a frame id must be digits, got '00000²'$"):
        KittiDataset(data_root=kitti_root, split='val')


def test_frame_listed_twice_names_both_lines(kitti_root):
    path = osp.join(kitti_root, 'ImageSets/val.txt')
    with open(path, 'w') as f:
        f.write('000003\n\n000001\n000003\n')
    with pytest.raises(ValueError,
                       match=f'^{path}:4: frame 000003 listed twice \\(first at line 1\\)$'):
        KittiDataset(data_root=kitti_root, split='val')


def test_options_of_mmengine_may_be_given_by_position(kitti_root):
    """``KittiDataset(ann_file, metainfo, data_root, ...)`` as mmengine's
    ``BaseDataset`` takes them."""
    dataset = KittiDataset('', dict(classes=('Truck', )), kitti_root, split='val')
    assert dataset.metainfo['classes'] == ('Truck', )
    assert [i['bbox_label'] for i in dataset.get_data_info(0)['instances']] == [0, -1, -1, -1]


def test_unknown_folder_is_refused_naming_it():
    with pytest.raises(ValueError,
                       match="^folder must be 'training' or 'testing', got 'validation'$"):
        KittiDataset(data_root='unused', folder='validation')
