"""Edges of KittiMetric and the KITTI file readers found by mutation
testing (docs/testing.md): mmengine's metric settings, ``min_overlaps``
reaching the protocol, the logged table, ``format_only`` into an existing
folder, full refusal messages, and every array of a label file."""
import os

import numpy as np
import pytest

from yolo_plugin.datasets import KITTI_CLASSES
from yolo_plugin.evaluation import KittiMetric
from yolo_plugin.evaluation.functional import kitti_eval, read_kitti_file, read_kitti_folders
from yolo_plugin.evaluation.metrics import kitti_metric
from yolo_plugin.evaluation.metrics.kitti_metric import kitti_ground_truth
from .samples import data_sample
from .test_kitti_metric import _run, _scene_samples

CLASSES = ('Car', 'Pedestrian', 'Cyclist')


def test_base_metric_settings():
    metric = KittiMetric(prefix='val_kitti', collect_device='gpu')
    assert metric.prefix == 'val_kitti' and metric.collect_device == 'gpu'
    assert KittiMetric().prefix == 'kitti' and KittiMetric().collect_device == 'cpu'


def test_min_overlaps_reach_the_protocol(monkeypatch):
    """Car at IoU 0.5 instead of 0.7: the metric is the protocol's with
    the same overlaps (and not its default), and its logged table is the
    protocol's table."""
    samples, gt_annos, det_annos = _scene_samples(seed=3, num_images=30)
    logged = []
    monkeypatch.setattr(kitti_metric, 'print_log',
                        lambda message, logger=None: logged.append((message, logger)))
    metrics = _run(KittiMetric(classes=CLASSES, min_overlaps={'Car': 0.5}, recall_points=11),
                   samples, KITTI_CLASSES)
    for det in det_annos:  # float32, as the samples hold them
        det['bboxes'] = det['bboxes'].astype(np.float32)
        det['scores'] = det['scores'].astype(np.float32)
    loose = kitti_eval(gt_annos, det_annos, CLASSES, {'Car': 0.5})
    strict = kitti_eval(gt_annos, det_annos, CLASSES)
    assert metrics == pytest.approx(loose.to_metrics(11), abs=1e-9)
    assert metrics['Car_Moderate'] > strict.to_metrics(11)['Car_Moderate'] + 1
    assert logged == [('\n' + loose.table(11), 'current')]
    # classes without a default overlap need one
    assert KittiMetric(classes=['person'], min_overlaps={'person': 0.5}).classes == ('person', )


def test_format_only_into_an_existing_folder(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(kitti_metric, 'print_log',
                        lambda message, logger=None: logged.append((message, logger)))
    info = dict(img_id=1, img_path='testing/image_2/000001.png', height=375, width=1242,
                instances=[])
    samples = [data_sample(info, [[1., 2., 30., 40.]], [0.5], [1])]
    for _ in range(2):  # the second run writes into the folder the first made
        assert _run(KittiMetric(format_only=True, outfile_prefix=str(tmp_path)), samples) == {}
    assert os.listdir(tmp_path) == ['000001.txt']
    assert logged == [(f'KITTI result files of 1 frames written to {tmp_path}', 'current')] * 2


def test_refusal_messages():
    with pytest.raises(ValueError) as error:
        KittiMetric(format_only=True)
    assert str(error.value) == ('format_only=True needs outfile_prefix, the folder of the KITTI '
                                'result files')
    with pytest.raises(ValueError) as error:
        _run(KittiMetric(), [])
    assert str(error.value) == 'KittiMetric received no predictions'
    info = dict(img_id=0, img_path='frames/a.png', height=10, width=10,
                instances=[dict(bbox=[0, 0, 5, 5], bbox_label=0, ignore_flag=0)])
    sample = data_sample(info, np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    with pytest.raises(KeyError) as error:
        _run(KittiMetric(), [sample])
    assert error.value.args[0] == (
        f"frames/a.png: instance {info['instances'][0]} lacks ['kitti_type', 'truncated', "
        "'occluded']; KittiMetric needs KITTI ground truth as KittiDataset makes it")
    bare = sample.to_dict()
    del bare['instances']
    with pytest.raises(KeyError) as error:
        KittiMetric().process({}, [bare])
    assert error.value.args[0] == (
        "frames/a.png: no ground truth in the data sample; KittiMetric reads "
        "data_sample['instances']: add 'instances' to PackDetInputs' meta_keys of the "
        'test pipeline')


def test_label_file_arrays(tmp_path):
    """Every array of a label file, as its columns say."""
    path = tmp_path / '000000.txt'
    path.write_text(
        'Car 0.12 1 -1.57 599.41 156.40 629.75 189.25 1.73 1.60 3.71 1.84 1.47 8.41 -1.56\n'
        'DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n')
    labels = read_kitti_file(str(path), with_score=False)
    assert labels['names'].tolist() == ['Car', 'DontCare']
    np.testing.assert_array_equal(labels['bboxes'], [[599.41, 156.40, 629.75, 189.25],
                                                     [503.89, 169.71, 590.61, 190.13]])
    np.testing.assert_array_equal(labels['truncated'], [0.12, -1])
    np.testing.assert_array_equal(labels['occluded'], [1, -1])
    np.testing.assert_array_equal(labels['alpha'], [-1.57, -10])
    assert sorted(labels) == ['alpha', 'bboxes', 'names', 'occluded', 'truncated']
    assert all(labels[key].dtype == np.float64 for key in labels if key != 'names')


def test_folder_refusal_messages(tmp_path):
    labels, results = tmp_path / 'label_2', tmp_path / 'results'
    labels.mkdir()
    results.mkdir()
    with pytest.raises(ValueError) as error:
        read_kitti_folders(str(labels), str(results))
    assert str(error.value) == f'{labels}: no label files (*.txt) to evaluate'
    with pytest.raises(FileNotFoundError) as error:
        read_kitti_folders(str(labels), str(results), frames=['000003'])
    assert str(error.value) == (f'{labels}/000003.txt: label file of frame 000003 not found '
                                '(every frame needs one, possibly empty)')
    (labels / '000003.txt').write_text('')
    with pytest.raises(FileNotFoundError) as error:
        read_kitti_folders(str(labels), str(results))
    assert str(error.value) == (f'{results}/000003.txt: result file of frame 000003 not found '
                                '(every frame needs one, possibly empty)')


def test_array_types_also_of_empty_frames(tmp_path):
    """Names are strings and the numbers float64 whatever the instances
    hold (integers here), also for a frame without objects, whose empty
    arrays numpy would otherwise make float64 names."""
    instance = dict(bbox=[0, 0, 5, 5], kitti_type='Car', truncated=0, occluded=1)
    for instances in ([instance], []):
        gt = kitti_ground_truth(dict(img_path='a.png', instances=instances))
        assert gt['names'].dtype.kind == 'U' and gt['bboxes'].shape == (len(instances), 4)
        assert all(gt[key].dtype == np.float64 for key in ('bboxes', 'truncated', 'occluded'))
    (tmp_path / 'empty.txt').write_text('')
    empty = read_kitti_file(str(tmp_path / 'empty.txt'), with_score=True)
    assert empty['names'].dtype.kind == 'U' and empty['bboxes'].shape == (0, 4)
    assert all(empty[key].dtype == np.float64 for key in empty if key != 'names')
