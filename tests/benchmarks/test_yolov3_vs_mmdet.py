"""The benchmark end to end on a tiny configuration (no timing assertions):
well-formed rows, table and JSON; both models computing the same function;
the detection agreement; the sweep plot and the profiler tables; the tool's
command line."""
import json
import runpy
import sys

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.hub import get_config
from mmengine.structures import InstanceData

from benchmarks import yolov3_vs_mmdet as benchmark
from benchmarks.yolov3_vs_mmdet import (LOSS_MIN_REPEATS, BenchmarkSettings, build_contestants,
                                        build_models, detection_agreement,
                                        detection_check_models, plot_sweep, profile_models,
                                        run_benchmark, run_sweep, synthetic_batch,
                                        training_calls)

TINY = dict(batch_size=2, img_size=64, num_classes=3, objects_per_img=3, widen_factor=0.125,
            warmup=0, repeats=1)
TIMING_KEYS = {'loss', 'train_step', 'train_step_ours_amp', 'inference', 'inference_ours_amp'}
MEMORY_KEYS = {'train_memory', 'inference_memory'}
DATA_KEYS = {'image_loading', 'train_pipeline'}


@pytest.fixture(scope='module')
def tiny_result():
    # Row keys as on a CPU without native bfloat16 (fp32 recommended), on any CPU.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(benchmark, 'cpu_has_native_bfloat16', lambda: False)
        return run_benchmark(BenchmarkSettings(**TINY, data_images=2), log=lambda message: None)


def test_rows_cover_every_measurement_with_positive_numbers(tiny_result):
    rows = {row.key: row for row in tiny_result.rows}
    assert set(rows) == TIMING_KEYS | MEMORY_KEYS | DATA_KEYS
    for key in TIMING_KEYS | DATA_KEYS:
        assert rows[key].ours > 0 and rows[key].mmdet > 0, key
        assert rows[key].ratio == pytest.approx(rows[key].ours / rows[key].mmdet)
    for key in MEMORY_KEYS:
        assert rows[key].ours >= 0 and rows[key].mmdet >= 0, key
    # Targets: on the CPU the ratios of the timing rows, of both precisions.
    assert {key for key, row in rows.items() if row.target} == TIMING_KEYS
    assert rows['loss'].met == (rows['loss'].ratio <= 0.1)
    for key in TIMING_KEYS - {'loss'}:
        assert rows[key].met == (rows[key].ratio <= 0.9), key


def test_table_has_one_line_a_row(tiny_result):
    lines = tiny_result.format_table().splitlines()
    assert lines[0].startswith('| metric |') and len(lines) == 2 + len(tiny_result.rows)
    assert all(line.count('|') == 8 for line in lines)
    assert all(row.name in line for row, line in zip(tiny_result.rows, lines[2:]))


def test_json_holds_rows_durations_and_environment(tiny_result):
    data = json.loads(json.dumps(tiny_result.to_json()))
    assert [row['key'] for row in data['rows']] == [row.key for row in tiny_result.rows]
    assert data['settings']['widen_factor'] == 0.125
    assert data['environment']['torch'] == torch.__version__
    assert len(data['durations']['loss']['ours']) == LOSS_MIN_REPEATS
    assert set(data['durations']['inference']) == {'ours_fp32', 'ours_amp', 'mmdet'}
    assert all(t > 0 for t in data['durations']['train_step']['mmdet'])
    for agreement in data['agreement'].values():
        assert agreement['reference'] > 0 and 0 <= agreement['recall'] <= 1


def test_both_models_compute_the_same_function():
    settings = BenchmarkSettings(**TINY, data_images=0, channels_last=False)
    ours, theirs = build_models(settings)
    inputs = theirs.data_preprocessor(synthetic_batch(2, settings, seed=5), False)['inputs']
    with torch.no_grad():
        (our_maps, ), (their_maps, ) = ours.eval()(inputs, 'tensor'), theirs.eval()(
            inputs, 'tensor')
    for our_map, their_map in zip(our_maps, their_maps):
        torch.testing.assert_close(our_map, their_map, rtol=1e-4, atol=1e-4)
    assert our_maps[0].shape == (2, 3 * (5 + 3), 2, 2)


def test_synthetic_batch_boxes_lie_inside_the_image():
    settings = BenchmarkSettings(**TINY, data_images=0)
    batch = synthetic_batch(4, settings, seed=1)
    boxes = torch.stack([s.gt_instances.bboxes for s in batch['data_samples']])
    assert boxes.shape == (4, 3, 4) and len(batch['inputs']) == 4
    assert (boxes >= 0).all() and (boxes <= 64).all()
    assert (boxes[..., 2:] - boxes[..., :2] >= 8).all()


