"""Training engine: hooks, distributed set-up on CPUs, and the logic of the
train / test / inference tools."""
from .distributed import CPUDistributedDataParallel, prepare_distributed
from .hooks import NaNGuardHook, NonFiniteLossError, ThroughputHook
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrappers import BFloat16OptimWrapper, cpu_has_native_bfloat16

__all__ = [
    'BFloat16OptimWrapper', 'CPUDistributedDataParallel', 'NaNGuardHook', 'NonFiniteLossError',
    'ResumableEpochBasedTrainLoop', 'ThroughputHook', 'cpu_has_native_bfloat16',
    'prepare_distributed'
]
