"""ThroughputHook: images/s, compute time and peak memory on the log lines."""
import resource

import psutil
import pytest
import torch

from tests.engine.toy_runner import toy_runner
from yolo_plugin.engine.hooks.throughput_hook import (ThroughputHook, batch_size_of,
                                                      peak_memory_mib)


def test_peak_memory_on_cpu_bounds_the_current_rss():
    peak = peak_memory_mib(torch.device('cpu'))
    assert peak == resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak >= psutil.Process().memory_info().rss / 2**20 - 1


def test_batch_size_of():
    assert batch_size_of(dict(inputs=[torch.zeros(3)] * 5)) == 5
    assert batch_size_of(dict(inputs=torch.zeros(2, 3))) == 2
    with pytest.raises(TypeError, match='cannot count'):
        batch_size_of(3)


def test_log_scalars_of_training_and_validation(tmp_path):
    runner = toy_runner(str(tmp_path), [dict(type='ThroughputHook', window_size=3)],
                        max_iters=6, batch_size=2, with_val=True)
    runner.train()
    hub = runner.message_hub
    times = hub.get_scalar('train/time').data[0]
    data_times = hub.get_scalar('train/data_time').data[0]
    # images/s over the last 3 iterations, from IterTimerHook's own times
    assert hub.get_scalar('train/imgs_per_sec').current() == pytest.approx(
        3 * 2 / times[-3:].sum())
    compute = hub.get_scalar('train/compute_time').data[0]
    assert compute == pytest.approx(times - data_times)
    assert len(compute) == 6
    assert hub.get_scalar('train/peak_mem_mb').current() > 0
    # validation: the whole pass (16 images)
    assert hub.get_scalar('val/imgs_per_sec').current() > 0
    assert hub.get_scalar('val/peak_mem_mb').current() > 0


def test_window_size_checked():
    with pytest.raises(ValueError, match='window_size'):
        ThroughputHook(window_size=0)
