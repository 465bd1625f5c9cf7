"""Silence the native INFO/WARNING chatter of mediapipe/LiteRT in CLI output.

The native libraries write straight to file descriptor 2. For a CLI whose
stderr carries its own one-line errors, fd 2 is pointed at /dev/null while
Python's ``sys.stderr`` keeps writing to the original stream.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    original = sys.stderr
    try:
        os.dup2(devnull, 2)
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
