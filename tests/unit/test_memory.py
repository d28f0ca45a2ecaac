"""The rendering processes' malloc setting (teleglas.ops.memory): a large buffer, once freed, leaves nothing
resident, where glibc's own dynamic threshold keeps it from the second one on."""

import subprocess
import sys

import pytest

_PROBE = """
import sys
from teleglas.ops.memory import keep_large_buffers_apart

def rss_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))

if sys.argv[1] == "fixed":
    assert keep_large_buffers_apart()
before = rss_kb()
for _ in range(3):  # a canvas-sized block, written (so resident), then freed
    block = b"x" * (16 << 20)
    del block
print(rss_kb() - before)
"""


def kept_kb(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt and /proc")
def test_a_freed_large_buffer_leaves_nothing_resident():
    assert kept_kb("dynamic") >= 12 * 1024  # glibc's default: the second block came from the heap, and stayed
    assert kept_kb("fixed") < 4 * 1024
