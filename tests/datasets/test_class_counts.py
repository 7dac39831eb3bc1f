"""Instances per class, counted from the parsed annotations."""
from collections import Counter

from tests.datasets.conftest import KITTI_LABELS
from yolo_plugin.datasets import KittiDataset
from yolo_plugin.datasets.class_counts import count_instances


def _types_in_label_files(class_map=None) -> Counter:
    """Reference: the first field of every label line, mapped."""
    class_map = class_map or {}
    return Counter(
        class_map.get(line.split()[0], line.split()[0])
        for lines in KITTI_LABELS.values() for line in lines)


def test_counts_match_the_label_files(kitti_root):
    for class_map in (None, dict(Van='Car', Truck='Car')):
        dataset = KittiDataset(
            data_root=kitti_root, split='trainval', class_map=class_map)
        expected = _types_in_label_files(class_map)
        assert count_instances(dataset) == {
            name: expected[name]
            for name in ('Car', 'Pedestrian', 'Cyclist')
        }


def test_classes_without_instances_count_zero(kitti_root):
    dataset = KittiDataset(
        data_root=kitti_root,
        split='val',
        metainfo=dict(classes=('Car', 'Tram', 'Cyclist')))
    assert count_instances(dataset) == dict(Car=2, Tram=0, Cyclist=1)
