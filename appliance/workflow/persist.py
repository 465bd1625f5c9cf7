"""The workflow record on disk: one JSON file, replaced atomically.

Write to a temporary file in the same directory, fsync it, rename it over the
old one and fsync the directory: after a crash the file is either the old
record or the new one, never a torn mix. Only :class:`WorkflowRecord` data
(non-biometric) is ever written here.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from appliance.workflow.state import WorkflowRecord

logger = logging.getLogger(__name__)


class WorkflowFile:
    """``<directory>/current.json``: the one enrolment in progress on this kiosk."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory = directory
        self.path = directory / "current.json"

    def load(self) -> WorkflowRecord | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return WorkflowRecord.from_json(data)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            # A record we cannot read cannot be resumed: set it aside, start clean.
            broken = self.path.with_suffix(".unreadable")
            os.replace(self.path, broken)
            logger.error("workflow record unreadable (%s); moved aside", type(exc).__name__)
            return None

    def save(self, record: WorkflowRecord) -> None:
        tmp = self.directory / f".current.{os.getpid()}.tmp"
        payload = json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._fsync_dir()

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
