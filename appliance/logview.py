"""The technicians' log view: the daemon's recent log lines, redacted, in memory.

A bounded ring buffer on the root logger keeps the last lines as text after
the same personal-data redaction as the JSON logs (case references, e-mail
addresses, long digit runs). Nothing is written to disk here.
"""

from __future__ import annotations

import collections
import logging
import threading
from datetime import UTC, datetime

from appliance.logging_setup import redact


class RingBufferHandler(logging.Handler):
    """Keeps the last ``capacity`` records as redacted one-line strings."""

    def __init__(self, capacity: int = 500, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
            line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[0] is not None:
                line += f" [{record.exc_info[0].__name__}]"
            with self._guard:
                self._lines.append(redact(line))
        except Exception:  # a log handler must never raise
            self.handleError(record)

    def lines(self, limit: int = 200) -> list[str]:
        with self._guard:
            items = list(self._lines)
        return items[-limit:]

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
