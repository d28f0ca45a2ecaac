"""Charts render apart: in a child process forked for the one picture, at a lower CPU priority, the PNG coming back
on a pipe.

Why a process and not a thread: matplotlib's Agg canvas (a 4 MB buffer a picture, and font and path caches in C)
leaves a long-lived process's C heap fragmented. A worker that rendered in-process grew by megabytes a minute
under a cascade while Python's own memory stayed flat (bench.memory); a child's whole heap goes back to the
system when it exits. The fork is cheap (the parent has matplotlib imported, the child shares its pages), and a
nice value set in the child lowers the whole render without touching the process that sends the next text alert.
A render that outlives its time is killed rather than left running.

The child only draws: callers read their data (Redis) first and pass a drawing function bound to plain values.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import time
from collections.abc import Callable

from teleglas.defines import CHART_NICE, LOG_CHARTS

log = logging.getLogger(__name__)

_DRAWN, _RAISED = b"0", b"1"
_READ_CHUNK = 1 << 16


# How a picture is drawn: `here` (the manual bot's threads, the benches), or `render_apart` bound to a timeout.
Apart = Callable[[Callable[[], bytes]], bytes]


def here(draw: Callable[[], bytes]) -> bytes:
    return draw()


class RenderFailed(Exception):
    """The child died or answered nothing readable: the alert goes as text."""


class RenderTimedOut(RenderFailed):
    """The child was killed at its deadline."""


def render_apart(draw: Callable[[], bytes], timeout_s: float) -> bytes:
    """draw() in a forked child at CHART_NICE; its bytes, or its exception raised here, or RenderFailed."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to be had (a limit, memory): the caller's retry or its text, no fd left open
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: draw, answer, and leave without running the parent's exit handlers
        os.close(read_end)
        _child(write_end, draw)
    os.close(write_end)
    answer = None
    try:
        answer = _read_all(read_end, time.monotonic() + timeout_s)
    finally:
        os.close(read_end)
        _reap(pid, answered=answer is not None)
    if answer is None:
        raise RenderTimedOut(f"no picture within {timeout_s:.1f} s: the render was stopped")
    if answer[:1] == _DRAWN:
        return answer[1:]
    if answer[:1] == _RAISED:
        try:
            exc = pickle.loads(answer[1:])
        except Exception as unreadable:  # an exception that does not survive pickling names itself only
            raise RenderFailed(f"the render failed and its exception could not be read back: {unreadable}") from None
        if isinstance(exc, BaseException):
            raise exc
    raise RenderFailed("the render process ended without an answer")


def _child(write_end: int, draw: Callable[[], bytes]) -> None:
    code = 0
    try:
        try:
            os.nice(CHART_NICE)
        except OSError:
            pass  # a policy that refuses: the render runs at the parent's priority, still apart
        try:
            answer = _DRAWN + bytes(draw())
        except Exception as exc:
            try:
                answer = _RAISED + pickle.dumps(exc)
            except Exception:
                answer = _RAISED + pickle.dumps(RenderFailed(f"{type(exc).__name__}: {str(exc)[:200]}"))
        view = memoryview(answer)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _read_all(read_end: int, deadline: float) -> bytes | None:
    """Everything the child wrote, once it closed its end; None if that took past the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([read_end], [], [], left)[0]:
            return None
        chunk = os.read(read_end, _READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(pid: int, answered: bool) -> None:
    """A child that answered exits at once; one past its deadline is killed. Neither is left a zombie."""
    if not answered:
        log.warning("%s render process %d stopped at its deadline", LOG_CHARTS, pid)
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