@pytest.mark.parametrize('keep', [False, True])
def test_allocator_policy_only_when_asked(monkeypatch, keep):
    """glibc's default policy unless ``keep_freed_memory``; then our CPU
    training's, set once for the whole process (both models)."""
    calls = []
    monkeypatch.setattr(benchmark, 'keep_freed_memory_for_reuse', lambda: calls.append(1))
    build_contestants(BenchmarkSettings(**TINY, data_images=0, keep_freed_memory=keep))
    assert calls == ([1] if keep else [])


def _samples(*images):
    """DetDataSamples of 64 x 64 images from (boxes, scores, labels) lists."""
    samples = []
    for boxes, scores, labels in images:
        sample = DetDataSample(metainfo=dict(ori_shape=(64, 64)))
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.tensor(labels, dtype=torch.long))
        samples.append(sample)
    return samples


def test_detection_agreement_counts_matches_of_same_image_and_label():
    reference = _samples(([[0, 0, 10, 10], [20, 20, 40, 40]], [0.9, 0.5], [0, 1]),
                         ([[5, 5, 15, 15]], [0.7], [2]))
    assert detection_agreement(reference, reference) == dict(
        reference=3, candidate=3, recall=1.0, mean_score_diff=0.0, max_score_diff=0.0)
    # First box shifted by 1 px (IoU 81/119 > 0.5, score 0.1 off); second
    # with another label; the third image's box moved to the first image.
    candidate = _samples(([[1, 1, 11, 11], [20, 20, 40, 40], [5, 5, 15, 15]],
                          [0.8, 0.5, 0.7], [0, 0, 2]), ([], [], []))
    agreement = detection_agreement(reference, candidate)
    assert agreement['recall'] == pytest.approx(1 / 3)
    assert agreement['max_score_diff'] == pytest.approx(0.1)


def test_detection_agreement_tells_apart_boxes_past_the_image():
    """Two boxes of one label, both past the 64 px image (clipped, both
    would be the whole image): each matches its twin."""
    reference = _samples(([[-20, -20, 80, 80], [-40, -40, 120, 120]], [0.9, 0.5], [0, 0]))
    agreement = detection_agreement(reference, reference)
    assert agreement['recall'] == 1.0 and agreement['max_score_diff'] == 0.0


def test_fp32_inference_gives_mmdets_detections_under_its_test_cfg(tiny_result):
    """Our fused channels-last model finds every detection of mmdet's, with
    the score to float32 rounding (2.6e-5 at most measured)."""
    agreement = tiny_result.agreement['ours_fp32_vs_mmdet']
    assert agreement['reference'] == agreement['candidate'] > 0
    assert agreement['recall'] == 1.0 and agreement['max_score_diff'] < 1e-4


def test_detections_are_checked_under_mmdets_test_cfg_with_varied_objectness():
    settings = BenchmarkSettings(**TINY, data_images=0)
    checked = detection_check_models(build_contestants(settings), settings)
    mmdet_test_cfg = get_config(benchmark.MMDET_YOLOV3_CONFIG).model.test_cfg
    for model in (checked.deploy, checked.mmdet_deploy):
        assert model.bbox_head.test_cfg == mmdet_test_cfg
    batch = synthetic_batch(2, settings, seed=5)
    inputs = checked.mmdet_deploy.data_preprocessor(batch, False)['inputs']
    with torch.no_grad():
        (our_maps, ), (their_maps, ) = (checked.deploy(inputs, 'tensor'),
                                        checked.mmdet_deploy(inputs, 'tensor'))
    # Fused and channels-last against mmdet: 3.5e-4 at most measured.
    for our_map, their_map in zip(our_maps, their_maps):
        torch.testing.assert_close(our_map, their_map, rtol=1e-4, atol=1e-3)
    objectness = torch.cat([m.unflatten(1, (3, -1))[:, :, 4].flatten() for m in their_maps])
    objectness = objectness.sigmoid()
    assert (objectness < mmdet_test_cfg.conf_thr).any() and (objectness > 0.9).any()


