"""The measuring helpers of the benchmark: calls timed in turns, and the
peak memory of a call."""
import pytest
import torch

from benchmarks.profiling import can_measure_host_peak, peak_memory, time_in_turns
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
