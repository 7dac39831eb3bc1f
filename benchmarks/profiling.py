"""Measuring code: wall time with device synchronisation, peak memory, and
the operators that take the time (torch.profiler)."""
import os
import time
from typing import Callable, Dict, List, Optional

import torch
from torch.profiler import ProfilerActivity, profile

from yolo_plugin.utils.host_memory import glibc

_PROC_STATUS = '/proc/self/status'
_PROC_CLEAR_REFS = '/proc/self/clear_refs'


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU), so that a
    clock read afterwards includes it."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_in_turns(calls: Dict[str, Callable[[], object]], warmup: int,
                  repeats: int, device: torch.device) -> Dict[str, List[float]]:
    """Seconds each call takes, ``repeats`` times each after ``warmup``
    untimed runs.

    The calls take turns (A B, then B A, ...), so that every one of them
    meets the same changes of machine load; the device is synchronised
    before and after each timed call.

    Returns:
        name -> the ``repeats`` durations in seconds, in run order.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: Dict[str, List[float]] = {name: [] for name in calls}
    order = list(calls)
    for repeat in range(repeats):
        for name in (order if repeat % 2 == 0 else order[::-1]):
            synchronize(device)
            start = time.perf_counter()
            calls[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def _status_kib(field: str) -> int:
    with open(_PROC_STATUS) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{_PROC_STATUS} has no {field} line')


def can_measure_host_peak() -> bool:
    """True where the peak resident size can be reset (Linux >= 4.0)."""
    return os.access(_PROC_CLEAR_REFS, os.W_OK) and os.path.isfile(_PROC_STATUS)


def peak_memory(call: Callable[[], object], device: torch.device) -> Optional[int]:
    """Bytes ``call()`` needs at its peak above what was in use when it
    began.

    CUDA: from ``torch.cuda.max_memory_allocated``. CPU: the peak resident
    set size (``VmHWM``, reset through ``/proc/self/clear_refs``) minus the
    resident size before; meaningful after
    :func:`~yolo_plugin.utils.host_memory.return_freed_memory_to_os`.
    None where neither is available.
    """
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        call()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if not can_measure_host_peak():
        return None
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
    before = _status_kib('VmRSS')
    with open(_PROC_CLEAR_REFS, 'w') as f:
        f.write('5')  # resets VmHWM to the current resident size
    call()
    return (_status_kib('VmHWM') - before) * 1024


def top_operators(call: Callable[[], object], device: torch.device,
                  row_limit: int = 15) -> str:
    """torch.profiler's table of the operators of one ``call()``, by their
    own time on the device that ran them."""
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        call()
        synchronize(device)
    sort_by = 'self_cuda_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    return prof.key_averages().table(sort_by=sort_by, row_limit=row_limit)


def conv_flops(model: torch.nn.Module, inputs: torch.Tensor) -> int:
    """Floating-point operations (2 a multiply-add) of the ``nn.Conv2d``
    layers of ``model`` on ``inputs`` ``(N, C, H, W)``: the arithmetic any
    backend running these convolutions directly has to do."""
    total = 0

    def count(module: torch.nn.Conv2d, _, output: torch.Tensor) -> None:
        nonlocal total
        macs_an_output = module.in_channels // module.groups * module.kernel_size[0] \
            * module.kernel_size[1]
        total += 2 * output.numel() * macs_an_output

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def matmul_rate(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of torch's fp32 matrix product of two ``size x size``
    matrices on ``threads`` CPU threads, the best of ``repeats``: what this
    CPU's vector units deliver in practice for dense fp32 arithmetic, the
    yardstick of a convolution's rate (a tuned convolution kernel may come
    a few percent above it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.rand(size, size), torch.rand(size, size)
        a @ b
        best = float('inf')
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return 2 * size ** 3 / best
