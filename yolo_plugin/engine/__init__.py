"""Runtime extensions of mmengine's Runner, each registered: hooks, the
resumable training loop, the bfloat16 optimizer wrapper and distributed
training on CPUs."""
from .distributed import LAUNCHERS, CPUDistributedDataParallel, prepare_distributed
from .hooks import NaNGuardHook, NonFiniteLossError, ThroughputHook
from .loops import ResumableEpochBasedTrainLoop
from .optim_wrappers import BFloat16OptimWrapper, cpu_has_native_bfloat16

__all__ = [
    'BFloat16OptimWrapper', 'CPUDistributedDataParallel', 'LAUNCHERS', 'NaNGuardHook',
    'NonFiniteLossError', 'ResumableEpochBasedTrainLoop', 'ThroughputHook',
    'cpu_has_native_bfloat16', 'prepare_distributed'
]
