"""ResumableEpochBasedTrainLoop: a training killed with SIGKILL in
mid-epoch and resumed with ``tools/train.py --resume`` computes the losses
and ends with the weights, EMA and optimizer state of a run that was never
interrupted."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from yolo_plugin.engine.loops import _BatchesAfter, _skipping_batches
from yolo_plugin.utils.checkpoint import load_from_local_safe

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# 8 demo frames in batches of 2: 4 iterations an epoch, 2 epochs. Checkpoints
# every 3 iterations; the kill after iteration 5 leaves iter_3.pth (the
# middle of epoch 1) as the latest, so the resumed run starts at batch 4 of
# 4, crosses the end of epoch 1 (validation) and trains epoch 2.
BATCHES_PER_EPOCH, MAX_EPOCHS, CHECKPOINT_EVERY, KILL_AFTER = 4, 2, 3, 5
TOTAL_ITERS = BATCHES_PER_EPOCH * MAX_EPOCHS


def _write_config(path: str, data_root: str, losses: str, kill_after: int = 0) -> str:
    custom_hooks = [dict(type='LossRecorderHook', out=losses)]
    if kill_after:
        custom_hooks.append(dict(type='KillAtIterHook', iteration=kill_after))
    loader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
    with open(path, 'w') as f:
        f.write(f"""_base_ = {osp.join(REPO, 'configs', 'yolov3_s_kitti_demo.py')!r}
custom_imports = dict(imports=['yolo_plugin', 'tests.engine.resume_probe'],
                      allow_failed_imports=False)
randomness = dict(seed=3)
train_dataloader = dict(batch_size=2, **{loader!r})
val_dataloader = dict(batch_size=4, **{loader!r})
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={MAX_EPOCHS}, val_interval=1)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval={CHECKPOINT_EVERY}, max_keep_ckpts=-1,
                    save_best=None),
    logger=dict(interval=1), visualization=dict(draw=False))
custom_hooks = {custom_hooks!r}
""")
    return path


def _train(config: str, work_dir: str, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
         *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _losses(path: str) -> dict:
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return {record.pop('iter'): record for record in records}


def _assert_states_equal(expected, actual, where: str) -> None:
    """Nested dicts / lists of tensors and plain values, tensors to 1e-5."""
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys(), where
        for name, value in expected.items():
            _assert_states_equal(value, actual[name], f'{where}.{name}')
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(actual), where
        for index, value in enumerate(expected):
            _assert_states_equal(value, actual[index], f'{where}[{index}]')
    elif isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5,
                                   msg=f'{where} differs')
    else:
        assert actual == expected, where


@pytest.fixture(scope='module')
def runs(demo_kitti_root, tmp_path_factory):
    """(uninterrupted work dir, its losses, the checkpoints the killed run
    left, the losses of the killed run then of the resumed one)."""
    root = tmp_path_factory.mktemp('resume')
    data_root = f'{demo_kitti_root}/'
    whole = str(root / 'whole')
    whole_losses = str(root / 'whole.jsonl')
    done = _train(_write_config(str(root / 'whole.py'), data_root, whole_losses), whole)
    assert done.returncode == 0, done.stderr[-3000:]

    broken = str(root / 'broken')
    killed_losses = str(root / 'killed.jsonl')
    killed = _train(_write_config(str(root / 'killed.py'), data_root, killed_losses,
                                  kill_after=KILL_AFTER), broken)
    assert killed.returncode == -9, killed.stderr[-3000:]
    with open(osp.join(broken, 'last_checkpoint')) as f:
        left = (sorted(n for n in os.listdir(broken) if n.endswith('.pth')), f.read().strip())
    resumed_losses = str(root / 'resumed.jsonl')
    resumed = _train(_write_config(str(root / 'resumed.py'), data_root, resumed_losses),
                     broken, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return whole, _losses(whole_losses), broken, left, _losses(killed_losses), \
        _losses(resumed_losses)


def test_killed_run_left_a_mid_epoch_checkpoint(runs):
    _, _, broken, (checkpoints, latest), killed, _ = runs
    assert sorted(killed) == list(range(1, KILL_AFTER + 1))
    assert checkpoints == [f'iter_{CHECKPOINT_EVERY}.pth']
    assert latest == osp.join(broken, checkpoints[0])
    meta = load_from_local_safe(latest)['meta']
    assert (meta['epoch'], meta['iter']) == (0, CHECKPOINT_EVERY)


def test_resumed_losses_continue_the_uninterrupted_run(runs):
    _, whole, _, _, killed, resumed = runs
    assert sorted(whole) == list(range(1, TOTAL_ITERS + 1))
    # The resumed run restarts after the checkpoint, not at the epoch start.
    assert sorted(resumed) == list(range(CHECKPOINT_EVERY + 1, TOTAL_ITERS + 1))
    for iteration, losses in [*killed.items(), *resumed.items()]:
        assert losses.keys() == whole[iteration].keys()
        for name, value in losses.items():
            assert value == pytest.approx(whole[iteration][name], rel=1e-5, abs=1e-5), \
                f'{name} at iteration {iteration}'
    # Not trivially equal: the losses change from iteration to iteration.
    assert len({round(whole[i]['loss'], 6) for i in whole}) == TOTAL_ITERS


def test_final_weights_ema_and_optimizer_match(runs):
    whole, _, broken, _, _, _ = runs
    name = f'iter_{TOTAL_ITERS}.pth'
    expected = load_from_local_safe(osp.join(whole, name))
    actual = load_from_local_safe(osp.join(broken, name))
    for part in ('state_dict', 'ema_state_dict', 'optimizer', 'param_schedulers'):
        _assert_states_equal(expected[part], actual[part], part)
    assert actual['meta']['iter'] == TOTAL_ITERS


def test_skipping_batches_draws_indices_only():
    loader = torch.utils.data.DataLoader(list(range(10)), batch_size=3)
    assert list(_BatchesAfter(loader.batch_sampler, 2)) == [[6, 7, 8], [9]]
    with _skipping_batches(loader, 3):
        batches = iter(loader)
    assert [b.tolist() for b in batches] == [[9]]
    assert len(loader) == 4 and [b.tolist() for b in loader][0] == [0, 1, 2]
