"""Free heap memory goes back to the kernel when an enrolment ends."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from appliance import memory


def test_release_free_memory_calls_glibc() -> None:
    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not a glibc system")
    assert memory.release_free_memory() is True


def test_release_free_memory_without_a_c_library_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory._glibc.cache_clear()
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    try:
        assert memory.release_free_memory() is False
    finally:
        memory._glibc.cache_clear()


# Run in a fresh interpreter: argv[1] "configured" calls configure_malloc() first;
# malloc_info() returns glibc's own account of its arenas and mapped blocks.
_PRELUDE = """
import ctypes, ctypes.util, os, sys, tempfile, threading
from appliance import memory
if sys.argv[1] == "configured":
    assert memory.configure_malloc()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.fdopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
def malloc_info():
    with tempfile.TemporaryFile() as out:
        stream = libc.fdopen(os.dup(out.fileno()), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        out.seek(0)
        return out.read().decode()
"""

# Eight threads allocate at once; count the arenas.
_ARENAS_OF_EIGHT_THREADS = """
everyone = threading.Barrier(8)
def allocate():
    block = libc.malloc(64 << 10)
    everyone.wait()
    libc.free(block)
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(malloc_info().count("<heap nr="))
"""

# A 16 MiB block is freed (glibc's default then raises its mmap threshold to 16 MiB),
# then a 12 MiB block is allocated: how many blocks did that add to the mapped ones?
_MAPPED_AFTER_A_LARGER_FREE = """
def mapped_blocks():
    return int(malloc_info().split('<total type="mmap" count="')[1].split('"')[0])
libc.free(libc.malloc(16 << 20))
before = mapped_blocks()
block = libc.malloc(12 << 20)
print(mapped_blocks() - before)
libc.free(block)
"""


def _fresh_interpreter(script: str, mode: str) -> int:
    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not a glibc system")
    run = subprocess.run(
        [sys.executable, "-c", _PRELUDE + script, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(run.stdout)


@pytest.mark.parametrize("mode", ["default", "configured"])
def test_threads_share_two_arenas(mode: str) -> None:
    arenas = _fresh_interpreter(_ARENAS_OF_EIGHT_THREADS, mode)
    if mode == "configured":
        assert arenas == memory.ARENAS
    else:
        assert arenas > memory.ARENAS  # the control: glibc's own limit is eight per core


@pytest.mark.parametrize("mode", ["default", "configured"])
def test_large_blocks_keep_their_own_mapping(mode: str) -> None:
    assert memory.MMAP_THRESHOLD <= 12 << 20
    mapped = _fresh_interpreter(_MAPPED_AFTER_A_LARGER_FREE, mode)
    if mode == "configured":
        assert mapped == 1
    else:
        assert mapped == 0  # the control: the freed 16 MiB block raised the threshold
