"""KittiDataset on a hand-written real-layout tree and on the demo data."""
import pytest
from mmdet.datasets import CityscapesDataset as MMDetCityscapesDataset

from yolo_plugin.datasets import KITTI_CLASSES, CityscapesGtFineDataset, KittiDataset
from yolo_plugin.registry import DATASETS


def instances_of(dataset, index):
    return dataset.get_data_info(index)['instances']


def test_train_split_gives_frames_and_instances_as_written(kitti_root):
    dataset = KittiDataset(data_root=kitti_root, split='train')
    assert len(dataset) == 2
    first, second = dataset.get_data_info(0), dataset.get_data_info(1)
    assert first['img_path'].endswith('training/image_2/000000.png')
    assert (first['img_id'], first['width'], first['height']) == (0, 1242,
                                                                   375)
    assert first['instances'] == [
        dict(
            bbox=[712.40, 143.00, 810.73, 307.92],
            bbox_label=1,
            ignore_flag=0,
            kitti_type='Pedestrian',
            truncated=0.0,
            occluded=0,
            alpha=-0.20)
    ]
    assert second['img_id'] == 2
    van, car = second['instances']
    # Van is outside the default classes: ignored, kept for the metric.
    assert (van['bbox_label'], van['ignore_flag'], van['kitti_type'],
            van['occluded']) == (-1, 1, 'Van', 1)
    assert van['bbox'] == [300.0, 170.0, 380.5, 230.0]
    assert (car['bbox_label'], car['ignore_flag'], car['truncated'],
            car['occluded'], car['alpha']) == (0, 0, 0.88, 3, -0.69)
    assert dataset.metainfo['classes'] == ('Car', 'Pedestrian', 'Cyclist')


def test_dont_care_and_other_types_are_ignored(kitti_root):
    dataset = KittiDataset(data_root=kitti_root, split='val')
    truck, car, cyclist, dont_care = instances_of(dataset, 0)
    assert [(i['kitti_type'], i['bbox_label'], i['ignore_flag'])
            for i in (truck, car, cyclist, dont_care)] == [
                ('Truck', -1, 1), ('Car', 0, 0), ('Cyclist', 2, 0),
                ('DontCare', -1, 1)]
    assert dont_care['bbox'] == [503.89, 169.71, 590.61, 190.13]
    # A 16-field line (with score) on a 1224 x 370 image.
    info = dataset.get_data_info(1)
    assert (info['width'], info['height']) == (1224, 370)
    assert info['instances'][0]['bbox'] == [1100.0, 150.5, 1224.0, 260.0]


def test_all_frames_without_split_and_eight_classes(kitti_root):
    dataset = KittiDataset(
        data_root=kitti_root, metainfo=dict(classes=KITTI_CLASSES))
    assert [dataset.get_data_info(i)['img_id'] for i in range(4)] == [
        0, 1, 2, 3
    ]
    labels = [(i['kitti_type'], i['bbox_label'])
              for i in instances_of(dataset, 1)]
    assert labels == [('Truck', 2), ('Car', 0), ('Cyclist', 5),
                      ('DontCare', -1)]
    assert len(dataset.metainfo['palette']) == 8


def test_class_map_merges_van_into_car(kitti_root):
    dataset = KittiDataset(
        data_root=kitti_root, split='train', class_map={'Van': 'Car'})
    van, car = instances_of(dataset, 1)
    assert (van['bbox_label'], van['ignore_flag'], van['kitti_type']) == (0, 0,
                                                                           'Van')
    assert car['bbox_label'] == 0


@pytest.mark.parametrize('kwargs, message', [
    (dict(class_map={'Bus': 'Car'}), 'class_map keys'),
    (dict(class_map={'Van': 'Vehicle'}), 'which are not in classes'),
    (dict(metainfo=dict(classes=('Car', 'Vehicle'))), 'match no type'),
    (dict(metainfo=dict(classes=('Car', 'Car'))), 'duplicate class'),
    (dict(folder='validation'), "'training' or 'testing'"),
])
def test_bad_options_raise(kitti_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        KittiDataset(data_root=kitti_root, split='train', **kwargs)


def test_class_map_into_a_new_class_name(kitti_root):
    dataset = KittiDataset(
        data_root=kitti_root,
        split='train',
        metainfo=dict(classes=('Vehicle', 'Pedestrian')),
        class_map={'Car': 'Vehicle', 'Van': 'Vehicle'})
    assert [i['bbox_label'] for i in instances_of(dataset, 1)] == [0, 0]


def test_testing_folder_has_no_labels(kitti_root):
    dataset = KittiDataset(data_root=kitti_root, split='test', test_mode=True)
    assert dataset.folder == 'testing' and not dataset.with_annotations
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert info['img_path'].endswith('testing/image_2/000001.png')
    assert info['instances'] == []


def test_registry_resolves_our_datasets_in_our_scope(kitti_root):
    dataset = DATASETS.build(
        dict(type='KittiDataset', data_root=kitti_root, split='train'))
    assert isinstance(dataset, KittiDataset)
    assert DATASETS.get('CityscapesGtFineDataset') is CityscapesGtFineDataset
    assert DATASETS.get('mmdet.CityscapesDataset') is MMDetCityscapesDataset


def test_filter_cfg_drops_frames_without_objects_of_the_classes(kitti_root):
    kwargs = dict(
        data_root=kitti_root,
        metainfo=dict(classes=('Cyclist', )),
        filter_cfg=dict(filter_empty_gt=True))
    assert [
        info['img_id'] for info in KittiDataset(**kwargs).load_data_list()
    ] == [0, 1, 2, 3]
    assert len(KittiDataset(**kwargs)) == 1  # only frame 1 has a cyclist
    assert len(KittiDataset(test_mode=True, **kwargs)) == 4
    with pytest.raises(ValueError, match='unknown filter_cfg keys'):
        KittiDataset(
            data_root=kitti_root, filter_cfg=dict(filter_empty=True))


def test_demo_kitti_loads(demo_kitti_root):
    train = KittiDataset(data_root=demo_kitti_root, split='train')
    val = KittiDataset(data_root=demo_kitti_root, split='val')
    assert (len(train), len(val)) == (8, 4)
    assert [val.get_data_info(i)['img_id'] for i in range(4)] == [8, 9, 10, 11]
    types = {
        i['kitti_type']
        for d in (train, val) for k in range(len(d))
        for i in instances_of(d, k)
    }
    assert {'Car', 'Pedestrian', 'DontCare'} <= types
    assert train.get_cat_ids(0) == [
        i['bbox_label'] for i in instances_of(train, 0)
        if i['ignore_flag'] == 0
    ]
