"""The two glibc malloc policies, seen in the process's resident size."""
import pytest
import torch

from yolo_plugin.utils.host_memory import (glibc, keep_freed_memory_for_reuse,
                                           return_freed_memory_to_os)

SIZE = 256 << 20  # well above glibc's largest mmap threshold (32 MiB)


def _resident_bytes() -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmRSS line')


def _allocate_touch_free() -> int:
    """Resident size after a written ``SIZE`` tensor is freed, minus before."""
    before = _resident_bytes()
    buffer = torch.ones(SIZE // 4)
    assert float(buffer[-1]) == 1.0
    del buffer
    return _resident_bytes() - before


@pytest.mark.skipif(glibc() is None, reason='needs glibc')
def test_freed_memory_is_kept_for_reuse_then_returned():
    try:
        assert keep_freed_memory_for_reuse()
        assert _allocate_touch_free() >= 0.9 * SIZE  # still resident after the free
        # Aligned requests are a little larger than the block they freed: after
        # a few rounds the kept memory serves the tensor of every later round.
        growth = [_allocate_touch_free() for _ in range(5)]
        assert max(growth[-2:]) <= 0.05 * SIZE, growth
        assert return_freed_memory_to_os()
        glibc().malloc_trim(0)
        assert _allocate_touch_free() <= 0.1 * SIZE  # freed at once
    finally:
        return_freed_memory_to_os()
