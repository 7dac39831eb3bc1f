"""NaNGuardHook: training stops at the first non-finite loss, naming the
iteration and component, and the last good checkpoint stays the latest."""
import math
import os.path as osp

import pytest
import torch
from mmengine.runner import find_latest_checkpoint

from tests.engine.toy_runner import toy_runner
from yolo_plugin.engine.hooks.nan_guard_hook import NonFiniteLossError
from yolo_plugin.utils.checkpoint import load_from_local_safe

GUARD = [dict(type='NaNGuardHook', priority='VERY_HIGH')]


def _finite_weights(path: str) -> bool:
    state = load_from_local_safe(path)['state_dict']
    return all(torch.isfinite(v).all() for v in state.values())


def test_stops_at_injected_nan_and_keeps_last_good_checkpoint(tmp_path):
    runner = toy_runner(str(tmp_path), GUARD, max_iters=8, nan_from_step=5,
                        checkpoint_interval=2)
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 5' in message
    assert 'loss_b=nan' in message and 'loss_a' not in message
    good = osp.join(str(tmp_path), 'iter_4.pth')
    assert good in message
    # Nothing saved after the broken step: iteration 4 stays the latest.
    assert find_latest_checkpoint(str(tmp_path)) == good
    assert not osp.exists(osp.join(str(tmp_path), 'iter_6.pth'))
    assert _finite_weights(good)
    # The broken step did update the weights in memory (what must not be saved).
    assert not all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_stops_when_the_learning_rate_is_far_too_high(tmp_path):
    runner = toy_runner(str(tmp_path), GUARD, max_iters=200, lr=1e6, checkpoint_interval=1)
    with pytest.raises(NonFiniteLossError, match='Non-finite loss at iteration') as error:
        runner.train()
    stopped_at = runner.iter + 1
    assert f'iteration {stopped_at}' in str(error.value)
    assert find_latest_checkpoint(str(tmp_path)) == osp.join(str(tmp_path), f'iter_{stopped_at - 1}.pth')
    assert _finite_weights(find_latest_checkpoint(str(tmp_path)))


def test_message_without_any_checkpoint(tmp_path):
    runner = toy_runner(str(tmp_path), GUARD, max_iters=4, nan_from_step=1)
    with pytest.raises(NonFiniteLossError, match='no checkpoint had been saved yet'):
        runner.train()


def test_refuses_to_save_non_finite_weights(tmp_path):
    runner = toy_runner(str(tmp_path), GUARD, max_iters=2, checkpoint_interval=2)
    runner.train()
    saved = osp.join(str(tmp_path), 'iter_2.pth')
    before = osp.getmtime(saved)
    runner.model.linear.bias.data.fill_(math.inf)
    with pytest.raises(NonFiniteLossError, match='linear.bias'):
        runner.save_checkpoint(str(tmp_path), 'iter_2.pth')
    assert osp.getmtime(saved) == before and _finite_weights(saved)


def test_finite_training_is_untouched(tmp_path):
    runner = toy_runner(str(tmp_path), GUARD, max_iters=4)
    runner.train()
    assert runner.iter == 4
