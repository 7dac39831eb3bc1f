"""Distributed training without GPUs: gloo process groups and a
data-parallel wrapper for CPU modules.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its runner
gives ``MMDistributedDataParallel`` ``device_ids=[LOCAL_RANK]``, both of
which fail on a CPU-only machine. :func:`prepare_distributed` sets the
process group up itself (the runner then skips ``init_dist``) and switches
the config to :class:`CPUDistributedDataParallel`.
"""
import datetime
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel

from yolo_plugin.registry import MODEL_WRAPPERS

LAUNCHERS = ('none', 'pytorch')
DEFAULT_WRAPPERS = ('MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel')
TORCHRUN_VARIABLES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for a module on the CPU: drops the
    ``device_ids`` / ``output_device`` the runner passes (torch refuses them
    for CPU modules); on a GPU it is ``MMDistributedDataParallel``."""

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        param = next(module.parameters(), None)
        if param is None or param.device.type == 'cpu':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)


# The wrapper's full import path, the type name the runner can look up.
WRAPPER_PATH = f'{CPUDistributedDataParallel.__module__}.{CPUDistributedDataParallel.__name__}'


def prepare_distributed(cfg: Config) -> None:
    """Ready ``cfg`` (with ``cfg.launcher`` set) for the runner.

    With GPUs, or without a launcher, nothing changes. Without GPUs under
    ``--launcher pytorch`` (torchrun): the process group is initialised here
    with the gloo backend (``env_cfg.dist_cfg``'s ``timeout`` in seconds is
    kept), ``env_cfg.dist_cfg.backend`` becomes ``'gloo'`` and the model
    wrapper :class:`CPUDistributedDataParallel`.

    Raises:
        ValueError: for an unknown launcher, a launcher other than pytorch
            without GPUs, ``sync_bn`` without GPUs, or missing torchrun
            variables.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if torch.cuda.is_available() or launcher == 'none':
        return
    if cfg.get('sync_bn'):
        raise ValueError(f"sync_bn={cfg.sync_bn!r} needs GPUs (torch's SyncBatchNorm "
                         'runs on CUDA only); remove it to train on CPUs')
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ValueError(f'--launcher pytorch needs the variables torchrun sets; missing '
                         f'{missing}. Start with: torchrun --nproc_per_node N tools/train.py ...')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = {} if timeout is None else {'timeout': datetime.timedelta(seconds=timeout)}
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') in DEFAULT_WRAPPERS:
        # The defaults mmengine gives its own wrapper, then the config's keys.
        defaults = dict(broadcast_buffers=False,
                        find_unused_parameters=cfg.get('find_unused_parameters', False))
        # The full import path: mmengine looks the type up in its root
        # registry, which does not see yolo_plugin's (a grandchild).
        cfg.model_wrapper_cfg = dict(defaults, **wrapper, type=WRAPPER_PATH)
