"""Training engine: hooks, distributed set-up on CPUs, and the logic of the
train / test / inference tools."""
from .distributed import CPUDistributedDataParallel, prepare_distributed
from .hooks import NaNGuardHook, NonFiniteLossError, ThroughputHook
from .loops import ResumableEpochBasedTrainLoop

__all__ = [
    'CPUDistributedDataParallel', 'NaNGuardHook', 'NonFiniteLossError',
    'ResumableEpochBasedTrainLoop', 'ThroughputHook', 'prepare_distributed'
]
