"""The checkpoint loader at its edges: ``map_location`` on every route,
weights-only kept whatever the environment says, numpy 1.x checkpoints,
what each error says, the registration with mmengine (from mmengine's own
loaders and backends), text written atomically beside its target under a
hidden temporary name, the download's progress bar and the warning for a
deprecated open-mmlab name."""
import io
import logging
import os
import pickle
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.fileio import io as fileio_io
from mmengine.fileio.backends import registry_utils
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

import yolo_plugin.utils.checkpoint as checkpoint_module
from yolo_plugin.utils.checkpoint import (AtomicLocalBackend, CheckpointError,
                                          load_from_http_safe, load_from_local_safe,
                                          load_from_mmcls_safe, load_from_openmmlab_safe,
                                          load_from_torchvision_safe,
                                          register_safe_checkpoint_loader)
from .malicious_checkpoint import save_malicious_checkpoint
from .test_checkpoint import (HUB_CACHE, TINY_URL, homes,  # noqa: F401 (fixtures)
                              torchvision_table)

WEIGHTS = dict(state_dict=dict(weight=torch.arange(4.0)))


def storage_locations(load, name):
    """Locations ``load(name, map_location)`` passes to a recording
    ``map_location``, with the loaded weights."""
    seen = []

    def map_location(storage, location):
        seen.append(location)
        return storage

    loaded = load(name, map_location)
    assert torch.equal(loaded['state_dict']['weight'], WEIGHTS['state_dict']['weight'])
    return seen


@pytest.mark.parametrize('load, name, where', [
    (load_from_http_safe, TINY_URL, f'{HUB_CACHE}/tiny-0123abcd.pth'),
    (load_from_openmmlab_safe, 'open-mmlab://darknet53', f'{HUB_CACHE}/darknet53-a628ea1b.pth'),
    (load_from_openmmlab_safe, 'open-mmlab://tiny_local', 'mmengine/weights/tiny.pth'),
    (load_from_torchvision_safe, 'torchvision://resnet18', f'{HUB_CACHE}/resnet18-f37072fd.pth'),
    (load_from_mmcls_safe, 'mmcls://vgg11',
     f'{HUB_CACHE}/vgg11_batch256_imagenet_20210208-4271cd6c.pth'),
])
def test_map_location_reaches_every_storage(load, name, where, homes,  # noqa: F811
                                            torchvision_table):  # noqa: F811
    prefix = 'backbone.' if load is load_from_mmcls_safe else ''  # mmcls: the backbone's
    torch.save(dict(state_dict={prefix + 'weight': WEIGHTS['state_dict']['weight']}),
               homes / where)
    assert storage_locations(load, name) == ['cpu']


def test_map_location_reaches_every_storage_of_a_local_file(tmp_path):
    torch.save(WEIGHTS, tmp_path / 'local.pth')
    assert storage_locations(load_from_local_safe, str(tmp_path / 'local.pth')) == ['cpu']


def test_stays_weights_only_when_the_environment_turns_it_off(tmp_path, monkeypatch):
    """torch reads TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 as "unpickle
    anything" unless ``weights_only=True`` is given."""
    path = str(tmp_path / 'evil.pth')
    marker = save_malicious_checkpoint(path, WEIGHTS)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(CheckpointError, match='not allowed to load safely'):
        load_from_local_safe(path)
    assert not os.path.exists(marker)


def test_checkpoint_pickled_under_numpy_1_loads(tmp_path):
    """numpy 1.x pickles arrays and scalars as
    ``numpy.core.multiarray._reconstruct`` / ``.scalar`` (numpy 2 as
    ``numpy._core...``): such names, written in the pickle, load."""
    buffer = io.BytesIO()
    message_hub = dict(history=np.arange(3.0), step=np.float64(2.5))
    torch.save(message_hub, buffer, _use_new_zipfile_serialization=False, pickle_protocol=2)
    numpy_1 = buffer.getvalue().replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert numpy_1.count(b'numpy.core.multiarray\n') == 2
    path = tmp_path / 'numpy1.pth'
    path.write_bytes(numpy_1)
    loaded = load_from_local_safe(str(path))
    np.testing.assert_array_equal(loaded['history'], message_hub['history'])
    assert loaded['step'] == 2.5


