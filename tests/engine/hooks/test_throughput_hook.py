"""ThroughputHook: images/s, compute time, data wait share and peak memory
on the log lines; a warning when waiting for data exceeds its share."""
import resource
import time
import uuid
from types import SimpleNamespace

import psutil
import pytest
import torch

from mmengine.logging import MessageHub

from tests.engine.toy_runner import ToyData, ToyModel, toy_runner
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
    assert hub.get_scalar('train/data_share').data[0] == pytest.approx(data_times / times)
    assert hub.get_scalar('train/peak_mem_mb').current() > 0
    # validation: the whole pass (16 images)
    assert hub.get_scalar('val/imgs_per_sec').current() > 0
    assert hub.get_scalar('val/peak_mem_mb').current() > 0


def test_window_size_checked():
    with pytest.raises(ValueError, match='window_size'):
        ThroughputHook(window_size=0)
    with pytest.raises(ValueError, match='data_share_warn'):
        ThroughputHook(data_share_warn=1.5)


def fake_runner():
    """What the hook reads of a Runner: a message hub, a logger recording
    its warnings, the model and the log processor."""
    warnings = []
    return SimpleNamespace(
        message_hub=MessageHub.get_instance(f'throughput-{uuid.uuid4().hex}'),
        logger=SimpleNamespace(warning=warnings.append), warnings=warnings,
        model=torch.nn.Linear(1, 1), log_processor=SimpleNamespace(window_size=4))


def run_epoch(hook, runner, times) -> None:
    """One training epoch of iterations with these (data_time, time) s."""
    hook.before_train_epoch(runner)
    for index, (data_time, iter_time) in enumerate(times):
        runner.message_hub.update_scalar('train/data_time', data_time)
        runner.message_hub.update_scalar('train/time', iter_time)
        hook.after_train_iter(runner, index, dict(inputs=[0, 0]))


def test_warns_once_an_epoch_when_data_wait_exceeds_its_share():
    """Window 4 (the log processor's), threshold 10 %: a warning once in
    each epoch where 4 iterations after the first wait more than 10 % of
    their time; none at 10 % exactly, none for a slow first iteration."""
    hook = ThroughputHook()
    runner = fake_runner()
    hook.before_train(runner)
    run_epoch(hook, runner, [(0.1, 1.0)] * 9)  # 10 %: no warning
    assert runner.warnings == []
    run_epoch(hook, runner, [(5.0, 5.5)] + [(0.05, 1.0)] * 8)  # first one left out
    assert runner.warnings == []
    run_epoch(hook, runner, [(0.5, 1.0)] * 4)  # 3 after the first: less than a window
    assert runner.warnings == []
    run_epoch(hook, runner, [(0.0, 1.0)] * 3 + [(0.3, 1.0)] * 8)  # 0.6 / 4 s: 15 %
    assert len(runner.warnings) == 1
    assert 'waiting for data took 15% of the step time over the last 4 iterations' in \
        runner.warnings[0]
    assert 'num_workers' in runner.warnings[0]
    run_epoch(hook, runner, [(0.5, 1.0)] * 5)  # the next epoch warns again
    assert len(runner.warnings) == 2
    assert runner.message_hub.get_scalar('train/data_share').current() == 0.5


def test_slow_data_loading_warns_in_a_real_run(tmp_path, monkeypatch):
    """mmengine's Runner: a dataset taking 20 ms a sample next to a model
    step of about a millisecond is a warning; a model taking 100 ms a step
    next to fast data is none."""
    def run(slow_data: bool) -> list:
        runner = toy_runner(str(tmp_path / str(slow_data)),
                            [dict(type='ThroughputHook', window_size=3)],
                            max_iters=6, batch_size=2, checkpoint_interval=100)
        warnings = []
        monkeypatch.setattr(runner.logger, 'warning', warnings.append)
        runner.train()
        return [w for w in warnings if w.startswith('ThroughputHook')]

    def slow(function, seconds):
        def wrapped(*args, **kwargs):
            time.sleep(seconds)
            return function(*args, **kwargs)
        return wrapped

    with monkeypatch.context() as patch:
        patch.setattr(ToyData, '__getitem__', slow(ToyData.__getitem__, 0.02))
        assert len(run(slow_data=True)) == 1
    with monkeypatch.context() as patch:
        patch.setattr(ToyModel, 'forward', slow(ToyModel.forward, 0.1))
        assert run(slow_data=False) == []
