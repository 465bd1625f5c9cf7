"""One memmove instead of a Python loop for the byte strings sent to NBIS.

nbis-python's generated uniffi binding (``nbis/nbis.py``) copies every byte
string into the Rust buffer with ``for i, byte in enumerate(value)``: one
Python iteration per byte, about 50 ms for one finger's PNG on a kiosk CPU,
paid on every NFIQ 2 score. :func:`speed_up_byte_copies` replaces that method
with the same copy done by ``ctypes.memmove`` after the same ``_reserve``
(which grows the buffer and advances its length). It patches only the exact
loop it knows (checked on the method's code), so a binding that changes is
left as it is; ``tests/test_finger.py`` checks that scores and
minutiae are the same either way.
"""

from __future__ import annotations

import ctypes
import inspect
from types import ModuleType
from typing import Any

_MARK = "_claim_memmove"
_KNOWN_LOOP = "for i, byte in enumerate(value)"


def speed_up_byte_copies(binding: ModuleType) -> bool:
    """Patch ``binding._UniffiRustBufferBuilder.write``; True when it is (or was) patched."""
    builder = getattr(binding, "_UniffiRustBufferBuilder", None)
    original = getattr(builder, "write", None)
    if builder is None or original is None:
        return False
    if getattr(original, _MARK, False):
        return True
    try:
        source = inspect.getsource(original)
    except (OSError, TypeError):
        return False
    if _KNOWN_LOOP not in source or not hasattr(builder, "_reserve"):
        return False

    def write(self: Any, value: bytes) -> None:
        data = bytes(value)
        with self._reserve(len(data)):
            address = ctypes.cast(self.rbuf.data, ctypes.c_void_p).value
            if address is None:
                raise MemoryError("uniffi buffer has no storage")
            ctypes.memmove(address + self.rbuf.len, data, len(data))

    setattr(write, _MARK, True)
    write.original = original  # type: ignore[attr-defined]  # for the equivalence test
    builder.write = write
    return True
