"""Checkpoint files: mmengine checkpoints load with weights_only kept on,
unsafe content is refused, broken files are named, writes are atomic."""
import os
import pickle

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from torch.utils.data import Dataset

from yolo_plugin.utils.checkpoint import (AtomicLocalBackend, CheckpointError,
                                          load_from_local_safe)


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs).squeeze(-1)
        return dict(loss=((out - labels)**2).mean()) if mode == 'loss' else out


class TinyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)), labels=torch.tensor(1.0))


def make_runner(work_dir, max_epochs, resume=False):
    return Runner(
        model=TinyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=TinyData(), batch_size=2,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0), resume=resume)


@pytest.fixture(scope='module')
def trained_dir(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('run')
    make_runner(work_dir, 2).train()
    return work_dir


def test_plain_weights_only_load_fails_and_ours_works(trained_dir):
    path = str(trained_dir / 'epoch_2.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    checkpoint = load_from_local_safe(path)
    assert {'meta', 'state_dict', 'optimizer', 'message_hub'} <= set(checkpoint)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and len(buffer.data[0]) > 0


def test_resume_and_load_checkpoint_go_through_the_safe_loader(trained_dir):
    runner = make_runner(trained_dir, 3, resume=True)
    runner.train()
    assert runner.epoch == 3
    model = TinyModel()
    load_checkpoint(model, str(trained_dir / 'epoch_3.pth'))
    assert torch.equal(model.linear.weight, runner.model.linear.weight)


class RunsCommand:

    def __reduce__(self):
        return (os.system, ('touch /tmp/yolo_plugin_pwned', ))


class ReachesForAttribute:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload', [RunsCommand(), ReachesForAttribute()])
def test_unsafe_content_is_refused(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'extra': payload}, path)
    with pytest.raises(CheckpointError, match=str(path)):
        load_from_local_safe(str(path))
    assert not os.path.exists('/tmp/yolo_plugin_pwned')


def test_truncated_and_missing_files_are_named(tmp_path, trained_dir):
    data = (trained_dir / 'epoch_1.pth').read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated.pth'):
        load_from_local_safe(str(truncated))
    with pytest.raises(CheckpointError, match='not found.*absent.pth'):
        load_from_local_safe(str(tmp_path / 'absent.pth'))


def test_local_writes_are_atomic(tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'latest.pth'
    backend.put(b'good', target)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'half-written', target)
    assert target.read_bytes() == b'good'
    assert os.listdir(tmp_path) == ['latest.pth']
