"""Distributed set-up on CPUs (the two-process run is in
tests/tools/test_distributed.py)."""
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from yolo_plugin.engine.distributed import (WRAPPER_PATH, CPUDistributedDataParallel,
                                            prepare_distributed)

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')


def _cfg(**kwargs) -> Config:
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')), **kwargs))


def test_no_launcher_changes_nothing():
    cfg = _cfg(launcher='none')
    prepare_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


def test_errors_before_training(monkeypatch):
    with pytest.raises(ValueError, match='launcher must be one of'):
        prepare_distributed(_cfg(launcher='slurm'))
    with pytest.raises(ValueError, match='sync_bn.*needs GPUs'):
        prepare_distributed(_cfg(launcher='pytorch', sync_bn='torch'))
    monkeypatch.delenv('MASTER_PORT', raising=False)
    with pytest.raises(ValueError, match='torchrun'):
        prepare_distributed(_cfg(launcher='pytorch'))


def test_gloo_group_and_cpu_wrapper(tmp_path, monkeypatch):
    env = dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
               MASTER_PORT='29517')
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cfg = _cfg(launcher='pytorch', model_wrapper_cfg=dict(find_unused_parameters=True))
    prepare_distributed(cfg)
    try:
        assert torch_dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg == dict(type=WRAPPER_PATH,
                                             broadcast_buffers=False,
                                             find_unused_parameters=True)
        # The runner passes device_ids=[LOCAL_RANK]; a CPU module refuses them.
        module = torch.nn.Linear(3, 2)
        wrapped = CPUDistributedDataParallel(module=module, device_ids=[0])
        out = wrapped(torch.ones(4, 3))
        out.sum().backward()
        # One process: the all-reduced gradient is the local one.
        assert torch.allclose(module.weight.grad, torch.full((2, 3), 4.0))
    finally:
        torch_dist.destroy_process_group()
