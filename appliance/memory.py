"""Give the memory an enrolment freed back to the system when the enrolment ends.

glibc keeps freed heap memory mapped in its arenas (one per thread that allocated:
the worker threads that run the image analysis each get one). On the soak bench a
kiosk's daemon held 120-150 MB of such free memory after an enrolment, and its RSS
grew in steps over the first few hundred enrolments as the arenas filled up.
``malloc_trim(0)`` returns the free pages of every arena to the kernel. It runs once
per enrolment, in a worker thread, after the captures are wiped; on a C library
other than glibc there is nothing to call and nothing is done.

Trimming cannot return a page that still holds a live block, and each arena keeps
its own free memory: glibc gives every thread that allocates an arena of its own,
up to eight per core (the web server's executor, the line readers, the face and
document analysis threads), and an enrolment's large buffers land in whichever
arena their thread holds. On the soak bench the daemon's RSS after an enrolment
then sat ~100 MB above what it was with every large block mapped on its own, and
moved by up to 120 MB from one sample to the next.
:func:`share_arenas` caps the arenas at :data:`ARENAS` when the daemon starts,
before its threads, so the threads share two arenas and reuse each other's free
memory. (A fixed mmap threshold, the other usual remedy, held the RSS flat too,
but made the document's MRZ read two to three times slower under the
workflow's threads: every large block became page faults.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time

logger = logging.getLogger(__name__)


#: Malloc arenas the daemon's threads share (glibc's M_ARENA_MAX).
ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def share_arenas(arenas: int = ARENAS) -> bool:
    """Let the threads created from now on share at most ``arenas`` malloc arenas.

    False where the C library is not glibc (nothing is changed there)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Return free heap pages to the kernel; False where the C library cannot."""
    libc = _glibc()
    if libc is None:
        return False
    started = time.perf_counter()
    libc.malloc_trim(0)
    logger.debug("free heap memory returned in %.1f ms", (time.perf_counter() - started) * 1000)
    return True
