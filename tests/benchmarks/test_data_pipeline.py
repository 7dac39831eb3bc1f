"""The data pipeline benchmark: the tool's --data-pipeline run end to end on
a few small frames (no timing assertions); its mmdet side is
with_mmdet_transforms (tests/datasets/transforms/test_pipeline_variants.py)."""
import json
import runpy
import sys


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
