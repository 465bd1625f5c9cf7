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


# In a fresh interpreter: free one 8 MiB block (glibc's default threshold rises to
# its size), then count the mapped blocks a 2 MiB block adds.
_MAPPED_AFTER_A_LARGE_FREE = """
import ctypes, ctypes.util, sys
from appliance import memory
if sys.argv[1] == "fixed":
    assert memory.map_large_blocks()
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(8 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
print(libc.mallinfo2().hblks - before)
libc.free(block)
"""


@pytest.mark.parametrize(("mode", "mapped"), [("default", 0), ("fixed", 1)])
def test_large_blocks_keep_a_mapping_of_their_own(mode: str, mapped: int) -> None:
    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not a glibc system")
    run = subprocess.run(
        [sys.executable, "-c", _MAPPED_AFTER_A_LARGE_FREE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(run.stdout) == mapped
