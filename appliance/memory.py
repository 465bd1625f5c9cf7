"""Give the memory an enrolment freed back to the system when the enrolment ends.

glibc keeps freed heap memory mapped in its arenas (one per thread that allocated:
the worker threads that run the image analysis each get one). On the soak bench a
kiosk's daemon held 120-150 MB of such free memory after an enrolment, and its RSS
grew in steps over the first few hundred enrolments as the arenas filled up.
``malloc_trim(0)`` returns the free pages of every arena to the kernel. It runs once
per enrolment, in a worker thread, after the captures are wiped; on a C library
other than glibc there is nothing to call and nothing is done.

Trimming cannot return a page that still holds one live block, and glibc's default
lets large blocks land in the arenas: its mmap threshold (the size above which a
block gets a mapping of its own, returned to the kernel when freed) starts at
128 KiB and rises to the size of every large block freed, up to 32 MiB. After the
first enrolment, images, tensors and onnxruntime's buffers (the text models run
without their own arena) are carved from the arenas and mixed with small long-lived
blocks, and the heap grows for a hundred enrolments before it reaches a working
size. :func:`map_large_blocks` fixes the threshold at :data:`MMAP_THRESHOLD`
(setting it turns the rise off), in the daemon when it starts and in each NFIQ 2
worker, so those blocks come and go with their mappings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


#: Blocks of this size or more get a mapping of their own (glibc's M_MMAP_THRESHOLD).
MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


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


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _glibc()
    return None if libc is None else libc.malloc_trim


def map_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Give every block of ``threshold`` bytes or more its own mapping, from now on.

    False where the C library is not glibc (nothing is changed there)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))


def release_free_memory() -> bool:
    """Return free heap pages to the kernel; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    started = time.perf_counter()
    trim(0)
    logger.debug("free heap memory returned in %.1f ms", (time.perf_counter() - started) * 1000)
    return True
