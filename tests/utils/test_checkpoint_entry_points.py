"""A checkpoint whose pickle runs code is refused with ``CheckpointError``
naming the file, and its payload never runs, on every way users load one:
mmengine's ``load_checkpoint``, a pretrained ``init_cfg``, the Runner's
``load_from`` and ``resume``, ``tools/train.py --resume``, ``tools/test.py``
and ``tools/infer.py``. The payload is refused before anything trains,
tests or infers."""
import os
import os.path as osp
import re
import uuid

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import Runner, load_checkpoint

from tests.engine.toy_runner import ToyData, ToyMetric, ToyModel
from tests.tools.tool_module import load_tool
from yolo_plugin.apis import load_detector
from yolo_plugin.utils.checkpoint import CheckpointError
from .malicious_checkpoint import save_malicious_checkpoint

CONFIG = 'configs/yolov3_s_kitti_demo.py'


@pytest.fixture
def malicious(tmp_path):
    """``(path, marker)``: a resumable checkpoint of :class:`ToyModel`
    carrying the payload, and the folder the payload would create."""
    path = str(tmp_path / 'malicious.pth')
    checkpoint = dict(meta=dict(epoch=0, iter=2), state_dict=ToyModel().state_dict())
    return path, save_malicious_checkpoint(path, checkpoint)


def assert_refused(load, path: str, marker: str) -> None:
    """``load()`` raises ``CheckpointError`` naming ``path``; the payload
    did not run."""
    with pytest.raises(CheckpointError, match=re.escape(path)):
        load()
    assert not osp.exists(marker)


def test_the_payload_runs_when_loaded_without_weights_only(malicious):
    path, marker = malicious
    torch.load(path, weights_only=False)
    assert osp.isdir(marker)


def test_load_checkpoint_refuses_it(malicious):
    assert_refused(lambda: load_checkpoint(ToyModel(), malicious[0]), *malicious)


def test_pretrained_init_cfg_refuses_it(malicious):
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=malicious[0]))
    assert_refused(module.init_weights, *malicious)


def toy_runner(work_dir: str, load_from: str, resume: bool) -> Runner:
    """A Runner of :class:`ToyModel` that trains 4 iterations and tests,
    starting from ``load_from``."""
    loader = dict(dataset=ToyData(), batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    return Runner(model=ToyModel(), work_dir=work_dir, train_dataloader=loader,
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
                  train_cfg=dict(by_epoch=False, max_iters=4), test_dataloader=loader,
                  test_cfg=dict(), test_evaluator=[ToyMetric()], load_from=load_from,
                  resume=resume, experiment_name=f'toy-{uuid.uuid4().hex}')


@pytest.mark.parametrize('start, resume', [('train', False), ('train', True), ('test', False)])
def test_runner_refuses_it_when_it_starts(start, resume, malicious, tmp_path):
    runner = toy_runner(str(tmp_path / 'work'), malicious[0], resume)
    assert_refused(getattr(runner, start), *malicious)
    assert runner.iter == 0
    assert not [name for name in os.listdir(runner.work_dir) if name.endswith('.pth')]


def data_options(root: str) -> list:
    """``--cfg-options`` for the demo config on the tiny demo set."""
    options = []
    for split in ('train', 'val', 'test'):
        options += [f'{split}_dataloader.dataset.data_root={root}/',
                    f'{split}_dataloader.num_workers=0',
                    f'{split}_dataloader.persistent_workers=False']
    return ['--cfg-options', *options]


def test_train_tool_refuses_it_to_resume(malicious, demo_kitti_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    assert_refused(
        lambda: load_tool('train').main([CONFIG, '--work-dir', work_dir, '--resume',
                                         malicious[0], *data_options(demo_kitti_root)]),
        *malicious)


def test_test_tool_refuses_it(malicious, demo_kitti_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    assert_refused(
        lambda: load_tool('test').main([CONFIG, malicious[0], '--work-dir', work_dir,
                                        *data_options(demo_kitti_root)]), *malicious)


def test_infer_tool_refuses_it(malicious):
    assert_refused(lambda: load_detector(CONFIG, malicious[0]), *malicious)
