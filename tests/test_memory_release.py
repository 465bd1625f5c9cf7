"""Free heap memory goes back to the kernel when an enrolment ends."""

from __future__ import annotations

import ctypes.util

import pytest

from appliance import memory


def test_release_free_memory_calls_glibc() -> None:
    if "libc.so" not in (ctypes.util.find_library("c") or ""):
        pytest.skip("not a glibc system")
    assert memory.release_free_memory() is True


def test_release_free_memory_without_a_c_library_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory._malloc_trim.cache_clear()
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    try:
        assert memory.release_free_memory() is False
    finally:
        memory._malloc_trim.cache_clear()
