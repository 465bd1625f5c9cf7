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

Large blocks add to it: glibc's mmap threshold (the size from which a block gets
a mapping of its own, returned to the kernel when freed) starts at 128 KiB and
rises to the size of every large block freed, up to 32 MiB, so after the first
enrolment the photographed document's images and their float copies were carved
from the arenas too, and trimming could not give them back while a small live
block sat among them.

:func:`configure_malloc` runs when the daemon starts, before its threads, and in
each NFIQ 2 worker. It caps the arenas at :data:`ARENAS`, so the threads share two
arenas and reuse each other's free memory, and fixes the mmap threshold at
:data:`MMAP_THRESHOLD`, so the few blocks of that size come and go with their own
mappings. (A 1 MiB threshold held the RSS as flat, but made the document's MRZ
read two to three times slower under the workflow's threads: its many 1-8 MiB
blocks became page faults. From 8 MiB on it costs nothing measurable.)
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
#: Blocks of this size or more get a mapping of their own (glibc's M_MMAP_THRESHOLD).
MMAP_THRESHOLD = 8 << 20
# mallopt's parameter numbers, from glibc's malloc.h
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3


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


def configure_malloc(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Share ``arenas`` malloc arenas among the threads created from now on, and map
    every block of ``mmap_threshold`` bytes or more on its own.

    False where the C library is not glibc (nothing is changed there)."""
    libc = _glibc()
    if libc is None:
        return False
    shared = libc.mallopt(_M_ARENA_MAX, arenas)
    mapped = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    return bool(shared and mapped)


def release_free_memory() -> bool:
    """Return free heap pages to the kernel; False where the C library cannot."""
    libc = _glibc()
    if libc is None:
        return False
    started = time.perf_counter()
    libc.malloc_trim(0)
    logger.debug("free heap memory returned in %.1f ms", (time.perf_counter() - started) * 1000)
    return True