def test_refused_history_buffer_attribute_is_named(tmp_path):
    class ReachesForInit:

        def __reduce__(self):
            from mmengine.logging import HistoryBuffer
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'reaches.pth'
    torch.save(dict(payload=ReachesForInit()), path)
    with pytest.raises(CheckpointError, match='holds objects that are not allowed') as error:
        load_from_local_safe(str(path))
    assert "'__init__'): only HistoryBuffer statistics are allowed" in str(error.value.__cause__)


@pytest.mark.parametrize('message, reason', [
    # torch 2.6's layout: preamble, what was refused (two paragraphs), pointer
    ('Weights only load failed. Re-running ... trusted source.\n\n\nWeightsUnpickler error: '
     'Unsupported global: GLOBAL a.B was not\nan allowed global by default.\n\nPlease use '
     '`add_safe_globals`.\n\nCheck the documentation of torch.load to learn more.',
     'WeightsUnpickler error: Unsupported global: GLOBAL a.B was not an allowed global by '
     'default. Please use `add_safe_globals`.'),
    # nothing but the preamble: the message as it is
    ('Weights only load failed. Something new.', 'Weights only load failed. Something new.'),
])
def test_refusal_reason_keeps_what_was_refused(message, reason):
    assert checkpoint_module._refusal_reason(message) == reason


def test_empty_file_names_the_error(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'empty\.pth is truncated or corrupt \(EOFError'):
        load_from_local_safe(str(path))


def test_unpickling_error_without_weights_only_is_corruption(tmp_path, monkeypatch):
    path = tmp_path / 'odd.pth'
    path.write_bytes(b'x')

    def unpickling_fails(*args, **kwargs):
        raise pickle.UnpicklingError('invalid load key')

    monkeypatch.setattr(torch, 'load', unpickling_fails)
    with pytest.raises(CheckpointError, match=r'odd\.pth is corrupt: invalid load key$'):
        load_from_local_safe(str(path))


@pytest.mark.parametrize('load, name, message', [
    (load_from_openmmlab_safe, 'open-mmlab://darknet53://x',
     "Checkpoint open-mmlab://darknet53://x: 'darknet53://x' is not in mmengine's open-mmlab "
     'table'),
    (load_from_torchvision_safe, 'torchvision://resnet18://x',
     "Checkpoint torchvision://resnet18://x: 'resnet18://x' is not in torchvision's model "
     'table'),
])
def test_name_holding_the_separator_is_not_in_the_table(load, name, message,
                                                        homes, torchvision_table):  # noqa: F811
    with pytest.raises(CheckpointError) as error:
        load(name)
    assert str(error.value) == message


@pytest.fixture
def mmengine_defaults(monkeypatch):
    """mmengine's own checkpoint loaders and local file backend, with a
    local backend instance cached, as before registration (restored
    afterwards)."""
    schemes = dict(CheckpointLoader._schemes)
    schemes.update({'': mmengine_checkpoint.load_from_local,
                    'http://': mmengine_checkpoint.load_from_http,
                    'https://': mmengine_checkpoint.load_from_http,
                    'open-mmlab://': mmengine_checkpoint.load_from_openmmlab,
                    'openmmlab://': mmengine_checkpoint.load_from_openmmlab,
                    'torchvision://': mmengine_checkpoint.load_from_torchvision,
                    'modelzoo://': mmengine_checkpoint.load_from_torchvision,
                    'mmcls://': mmengine_checkpoint.load_from_mmcls})
    monkeypatch.setattr(CheckpointLoader, '_schemes', schemes)
    monkeypatch.setitem(registry_utils.backends, 'local', LocalBackend)
    monkeypatch.setitem(registry_utils.prefix_to_backends, '', LocalBackend)
    monkeypatch.setattr(fileio_io, 'backend_instances', {})
    assert type(get_file_backend('work_dir/x.pth', enable_singleton=True)) is LocalBackend


def test_registration_replaces_mmengines_loaders_and_backend(mmengine_defaults):
    register_safe_checkpoint_loader()
    loaders = {name: CheckpointLoader._get_checkpoint_loader(name) for name in (
        'work_dir/epoch_1.pth', TINY_URL, 'http://example.com/a.pth', 'open-mmlab://darknet53',
        'openmmlab://darknet53', 'torchvision://resnet18', 'modelzoo://resnet18',
        'mmcls://vgg11')}
    assert list(loaders.values()) == [
        checkpoint_module.load_from_local_safe, checkpoint_module.load_from_http_safe,
        checkpoint_module.load_from_http_safe, checkpoint_module.load_from_openmmlab_safe,
        checkpoint_module.load_from_openmmlab_safe, checkpoint_module.load_from_torchvision_safe,
        checkpoint_module.load_from_torchvision_safe, checkpoint_module.load_from_mmcls_safe]
    assert type(get_file_backend('work_dir/x.pth', enable_singleton=True)) is AtomicLocalBackend
    assert type(get_file_backend(backend_args=dict(backend='local'))) is AtomicLocalBackend