def test_sweep_and_plot(tmp_path):
    settings = BenchmarkSettings(**TINY, data_images=0)
    points = run_sweep(settings, batch_sizes=[1, 2], img_sizes=[32, 64], log=lambda m: None)
    assert [(p['batch_size'], p['img_size']) for p in points] == [(1, 64), (2, 64), (2, 32)]
    keys = {'train_ours', 'train_mmdet', 'inference_ours', 'inference_mmdet'}
    assert all(keys <= set(p) and all(p[k] > 0 for k in keys) for p in points)
    out = plot_sweep(points, settings, str(tmp_path / 'sweep.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_profile_tables_name_the_operators():
    tables = profile_models(BenchmarkSettings(**TINY, data_images=0), row_limit=5)
    assert set(tables) == {'inference_ours', 'inference_mmdet', 'train_step_ours',
                           'train_step_mmdet'}
    assert 'aten::' in tables['train_step_ours'] and 'Self CPU' in tables['inference_mmdet']


def test_tool_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'bench.json'
    monkeypatch.setattr(sys, 'argv', [
        'tools/benchmark.py', '--quick', '--batch-size', '2', '--img-size', '64',
        '--num-classes', '3', '--objects', '3', '--widen-factor', '0.125', '--repeats', '1',
        '--warmup', '0', '--data-images', '0', '--amp-dtype', 'none', '--out-json', str(out)])
    runpy.run_path('tools/benchmark.py', run_name='__main__')
    data = json.loads(out.read_text())
    assert {row['key'] for row in data['rows']} == {'loss', 'train_step', 'inference'} | MEMORY_KEYS
    assert data['settings']['amp_dtype'] is None and data['settings']['data_images'] == 0
    assert data['command'].startswith('python tools/benchmark.py --quick')
    assert '| loss + target assignment |' in capsys.readouterr().out


@pytest.mark.parametrize('native, expected', [(True, 'bfloat16'), (False, None)])
def test_cpu_mixed_precision_rows_only_with_native_bfloat16(monkeypatch, native, expected):
    """Emulated bfloat16 is slower than fp32: by default the CPU rows run
    bfloat16 only where the CPU computes it natively."""
    monkeypatch.setattr(benchmark, 'cpu_has_native_bfloat16', lambda: native)
    assert benchmark.default_amp_dtype('cpu') == expected
    assert benchmark.default_amp_dtype('cuda') == 'float16'


@pytest.mark.parametrize('device, amp_dtype, native, train, inference', [
    ('cpu', 'bfloat16', True, True, False),  # bfloat16 training, fp32 inference
    ('cpu', 'bfloat16', False, False, False),  # emulated bfloat16: fp32
    ('cpu', None, True, False, False),
    ('cuda', 'float16', False, True, True),  # AMP on a GPU
    ('cuda', None, True, False, False),
])
def test_recommended_precision(monkeypatch, device, amp_dtype, native, train, inference):
    monkeypatch.setattr(benchmark, 'cpu_has_native_bfloat16', lambda: native)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    settings = BenchmarkSettings(**dict(TINY, device=device, amp_dtype=amp_dtype))
    assert settings.amp_recommended('train') is train
    assert settings.amp_recommended('inference') is inference
    assert benchmark.recommended_variant(settings, 'train') == (
        'ours_amp' if train else 'ours_fp32')


@pytest.mark.parametrize('native', [True, False])
def test_recommended_variant_row_comes_first_under_the_plain_key(monkeypatch, native):
    monkeypatch.setattr(benchmark, 'cpu_has_native_bfloat16', lambda: native)
    settings = BenchmarkSettings(**TINY)
    times = dict(ours_fp32=[0.95], ours_amp=[0.4], mmdet=[1.0])
    rows = benchmark._variant_rows('train_step', 'train', 'training step', times, settings, 2)
    recommended, other = ('amp', 'fp32') if native else ('fp32', 'amp')
    assert [row.key for row in rows] == ['train_step', f'train_step_ours_{other}']
    assert rows[0].ours == pytest.approx(times[f'ours_{recommended}'][0] * 1000)
    assert rows[0].name.endswith('autocast bfloat16' if native else 'fp32')
    assert [row.met for row in rows] == ([True, False] if native else [False, True])
    inference = benchmark._variant_rows('inference', 'inference', 'inference', times, settings, 2)
    assert [row.key for row in inference] == ['inference', 'inference_ours_amp']


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match='multiple of 32'):
        BenchmarkSettings(img_size=100)
    with pytest.raises(ValueError, match='float16 autocast needs a GPU'):
        BenchmarkSettings(amp_dtype='float16')


def test_training_steps_leave_the_inference_models_as_built():
    """Timed training steps change weights and BN statistics (and so the
    NMS load): inference must run on models they do not touch."""
    settings = BenchmarkSettings(**TINY, data_images=0)
    contestants = build_contestants(settings)
    before = {name: [t.clone() for t in model.state_dict().values()]
              for name, model in (('ours', contestants.deploy),
                                  ('mmdet', contestants.mmdet_deploy))}
    trained = [t.clone() for t in contestants.mmdet.state_dict().values()]
    for call in training_calls(contestants, settings, synthetic_batch(2, settings, 0)).values():
        call()
    for name, model in (('ours', contestants.deploy), ('mmdet', contestants.mmdet_deploy)):
        assert all(torch.equal(a, b) for a, b in zip(before[name], model.state_dict().values()))
    assert not all(torch.equal(a, b)
                   for a, b in zip(trained, contestants.mmdet.state_dict().values()))
