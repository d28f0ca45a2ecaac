"""Charts render at a lower CPU priority than the text path: a chart is a nicety, the text alert is the product.

A bare `celery -A teleglas worker` renders in the same pool as it sends, so on a busy host the render would take
CPU from the process sending the next alert. On Linux a nice value belongs to a thread: each process renders on
one thread of its own, lowered by CHART_NICE once, while the task's thread waits for it and keeps its priority for
the text tasks it runs next (a raised nice can not be lowered back without privilege, so the task thread is never
touched). Where the kernel refuses, the render runs at the same priority, as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from teleglas.defines import CHART_NICE, LOG_CHARTS

log = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()
_renderer: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, its one thread)


def _lower_this_thread() -> None:
    thread = threading.get_native_id()
    try:  # relative to the process's own nice, which the new thread inherited
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + CHART_NICE))
    except (AttributeError, OSError) as exc:  # not Linux, or a kernel policy that refuses
        log.warning("%s render thread kept its priority: %s", LOG_CHARTS, exc)


def at_low_priority(draw: Callable[..., T], *args: object) -> T:
    """draw(*args) on this process's render thread; its result or its exception, as if called here."""
    global _renderer
    with _lock:
        if _renderer is None or _renderer[0] != os.getpid():  # a forked pool process starts its own thread
            _renderer = (
                os.getpid(),
                ThreadPoolExecutor(1, thread_name_prefix="chart-render", initializer=_lower_this_thread),
            )
        renderer = _renderer[1]
    return renderer.submit(draw, *args).result()
