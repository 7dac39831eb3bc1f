"""The measuring helpers of the benchmark: calls timed in turns, the peak
memory of a call, the convolutions' arithmetic and the matrix-product
rate."""
import pytest
import torch
from mmengine.analysis import FlopAnalyzer

from benchmarks.profiling import (can_measure_host_peak, conv_flops, matmul_rate,
                                  peak_memory, time_in_turns)
from yolo_plugin.apis import build_detector, load_config
from yolo_plugin.utils.host_memory import return_freed_memory_to_os


def test_time_in_turns_alternates_the_order():
    order = []
    times = time_in_turns(dict(a=lambda: order.append('a'), b=lambda: order.append('b')),
                          warmup=1, repeats=3, device=torch.device('cpu'))
    assert order == ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']
    assert [len(t) for t in times.values()] == [3, 3]
    assert all(t >= 0 for t in times['a'] + times['b'])


@pytest.mark.skipif(not can_measure_host_peak(), reason='needs /proc/self/clear_refs')
def test_peak_memory_sees_a_temporary_allocation():
    return_freed_memory_to_os()
    size = 64 << 20

    def allocate():
        buffer = torch.ones(size // 4)  # written, so resident
        return float(buffer[-1])

    assert peak_memory(allocate, torch.device('cpu')) >= 0.9 * size


def test_conv_flops_of_strided_grouped_dilated_and_oblong_convs():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),  # 8 x 5 x 5 outputs, 27 MACs each
        torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4),  # 8 x 5 x 5, 18 MACs
        torch.nn.ReLU(), torch.nn.Conv2d(8, 4, (1, 3), padding=(0, 1)))  # 4 x 5 x 5, 24 MACs
    expected = 2 * (200 * 27 + 200 * 18 + 100 * 24) * 2  # a batch of 2
    assert conv_flops(model, torch.zeros(2, 3, 10, 10)) == expected


def test_conv_flops_of_the_demo_detector_agree_with_mmengine():
    """mmengine's FlopAnalyzer (fvcore's counting, one multiply-add a
    FLOP) of the demo model's convolutions, at a non-square input."""
    torch.manual_seed(0)
    model = build_detector(load_config('configs/yolov3_s_kitti_demo.py')).eval()
    inputs = torch.zeros(1, 3, 96, 320)
    reference = FlopAnalyzer(model, inputs).unsupported_ops_warnings(False).by_operator()
    assert conv_flops(model, inputs) == 2 * reference['conv']


def test_matmul_rate_is_a_rate_and_restores_the_thread_count():
    before = torch.get_num_threads()
    flops = matmul_rate(threads=1, size=256, repeats=2)
    assert 1e8 < flops < 1e13  # 0.1 GFLOP/s .. 10 TFLOP/s on one thread
    assert torch.get_num_threads() == before
