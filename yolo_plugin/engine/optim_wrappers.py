"""Mixed precision in bfloat16, on CPUs as on GPUs.

mmengine's ``AmpOptimWrapper`` runs only where CUDA (or an NPU / MLU) is;
on a CPU with native bfloat16 instructions (``avx512_bf16`` or AMX) a
training step in bfloat16 autocast takes under half the fp32 time
(BENCHMARKS.md). bfloat16 keeps fp32's exponent range, so no loss scaling
is needed; weights, gradients and the optimizer stay in fp32 and the head
computes its losses in fp32.
"""
import contextlib

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX);
    elsewhere bfloat16 is emulated and slower than fp32."""
    checks = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


@OPTIM_WRAPPERS.register_module()
class BFloat16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward (``optim_context``) runs under
    ``torch.autocast(dtype=torch.bfloat16)`` on the device of the model's
    parameters. Selected by ``tools/train.py --amp`` on a CPU with native
    bfloat16, or by ``optim_wrapper = dict(type='BFloat16OptimWrapper')``."""

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type, dtype=torch.bfloat16):
            yield
