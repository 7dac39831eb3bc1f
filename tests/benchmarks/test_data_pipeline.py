"""The data pipeline benchmark: mmdet's side runs mmdet's recipe (the
transforms our configs stand for, as the ablation config gives them), and
the tool's --data-pipeline run end to end on a few small frames (no timing
assertions)."""
import json
import runpy
import sys

from mmengine.config import Config

from benchmarks.data_pipeline import mmdet_pipeline
from tests.datasets.transforms.mmdet_reference import DEMO_RECIPE, KITTI_RECIPE

LOADING = [dict(type='LoadImageFromPackOrFile', backend_args=None),
           dict(type='LoadAnnotations', with_bbox=True)]


def test_mmdet_side_is_the_mmdet_recipe():
    cfg = Config.fromfile('configs/_base_/datasets/kitti.py')
    assert mmdet_pipeline(cfg.train_pipeline) == LOADING + KITTI_RECIPE + [
        dict(type='PhotoMetricDistortion'), dict(type='Pad', size_divisor=32),
        dict(type='PackDetInputs')]
    demo = Config.fromfile('configs/yolov3_s_kitti_demo.py')
    assert mmdet_pipeline(demo.train_pipeline)[2:] == DEMO_RECIPE + [
        dict(type='Pad', size_divisor=32), dict(type='PackDetInputs')]


def test_ablation_config_is_the_mmdet_form_of_the_recipe():
    ours = Config.fromfile('configs/yolov3_kitti.py')
    theirs = Config.fromfile('configs/ablations/yolov3_kitti_mmdet_pipeline.py')
    assert theirs.train_dataloader.dataset.pipeline == mmdet_pipeline(
        ours.train_dataloader.dataset.pipeline)
    assert theirs.model.data_preprocessor == dict(
        ours.model.data_preprocessor, type='DetDataPreprocessor')


def test_tool_times_both_pipelines(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'pipeline.json'
    monkeypatch.setattr(sys, 'argv', [
        'tools/benchmark.py', '--data-pipeline', '--frames', '2', '--frame-size', '310', '94',
        '--repeats', '1', '--workers', '1', '--out-json', str(out)])
    runpy.run_path('tools/benchmark.py', run_name='__main__')
    data = json.loads(out.read_text())
    assert data['frame_size'] == [310, 94] and data['frames'] == 2
    transforms = data['transforms']
    assert set(transforms) == {'mmdet (PNG)', 'mmdet (packed)', 'ours (packed)'}
    assert {'Expand', 'PhotoMetricDistortion', 'Pad', 'PackDetInputs'} <= set(
        transforms['mmdet (packed)'])
    assert {'RandomExpandCropResizeFlip', 'DeferredPhotoMetricDistortion',
            'PackDetInputsChannelsLast'} <= set(transforms['ours (packed)'])
    assert all(timing['total'] > 0 for timing in transforms.values())
    assert set(data['preprocessors']) == {'mmdet', 'ours, distortion on the CPU',
                                          'ours, no distortion'}
    for runs in data['loaders'].values():
        assert runs['1']['images_per_s'] > 0 and runs['1']['images_per_s_per_core'] > 0
    printed = capsys.readouterr().out
    assert '| CPU ms / image | mmdet (PNG) | mmdet (packed) | ours (packed) |' in printed
    assert 'ours (packed), 1 workers:' in printed
