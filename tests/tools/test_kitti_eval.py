"""tools/kitti_eval.py on label and result folders, run as a script."""
import json
import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from yolo_plugin.datasets import KittiDataset
from yolo_plugin.evaluation import KittiMetric
from yolo_plugin.evaluation.functional import kitti_eval, write_kitti_results
from ..evaluation.kitti_reference import random_scene
from ..evaluation.samples import perturbed_detections, samples_for

TOOL = str(Path(__file__).parents[2] / 'tools' / 'kitti_eval.py')


def run_tool(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['kitti_eval.py', *map(str, args)])
    runpy.run_path(TOOL, run_name='__main__')


def _write_scene(tmp_path, num_images=25, seed=0):
    """Label and result folders of a random scene, values as written."""
    gt_annos, det_annos = random_scene(np.random.default_rng(seed), num_images)
    label_dir, result_dir = tmp_path / 'label_2', tmp_path / 'results'
    label_dir.mkdir()
    result_dir.mkdir()
    for i, (gt, det) in enumerate(zip(gt_annos, det_annos)):
        gt['bboxes'] = gt['bboxes'].round(2)
        det['bboxes'] = det['bboxes'].round(2)
        lines = [
            f'{name} {t:.2f} {int(o)} 0.5 {" ".join(f"{v:.2f}" for v in box)}'
            ' 1.5 1.6 3.9 1.0 1.6 20.0 0.1\n' for name, t, o, box in zip(
                gt['names'], gt['truncated'], gt['occluded'], gt['bboxes'])
        ]
        (label_dir / f'{i:06d}.txt').write_text(''.join(lines))
        write_kitti_results(
            str(result_dir / f'{i:06d}.txt'), det['names'], det['bboxes'],
            det['scores'])
    return label_dir, result_dir, gt_annos, det_annos


def test_tool_prints_the_table_and_writes_the_metrics(tmp_path, monkeypatch,
                                                      capsys):
    label_dir, result_dir, gt_annos, det_annos = _write_scene(tmp_path)
    out = tmp_path / 'metrics.json'
    run_tool(monkeypatch, label_dir, result_dir, '--out-json', out)
    printed = capsys.readouterr().out
    assert '25 frames' in printed and 'R40' in printed
    expected = kitti_eval(gt_annos, det_annos).to_metrics()
    assert json.loads(out.read_text()) == pytest.approx({
        f'kitti/{k}': v
        for k, v in expected.items()
    })

    split = tmp_path / 'val.txt'
    split.write_text('000003\n000010\n\n000011\n')
    run_tool(monkeypatch, label_dir, result_dir, '--split', split, '--classes',
             'Car', '--r11', '--min-overlap', 'Car=0.5', '--out-json', out)
    subset = kitti_eval([gt_annos[i] for i in (3, 10, 11)],
                        [det_annos[i] for i in (3, 10, 11)], ['Car'], {
                            'Car': 0.5
                        }).to_metrics(11)
    assert json.loads(out.read_text()) == pytest.approx({
        f'kitti/{k}': v
        for k, v in subset.items()
    })
    assert 'R11' in capsys.readouterr().out


def test_tool_agrees_with_the_metric_on_the_demo_set(demo_kitti_root, tmp_path,
                                                     monkeypatch):
    dataset = KittiDataset(
        data_root=demo_kitti_root, split='val', test_mode=True, pipeline=[])
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    samples = [
        s.to_dict() for s in samples_for(
            data_list, perturbed_detections(data_list, 3, seed=3))
    ]
    metrics = {}
    for metric in (KittiMetric(),
                   KittiMetric(
                       format_only=True,
                       outfile_prefix=str(tmp_path / 'results'))):
        metric.dataset_meta = dataset.metainfo
        metric.process({}, samples)
        metrics.update(metric.compute_metrics(metric.results))
    out = tmp_path / 'metrics.json'
    run_tool(monkeypatch, os.path.join(demo_kitti_root, 'training', 'label_2'),
             tmp_path / 'results', '--split',
             os.path.join(demo_kitti_root, 'ImageSets',
                          'val.txt'), '--out-json', out)
    assert json.loads(out.read_text()) == pytest.approx(
        {
            f'kitti/{k}': v
            for k, v in metrics.items()
        }, abs=1e-6)


def test_bad_files_are_named(tmp_path, monkeypatch):
    label_dir, result_dir, _, _ = _write_scene(tmp_path, num_images=3)
    os.remove(result_dir / '000001.txt')
    with pytest.raises(FileNotFoundError, match='000001.txt: result file'):
        run_tool(monkeypatch, label_dir, result_dir)
    (result_dir / '000001.txt'
     ).write_text('Car -1 -1 -10 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10\n')
    with pytest.raises(ValueError, match='000001.txt:1: expected 16 fields'):
        run_tool(monkeypatch, label_dir, result_dir)
    (result_dir / '000001.txt').write_text(
        '\nCar -1 -1 -10 1 2 x 4 -1 -1 -1 -1000 -1000 -1000 -10 0.5\n')
    with pytest.raises(
            ValueError,
            match="000001.txt:2: field 'right' is not"
            " a finite number: 'x'"):
        run_tool(monkeypatch, label_dir, result_dir)
