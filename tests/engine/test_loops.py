"""ResumableEpochBasedTrainLoop: a training killed with SIGKILL in
mid-epoch and resumed with ``tools/train.py --resume`` computes the losses
and ends with the weights, EMA and optimizer state of a run that was never
interrupted, loading in the main process or in persistent workers."""
import json
import os
import os.path as osp
import subprocess
import sys

import random

import numpy as np
import pytest
import torch

from yolo_plugin.engine.loops import EpochBatches, SeededSamples
from yolo_plugin.utils.checkpoint import load_from_local_safe

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# 8 demo frames in batches of 2: 4 iterations an epoch, 2 epochs. Checkpoints
# every 3 iterations; the kill after iteration 5 leaves iter_3.pth (the
# middle of epoch 1) as the latest, so the resumed run starts at batch 4 of
# 4, crosses the end of epoch 1 (validation) and trains epoch 2.
BATCHES_PER_EPOCH, MAX_EPOCHS, CHECKPOINT_EVERY, KILL_AFTER = 4, 2, 3, 5
TOTAL_ITERS = BATCHES_PER_EPOCH * MAX_EPOCHS


def _write_config(path: str, data_root: str, losses: str, workers: int,
                  kill_after: int = 0) -> str:
    custom_hooks = [dict(type='LossRecorderHook', out=losses)]
    if kill_after:
        custom_hooks.append(dict(type='KillAtIterHook', iteration=kill_after))
    loader = dict(num_workers=workers, persistent_workers=workers > 0,
                  dataset=dict(data_root=data_root))
    # With workers also mmdet's AspectRatioBatchSampler (the KITTI configs'),
    # whose sampler DistSamplerSeedHook reaches through the batch sampler.
    batch_sampler = dict(type='AspectRatioBatchSampler', _delete_=True) if workers else None
    with open(path, 'w') as f:
        f.write(f"""_base_ = {osp.join(REPO, 'configs', 'yolov3_s_kitti_demo.py')!r}
custom_imports = dict(imports=['yolo_plugin', 'tests.engine.resume_probe'],
                      allow_failed_imports=False)
randomness = dict(seed=3)
train_dataloader = dict(batch_size=2, batch_sampler={batch_sampler!r}, **{loader!r})
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


@pytest.fixture(scope='module', params=[0, 2], ids=['main-process', '2-workers'])
def runs(request, demo_kitti_root, tmp_path_factory):
    """(uninterrupted work dir, its losses, the checkpoints the killed run
    left, the losses of the killed run then of the resumed one), loading
    with ``request.param`` workers."""
    workers = request.param
    root = tmp_path_factory.mktemp('resume')
    data_root = f'{demo_kitti_root}/'
    whole = str(root / 'whole')
    whole_losses = str(root / 'whole.jsonl')
    done = _train(_write_config(str(root / 'whole.py'), data_root, whole_losses, workers),
                  whole)
    assert done.returncode == 0, done.stderr[-3000:]

    broken = str(root / 'broken')
    killed_losses = str(root / 'killed.jsonl')
    killed = _train(_write_config(str(root / 'killed.py'), data_root, killed_losses, workers,
                                  kill_after=KILL_AFTER), broken)
    assert killed.returncode == -9, killed.stderr[-3000:]
    with open(osp.join(broken, 'last_checkpoint')) as f:
        left = (sorted(n for n in os.listdir(broken) if n.endswith('.pth')), f.read().strip())
    resumed_losses = str(root / 'resumed.jsonl')
    resumed = _train(_write_config(str(root / 'resumed.py'), data_root, resumed_losses,
                                   workers), broken, '--resume')
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


def test_epoch_batches_skip_by_index_and_tag_the_epoch():
    loader = torch.utils.data.DataLoader(list(range(10)), batch_size=3)
    batches = EpochBatches(loader.batch_sampler, dataset_len=10)
    assert list(batches)[0] == [0, 1, 2] and len(batches) == 4
    batches.epoch, batches.num_skipped = 2, 2
    assert list(batches) == [[26, 27, 28], [29]] and len(batches) == 4
    # DistSamplerSeedHook reaches the sampler through the batch sampler.
    assert batches.sampler is loader.batch_sampler.sampler


def test_seeded_samples_repeat_their_random_draws_in_any_order():
    """A sample's random draws depend on (seed, epoch, index) only: not on
    what was loaded before it; other epochs and seeds draw differently."""
    class Draws(torch.utils.data.Dataset):
        metainfo = {'classes': ('Car', )}

        def __len__(self):
            return 4

        def __getitem__(self, index):
            return index, random.random(), float(np.random.rand()), float(torch.rand(1))

    samples = SeededSamples(Draws(), seed=3)
    forward = [samples[4 + i] for i in range(4)]  # epoch 1
    backward = [samples[4 + i] for i in reversed(range(4))][::-1]
    assert forward == backward and [s[0] for s in forward] == [0, 1, 2, 3]
    assert len({s[1:] for s in forward}) == 4
    assert samples[0][1:] != forward[0][1:]  # epoch 0
    assert SeededSamples(Draws(), seed=4)[4][1:] != forward[0][1:]
    assert samples.metainfo == {'classes': ('Car', )} and len(samples) == 4
