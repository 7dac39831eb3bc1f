"""tools/analysis/{confusion_matrix,pr_curves}.py on a results pickle in
mmdet's DumpDetResults format, with and without ground truth inside."""
import os
import runpy
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
from mmdet.evaluation import DumpDetResults

from yolo_plugin.datasets import KittiDataset
from yolo_plugin.apis.analysis import load_detection_set
from ..evaluation.samples import perturbed_detections, samples_for

REPO = Path(__file__).parents[2]
CONFIG = str(REPO / 'configs/_base_/datasets/kitti.py')


def run_tool(monkeypatch, name, *args):
    monkeypatch.setattr(sys, 'argv', [name, *map(str, args)])
    runpy.run_path(
        str(REPO / 'tools' / 'analysis' / name), run_name='__main__')


def _dump(samples, path):
    dump = DumpDetResults(out_file_path=str(path))
    dump.process({}, [sample.to_dict() for sample in samples])
    dump.evaluate(len(samples))


@pytest.fixture(scope='module')
def results(demo_kitti_root, tmp_path_factory):
    """Pickles of perturbed ground truth on the demo val split: with the
    ground truth (``instances`` meta key) and without."""
    dataset = KittiDataset(
        data_root=demo_kitti_root, split='val', test_mode=True, pipeline=[])
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    samples = samples_for(data_list, perturbed_detections(data_list, 3, 4))
    folder = tmp_path_factory.mktemp('results')
    _dump(samples, folder / 'with_gt.pkl')
    for sample in samples:
        del sample.instances
    _dump(samples, folder / 'without_gt.pkl')
    return folder


def test_tools_write_the_figures(results, demo_kitti_root, tmp_path,
                                 monkeypatch):
    options = ('--cfg-options',
               f'test_dataloader.dataset.data_root={demo_kitti_root}')
    out_dir = tmp_path / 'analysis'
    run_tool(monkeypatch, 'confusion_matrix.py', CONFIG,
             results / 'without_gt.pkl', '--out-dir', out_dir, '--score-thr',
             '0.2', *options)
    run_tool(monkeypatch, 'pr_curves.py', CONFIG, results / 'with_gt.pkl',
             '--out-dir', out_dir, '--iou-thr', '0.6', *options)
    assert sorted(os.listdir(out_dir)) == [
        'confusion_matrix.png', 'pr_Car.png', 'pr_Cyclist.png',
        'pr_Pedestrian.png', 'pr_curves.png'
    ]
    image = mmcv.imread(str(out_dir / 'confusion_matrix.png'))
    assert image.shape[0] > 200 and image.std() > 0


def test_ground_truth_comes_from_the_dataset_when_not_dumped(
        results, demo_kitti_root):
    options = {'test_dataloader.dataset.data_root': demo_kitti_root}
    dumped = load_detection_set(CONFIG, str(results / 'with_gt.pkl'), options)
    from_dataset = load_detection_set(CONFIG, str(results / 'without_gt.pkl'),
                                      options)
    assert dumped.classes == from_dataset.classes == ('Car', 'Pedestrian',
                                                      'Cyclist')
    for field in ('gt_image', 'gt_boxes', 'gt_labels', 'gt_ignored',
                  'det_boxes', 'det_labels'):
        np.testing.assert_array_equal(
            getattr(dumped, field), getattr(from_dataset, field))
    assert len(dumped.gt_labels) > 0 and len(dumped.det_labels) > 0
    train = {'test_dataloader.dataset.split': 'train', **options}
    with pytest.raises(ValueError, match='holds 4 images but'):
        load_detection_set(CONFIG, str(results / 'without_gt.pkl'), train)
