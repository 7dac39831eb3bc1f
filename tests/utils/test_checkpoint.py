"""Checkpoint files: mmengine checkpoints load with weights_only kept on,
unsafe content is refused (downloaded files too), broken files are named,
writes are atomic."""
import json
import os
import pickle
import re
import urllib.error

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner import checkpoint as mmengine_checkpoint
from torch.utils.data import Dataset

import yolo_plugin.utils.checkpoint as checkpoint_module
from yolo_plugin.utils.checkpoint import (AtomicLocalBackend, CheckpointError,
                                          load_from_local_safe)
from .malicious_checkpoint import save_malicious_checkpoint


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
    """Unpickled without weights_only, creates ``marker``."""

    def __init__(self, marker: str = ''):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class ReachesForAttribute:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload, refused', [
    (RunsCommand(), 'Trying to load unsupported GLOBAL posix.system whose module posix is '
     'blocked.'),
    (ReachesForAttribute(), "refused getattr(<class 'mmengine.logging.history_buffer."
     "HistoryBuffer'>, '__init__'): only HistoryBuffer statistics are allowed")])
def test_unsafe_content_is_refused_naming_what(tmp_path, payload, refused):
    """The error names the file and what torch refused (not torch's
    preamble or its pointer to the documentation)."""
    path, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    payload.marker = str(marker)
    torch.save({'state_dict': {}, 'extra': payload}, path)
    with pytest.raises(CheckpointError) as error:
        load_from_local_safe(str(path))
    assert str(error.value) == (f'Checkpoint {path} holds objects that are not allowed to load '
                                f'safely: {refused}')
    assert not marker.exists()


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


