"""The two glibc malloc policies, seen in the process's resident size.

Each measurement runs in a fresh interpreter: the policies are
process-wide, and what a freed block does next depends on the heap's
history (small allocations carve freed blocks, trims release pages in the
middle of the heap), which the tests run before would otherwise decide.
"""
import json
import subprocess
import sys
import textwrap

import pytest

from yolo_plugin.utils.host_memory import glibc

SIZE = 64 << 20  # above glibc's largest mmap threshold (32 MiB)
MAX_ROUNDS = 24

MEASURE = textwrap.dedent(f'''
    import json
    import torch
    from yolo_plugin.utils.host_memory import (glibc, keep_freed_memory_for_reuse,
                                               return_freed_memory_to_os)
    from benchmarks.profiling import _status_kib

    def resident_bytes():
        return _status_kib('VmRSS') * 1024

    def allocate_touch_free(trim=False):
        """Resident size after a written {SIZE}-byte tensor is freed (and,
        with ``trim``, free heap memory released), minus before."""
        before = resident_bytes()
        buffer = torch.ones({SIZE} // 4)
        assert float(buffer[-1]) == 1.0
        del buffer
        if trim:
            glibc().malloc_trim(0)
        return resident_bytes() - before

    result = dict(default=allocate_touch_free(), kept=keep_freed_memory_for_reuse())
    result['first_kept'] = allocate_touch_free()
    growth = []
    while len(growth) < {MAX_ROUNDS} and not (
            len(growth) >= 2 and max(growth[-2:]) <= 0.05 * {SIZE}):
        growth.append(allocate_touch_free())
    result['growth'] = growth
    result['returned'] = return_freed_memory_to_os()
    glibc().malloc_trim(0)
    result['after_return'] = allocate_touch_free(trim=True)
    print(json.dumps(result))
''')


@pytest.fixture(scope='module')
def measured():
    output = subprocess.run([sys.executable, '-c', MEASURE], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.splitlines()[-1])


@pytest.mark.skipif(glibc() is None, reason='needs glibc')
def test_by_default_a_large_freed_block_goes_back_at_once(measured):
    assert measured['default'] <= 0.1 * SIZE


@pytest.mark.skipif(glibc() is None, reason='needs glibc')
def test_freed_memory_is_kept_for_reuse_then_returned(measured):
    assert measured['kept'] and measured['returned']
    assert measured['first_kept'] >= 0.9 * SIZE  # still resident after the free
    # Aligned requests are a little larger than the block they freed: after
    # one or a few rounds kept memory serves the tensor of every later round
    # and the resident size stops growing.
    growth = measured['growth']
    assert max(growth[-2:]) <= 0.05 * SIZE, growth
    # Returned: at the free where the block was mapped for it, at the next
    # trim (as peak_memory does) where it came from kept heap memory.
    assert measured['after_return'] <= 0.1 * SIZE
