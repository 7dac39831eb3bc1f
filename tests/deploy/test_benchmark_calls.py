"""benchmarks/deploy.py: the timed calls of each backend do the same work
(the same detections from the same batch), and the report's ratios."""
import pytest

pytest.importorskip('onnx', reason='the deploy extra: pip install -e .[deploy]')
pytest.importorskip('onnxruntime', reason='the deploy extra: pip install -e .[deploy]')

from benchmarks.deploy import deploy_calls, format_deploy_report, synthetic_images  # noqa: E402
from .conftest import DYNAMIC_TEST_CFG  # noqa: E402
from .pytorch_reference import (INPUT_SIZE, as_arrays, compare_detections,  # noqa: E402
                                load_demo_model)


def test_calls_detect_the_same(dynamic_export, demo_checkpoint):
    images = synthetic_images(2, INPUT_SIZE, seed=0)
    model = load_demo_model(demo_checkpoint, DYNAMIC_TEST_CFG).fuse_conv_bn()
    calls = deploy_calls(model, dict(ort_fp32=dynamic_export), None, images, threads=1)
    assert sorted(calls) == ['ort_fp32', 'pytorch']
    num_dets, boxes, scores, labels = calls['ort_fp32']()
    for index, sample in enumerate(calls['pytorch']()):
        count = int(num_dets[index])
        assert count > 0
        compare_detections(as_arrays(sample), dict(boxes=boxes[index, :count],
                                                   scores=scores[index, :count],
                                                   labels=labels[index, :count]),
                           box_tol=1e-3, score_tol=1e-5)


def test_report_ratios_rates_and_targets():
    times = dict(pytorch=dict(median_ms=100.0, min_ms=80.0),
                 ort_fp32=dict(median_ms=75.0, min_ms=40.0),
                 ort_int8=dict(median_ms=45.0, min_ms=40.0))
    report = format_deploy_report([dict(model='demo', img_size=[128, 416], threads=2, batch=1,
                                        conv_gflop=3.0, matmul_gflops=60.0,
                                        times=times)])
    assert ('| demo | 416 x 128 | 2 | 1 | 100 (min 80) | 75 (min 40) 0.75x (min 0.50x) |'
            in report)
    assert '45 (min 40) 0.45x (min 0.50x) | n/a |' in report
    # 3 GFLOP in 100 / 75 / 45 ms: 30, 40, 67 GFLOP/s against a 60 GFLOP/s matmul
    assert '| demo | 416 x 128 | 2 | 1 | 3.0 | 60 | 30 (50%) | 40 (67%) | 67 (111%) | n/a |' \
        in report
    # the floor: 3 GFLOP at 60 GFLOP/s = 50 ms, half of PyTorch's 100 ms
    assert ('- demo, 2 thread(s): ORT fp32 0.75x (not met), ORT int8 0.45x (met); '
            'fp32 floor 0.50x (the convolutions at the matmul rate)' in report)
