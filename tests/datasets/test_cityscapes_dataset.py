"""CityscapesGtFineDataset on a hand-written real-layout tree and the demo data."""
import pytest

from yolo_plugin.datasets import CityscapesGtFineDataset


def test_boxes_labels_and_groups_as_written(cityscapes_root):
    dataset = CityscapesGtFineDataset(data_root=cityscapes_root, split='train')
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_path'].endswith(
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png')
    assert (info['img_id'], info['width'], info['height']) == (0, 2048, 1024)
    got = [(i['cityscapes_label'], i['bbox'], i['bbox_label'],
            i['ignore_flag']) for i in info['instances']]
    # classes: person 0, rider 1, car 2, ..., bicycle 7. Boxes are
    # [min x, min y, max x + 1, max y + 1], clipped to the image. Road,
    # the licence plate (stuff) and the deleted car give no instance.
    assert got == [
        ('car', [100.0, 390.0, 321.0, 531.0], 2, 0),
        ('cargroup', [600.0, 420.0, 801.0, 471.0], 2, 1),
        ('person', [2000.0, 300.0, 2048.0, 601.0], 0, 0),
        ('rider', [900.0, 340.0, 951.0, 481.0], 1, 0),
        ('bicycle', [880.0, 430.0, 976.0, 526.0], 7, 0),
        ('caravan', [1200.0, 380.0, 1401.0, 521.0], -1, 1),
        ('persongroup', [1500.0, 400.0, 1561.0, 471.0], 0, 1),
    ]
    val = CityscapesGtFineDataset(data_root=cityscapes_root, split='val')
    assert [i['cityscapes_label'] for i in val.get_data_info(0)['instances']
            ] == ['car', 'cargroup']


def test_class_subset_and_class_map(cityscapes_root):
    dataset = CityscapesGtFineDataset(
        data_root=cityscapes_root,
        split='train',
        metainfo=dict(classes=('person', 'vehicle')),
        class_map={'rider': 'person', 'car': 'vehicle', 'caravan': 'vehicle'})
    got = [(i['cityscapes_label'], i['bbox_label'], i['ignore_flag'])
           for i in dataset.get_data_info(0)['instances']]
    assert got == [('car', 1, 0), ('cargroup', 1, 1), ('person', 0, 0),
                   ('rider', 0, 0), ('bicycle', -1, 1), ('caravan', 1, 0),
                   ('persongroup', 0, 1)]


def test_missing_split_folder_raises(cityscapes_root):
    with pytest.raises(FileNotFoundError, match='leftImg8bit/test: '
                       'Cityscapes folder not found'):
        CityscapesGtFineDataset(data_root=cityscapes_root, split='test')


def test_demo_cityscapes_loads(demo_cityscapes_root):
    train = CityscapesGtFineDataset(data_root=demo_cityscapes_root, split='train')
    val = CityscapesGtFineDataset(data_root=demo_cityscapes_root, split='val')
    test = CityscapesGtFineDataset(
        data_root=demo_cityscapes_root, split='test', test_mode=True)
    assert (len(train), len(val), len(test)) == (8, 4, 2)
    assert test.get_data_info(0)['instances'] == []
    labels = {
        i['cityscapes_label']: i['ignore_flag']
        for k in range(len(train))
        for i in train.get_data_info(k)['instances']
    }
    assert {'car', 'person', 'rider', 'bicycle'} <= set(labels)
    assert labels.get('cargroup', 1) == 1 and labels.get('persongroup',
                                                         1) == 1
    assert 'cargroup' in labels or 'persongroup' in labels
    assert all(labels[k] == 0 for k in ('car', 'person', 'rider'))
