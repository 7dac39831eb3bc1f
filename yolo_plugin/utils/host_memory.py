"""How glibc's malloc gives CPU tensors their memory.

By default glibc serves each block of 32 MiB and more (a CPU training step
allocates and frees gigabytes of such activations) with a fresh ``mmap``,
whose pages the kernel zero-fills on first touch, and hands it back on
free: page faults on every step, about 10 % of a Darknet-53 training step
on 2 cores. Two policies, each for the whole process:

- :func:`keep_freed_memory_for_reuse` for training and timing: everything
  from the heap, freed memory kept there for the next step. Small blocks
  carve freed large ones, so the heap can grow to a few times a recurring
  block before reuse sets in (a fresh process allocating and freeing 64
  MiB: 7 to 9 rounds), then stays there.
- :func:`return_freed_memory_to_os` for measuring memory: freed blocks of
  1 MiB and more go back at once, so that the resident size follows what
  tensors occupy.
"""
import ctypes
import ctypes.util
from typing import Optional

# glibc's mallopt parameter numbers and mmap count default (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_DEFAULT_MMAP_MAX = 65536
_INT_MAX = 2**31 - 1


def glibc() -> Optional[ctypes.CDLL]:
    """glibc when the process runs on it (it has ``mallopt``), else None."""
    name = ctypes.util.find_library('c')
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, 'mallopt') and hasattr(libc, 'malloc_trim') else None


def keep_freed_memory_for_reuse() -> bool:
    """Serve every allocation from the heap (no ``mmap``) and keep freed
    memory there for reuse (trim only beyond 2 GiB of free top). The
    resident size then stays at the peak of the run. Returns False where
    the C library is not glibc (nothing changes)."""
    libc = glibc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, _INT_MAX)
    return True


def return_freed_memory_to_os() -> bool:
    """Hand freed blocks of 1 MiB and more back to the system at once
    (those served from memory the heap already kept, after
    :func:`keep_freed_memory_for_reuse`, go back at the next
    ``malloc_trim``). Costs page faults on every large allocation: for
    measuring memory, not for speed. Returns False where the C library is
    not glibc."""
    libc = glibc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
    libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 20)
    return True
