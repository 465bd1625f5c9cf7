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


# In a fresh interpreter: eight threads allocate at once; count the arenas.
_ARENAS_OF_EIGHT_THREADS = """
import ctypes, ctypes.util, os, sys, tempfile, threading
from appliance import memory
if sys.argv[1] == "shared":
    assert memory.share_arenas()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.fdopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
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
with tempfile.TemporaryFile() as out:
    stream = libc.fdopen(os.dup(out.fileno()), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    out.seek(0)
    print(out.read().count(b"<heap nr="))
"""


@pytest.mark.parametrize("mode", ["default", "shared"])
def test_threads_share_two_arenas(mode: str) -> None:
    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not a glibc system")
    run = subprocess.run(
        [sys.executable, "-c", _ARENAS_OF_EIGHT_THREADS, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    arenas = int(run.stdout)
    if mode == "shared":
        assert arenas == memory.ARENAS
    else:
        assert arenas > memory.ARENAS  # the control: glibc's own limit is eight per core
