"""A rendering process hands its large transient buffers back to the system when it frees them.

glibc serves a large block (over 128 KiB) from its own mapping, returned on free, but each time such a block is
freed it raises that threshold to the block's size (up to 32 MiB), so a chart's 4 MB canvas and its PNG come from
the heap from the second render on, and what they leave behind is kept: a worker with charts on grew by a quarter
in four minutes at 5,000 events/s, in steps of about 5 MB (Python's own allocations stayed flat under
tracemalloc). Fixing the threshold at glibc's default, which also fixes the trim threshold, keeps every large
buffer a mapping of its own (bench memory row; `mallopt(3)`).
"""

from __future__ import annotations

import ctypes
import logging

from teleglas.defines import LOG_RUNNER, MMAP_THRESHOLD_BYTES

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # malloc.h


def keep_large_buffers_apart() -> bool:
    """Fixes glibc's mmap threshold for this process and those it forks from now on (a prefork pool). False, and
    nothing changed, where the C library has no mallopt or refuses (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    fixed = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    if not fixed:
        log.info("%s mallopt refused a fixed mmap threshold: memory after charts may grow", LOG_RUNNER)
    return fixed
