"""Give the memory an enrolment freed back to the system when the enrolment ends.

glibc keeps freed heap memory mapped in its arenas (one per thread that allocated:
the worker threads that run the image analysis each get one). On the soak bench a
kiosk's daemon held 120-150 MB of such free memory after an enrolment, and its RSS
grew in steps over the first few hundred enrolments as the arenas filled up.
``malloc_trim(0)`` returns the free pages of every arena to the kernel. It runs once
per enrolment, in a worker thread, after the captures are wiped; on a C library
other than glibc there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return free heap pages to the kernel; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    started = time.perf_counter()
    trim(0)
    logger.debug("free heap memory returned in %.1f ms", (time.perf_counter() - started) * 1000)
    return True