TINY_URL = 'https://download.example.com/models/tiny-0123abcd.pth'
DARKNET53_URL = 'https://download.openmmlab.com/pretrain/third_party/darknet53-a628ea1b.pth'
HUB_CACHE = 'torch/hub/checkpoints'
# A checkpoint name, where mmengine finds its file (relative to the test's
# folder: TORCH_HOME is torch/, MMENGINE_HOME mmengine/), and mmengine's own
# loader of it.
REMOTE_CHECKPOINTS = [
    (TINY_URL, f'{HUB_CACHE}/tiny-0123abcd.pth', mmengine_checkpoint.load_from_http),
    ('http://download.example.com/models/tiny-0123abcd.pth?download=1',
     f'{HUB_CACHE}/tiny-0123abcd.pth', mmengine_checkpoint.load_from_http),
    ('open-mmlab://darknet53', f'{HUB_CACHE}/darknet53-a628ea1b.pth',
     mmengine_checkpoint.load_from_openmmlab),
    ('openmmlab://darknet53', f'{HUB_CACHE}/darknet53-a628ea1b.pth',
     mmengine_checkpoint.load_from_openmmlab),
    # a deprecated name, replaced by detectron/resnet50_caffe
    ('open-mmlab://resnet50_caffe', f'{HUB_CACHE}/resnet50_caffe-788b5fa3.pth',
     mmengine_checkpoint.load_from_openmmlab),
    # a name of open_mmlab.json in mmengine's home, a path relative to it
    ('open-mmlab://tiny_local', 'mmengine/weights/tiny.pth',
     mmengine_checkpoint.load_from_openmmlab),
]


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty torch and mmengine homes of this test alone (mmengine's home
    adds ``tiny_local`` to the open-mmlab table), and a downloader that
    fails as it does offline."""

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError(f'offline test, no download of {url}')

    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    (tmp_path / HUB_CACHE).mkdir(parents=True)
    (tmp_path / 'mmengine' / 'weights').mkdir(parents=True)
    (tmp_path / 'mmengine' / 'open_mmlab.json').write_text(
        json.dumps(dict(tiny_local='weights/tiny.pth')))
    return tmp_path


@pytest.mark.parametrize('name, where, mmengine_loader', REMOTE_CHECKPOINTS)
def test_remote_checkpoint_loads_from_where_mmengine_finds_it(name, where, mmengine_loader,
                                                              homes):
    source = TinyModel()
    torch.save(dict(state_dict=source.state_dict()), homes / where)
    model = TinyModel()
    load_checkpoint(model, name)
    assert torch.equal(model.linear.weight, source.linear.weight)
    theirs = mmengine_loader(name)['state_dict']
    assert torch.equal(theirs['linear.weight'], source.linear.weight)


@pytest.mark.parametrize('name, where, mmengine_loader', REMOTE_CHECKPOINTS)
def test_malicious_remote_checkpoint_is_refused(name, where, mmengine_loader, homes):
    path = str(homes / where)
    marker = save_malicious_checkpoint(path, dict(state_dict=TinyModel().state_dict()))
    with pytest.raises(CheckpointError, match=re.escape(path)):
        load_checkpoint(TinyModel(), name)
    assert not os.path.exists(marker)


def test_unknown_open_mmlab_name_is_named(homes):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(TinyModel(), 'open-mmlab://darknet5')
    assert str(error.value) == ("Checkpoint open-mmlab://darknet5: 'darknet5' is not in "
                                "mmengine's open-mmlab table")


# torchvision:// and mmcls:// names: mmengine's tables give their URLs, the
# file is read from torch's hub cache. mmengine's torchvision table imports
# torchvision, absent here: both sides get its URLs of torchvision 0.12
# (mmengine's own JSON).
TORCHVISION_TABLE = mmengine_checkpoint.load_file(
    os.path.join(os.path.dirname(mmengine_checkpoint.__file__), '..', 'hub',
                 'torchvision_0.12.json'))
TABLE_CHECKPOINTS = [
    ('torchvision://resnet18', f'{HUB_CACHE}/resnet18-f37072fd.pth', ''),
    ('modelzoo://resnet18', f'{HUB_CACHE}/resnet18-f37072fd.pth', ''),
    # mmcls checkpoints hold a whole classifier; mmengine keeps the backbone
    ('mmcls://vgg11', f'{HUB_CACHE}/vgg11_batch256_imagenet_20210208-4271cd6c.pth',
     'backbone.'),
]


@pytest.fixture
def torchvision_table(monkeypatch):
    for module in (checkpoint_module, mmengine_checkpoint):
        monkeypatch.setattr(module, 'get_torchvision_models', lambda: dict(TORCHVISION_TABLE))


@pytest.mark.parametrize('name, where, key_prefix', TABLE_CHECKPOINTS)
def test_table_named_checkpoint_loads_as_mmengine_loads_it(name, where, key_prefix, homes,
                                                           torchvision_table):
    source = TinyModel()
    weights = {key_prefix + key: value for key, value in source.state_dict().items()}
    if key_prefix:  # a classifier's head, which mmengine drops
        weights['head.fc.weight'] = torch.zeros(3)
    torch.save(dict(state_dict=weights), homes / where)
    model = TinyModel()
    load_checkpoint(model, name, strict=True)
    assert torch.equal(model.linear.weight, source.linear.weight)
    mmengine_loader = (mmengine_checkpoint.load_from_mmcls if key_prefix
                       else mmengine_checkpoint.load_from_torchvision)
    ours = mmengine_checkpoint.CheckpointLoader.load_checkpoint(name)
    theirs = mmengine_loader(name)
    assert ours['state_dict'].keys() == theirs['state_dict'].keys() == {
        'linear.weight', 'linear.bias'}


@pytest.mark.parametrize('name, where, key_prefix', TABLE_CHECKPOINTS)
def test_malicious_table_named_checkpoint_is_refused(name, where, key_prefix, homes,
                                                     torchvision_table):
    path = str(homes / where)
    marker = save_malicious_checkpoint(path, dict(state_dict=TinyModel().state_dict()))
    with pytest.raises(CheckpointError, match=re.escape(path)):
        load_checkpoint(TinyModel(), name)
    assert not os.path.exists(marker)


@pytest.mark.parametrize('name, message', [
    ('torchvision://resnet19', "Checkpoint torchvision://resnet19: 'resnet19' is not in "
     "torchvision's model table"),
    ('mmcls://vgg12', "Checkpoint mmcls://vgg12: 'vgg12' is not in mmengine's mmcls table")])
def test_unknown_table_name_is_named(name, message, homes, torchvision_table):
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(TinyModel(), name)


@pytest.fixture
def downloads(homes, monkeypatch) -> list:
    """The URLs and target paths downloaded, each a TinyModel checkpoint."""
    calls = []

    def download(url, path, *args, **kwargs):
        calls.append((url, path))
        torch.save(dict(state_dict=TinyModel().state_dict()), path)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    return calls


def test_missing_file_is_downloaded_into_the_hub_cache_once(homes, downloads):
    for _ in range(2):
        load_checkpoint(TinyModel(), 'open-mmlab://darknet53')
    assert downloads == [(DARKNET53_URL, str(homes / HUB_CACHE / 'darknet53-a628ea1b.pth'))]


@pytest.mark.parametrize('rank', [0, 1])
def test_rank_0_downloads_while_the_others_wait(rank, homes, downloads, monkeypatch):
    """Two processes, each with an empty cache: rank 0 downloads before
    the barrier, rank 1 after it (where rank 0's download is already in
    a shared cache, it reads that)."""
    monkeypatch.setattr(checkpoint_module, 'get_dist_info', lambda: (rank, 2))
    monkeypatch.setattr(torch.distributed, 'barrier', lambda: downloads.append('barrier'))
    load_checkpoint(TinyModel(), TINY_URL)
    download = (TINY_URL, str(homes / HUB_CACHE / 'tiny-0123abcd.pth'))
    assert downloads == ([download, 'barrier'] if rank == 0 else ['barrier', download])