def test_temporary_file_lies_beside_the_target(tmp_path, monkeypatch):
    """``os.replace`` is atomic within one file system: the data go to a
    file in the target's folder."""
    replaced = []
    replace = os.replace
    monkeypatch.setattr(os, 'replace', lambda src, dst: replaced.append(src) or replace(src, dst))
    AtomicLocalBackend().put(b'data', tmp_path / 'sub' / 'latest.pth')
    assert os.path.dirname(replaced[0]) == str(tmp_path / 'sub')


def test_text_is_written_as_utf8(tmp_path):
    target = tmp_path / 'last_checkpoint'
    AtomicLocalBackend().put_text('température/epoch_3.pth', target)
    assert target.read_bytes() == 'température/epoch_3.pth'.encode('utf-8')
    assert os.listdir(tmp_path) == ['last_checkpoint']


@pytest.mark.parametrize('stdin_is_a_terminal', [True, False])
def test_download_shows_progress_only_at_a_terminal(stdin_is_a_terminal, homes,  # noqa: F811
                                                    monkeypatch):
    """A batch job's log gets no progress bar; an interactive session does."""
    calls = []

    def download(url, path, progress=True):
        calls.append(progress)
        torch.save(WEIGHTS, path)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    monkeypatch.setattr(checkpoint_module.os, 'isatty',
                        lambda fd: stdin_is_a_terminal if fd == 0 else not stdin_is_a_terminal)
    load_from_http_safe(TINY_URL)
    assert [bool(progress) for progress in calls] == [stdin_is_a_terminal]


@contextmanager
def current_log_records():
    """The records the current mmengine logger emits inside the block."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_deprecated_open_mmlab_name_is_a_warning_in_the_current_log(homes):  # noqa: F811
    """As mmengine's ``load_from_openmmlab`` does: a warning naming the old
    and the new name, in the current mmengine logger."""
    from mmengine.runner.checkpoint import get_deprecated_model_names

    old, new = next(iter(get_deprecated_model_names().items()))
    with current_log_records() as records:
        try:
            checkpoint_module.resolve_openmmlab(f'open-mmlab://{old}')
        except CheckpointError:
            pass  # the new name need not be in the table
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, f'open-mmlab://{old} is deprecated in favor of open-mmlab://{new}')]


@pytest.mark.parametrize('scheme, warnings', [
    ('modelzoo', [(logging.WARNING, 'The URL scheme of "modelzoo://" is deprecated, please use '
                   '"torchvision://" instead')]),
    ('torchvision', [])])
def test_modelzoo_scheme_is_a_warning_in_the_current_log(scheme, warnings, homes,  # noqa: F811
                                                         torchvision_table):  # noqa: F811
    """As mmengine's ``load_from_torchvision`` warns of ``modelzoo://``."""
    torch.save(WEIGHTS, homes / HUB_CACHE / 'resnet18-f37072fd.pth')
    with current_log_records() as records:
        load_from_torchvision_safe(f'{scheme}://resnet18')
    assert [(r.levelno, r.getMessage()) for r in records] == warnings


def test_interrupted_write_leaves_only_a_hidden_temporary_named_after_the_target(
        tmp_path, monkeypatch):
    """The temporary file is ``.<target name>.<random>.tmp``: hidden, named
    after its target, and matching no checkpoint pattern (``*.pth``) while
    it is written; an interrupted write removes it."""
    seen = []

    def replace_fails(src, dst):
        seen.append(os.path.basename(src))
        assert os.listdir(tmp_path) == [seen[0]]
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', replace_fails)
    with pytest.raises(OSError, match='disk full'):
        AtomicLocalBackend().put(b'data', tmp_path / 'epoch_1.pth')
    assert seen[0].startswith('.epoch_1.pth.') and seen[0].endswith('.tmp')
    assert os.listdir(tmp_path) == []
